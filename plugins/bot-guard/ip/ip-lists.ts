import type { Logger } from '../../../shared/observability/log';
import type { BotGuardConfig, ListKind } from '../schema';
import { CidrSet, type ParsedIp } from './cidr-set';
import { listFile, type ListFile } from './list-file';

/** What the client IP says: membership of each kind of list. */
export interface IpMembership {
  allow: boolean;
  deny: boolean;
  datacenter: boolean;
  tor: boolean;
}

/**
 * One config's IP lists: its inline allow/deny CIDRs plus the list files it names (process-wide, hot-reloaded).
 * Membership is read from the files' current sets at each request, so a reload takes effect at once.
 */
export class IpLists {
  private readonly inline: Record<'allow' | 'deny', CidrSet>;
  private readonly files: Array<{ kind: ListKind; file: ListFile }>;
  readonly active: boolean;

  constructor(config: BotGuardConfig['ip_lists'], log: Logger) {
    this.inline = { allow: CidrSet.of(config.allow ?? []), deny: CidrSet.of(config.deny ?? []) };
    this.files = (config.files ?? []).map((f) => ({ kind: f.kind, file: listFile(f.path, config.reload_seconds * 1000, log) }));
    this.active = this.inline.allow.size > 0 || this.inline.deny.size > 0 || this.files.length > 0;
  }

  lookup(ip: ParsedIp | undefined): IpMembership {
    const out: IpMembership = { allow: this.inline.allow.has(ip), deny: this.inline.deny.has(ip), datacenter: false, tor: false };
    for (const { kind, file } of this.files) if (!out[kind] && file.set.has(ip)) out[kind] = true;
    return out;
  }
}
