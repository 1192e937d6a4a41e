import fs from 'node:fs';
import type { Logger } from '../../../shared/observability/log';
import { CidrSet } from './cidr-set';

/** JSON members that hold a prefix in the formats operators publish (Google/Bing/OpenAI, AWS, generic). */
const PREFIX_KEYS = new Set(['ipv4Prefix', 'ipv6Prefix', 'ip_prefix', 'ipv6_prefix', 'prefix', 'prefixes', 'cidr', 'cidrs', 'ip', 'ips', 'address', 'addresses', 'ranges']);
const TEXT_ENTRY = /^(?:ExitAddress\s+)?([0-9a-fA-F:.]+(?:\/\d{1,3})?)/;

/**
 * The entries of a list file: JSON (every string under a prefix-like key, at any depth: Google's
 * {"prefixes":[{"ipv4Prefix":"66.249.64.0/27"}]}, AWS's ip-ranges.json, a plain array of CIDRs), or text with one
 * address or CIDR per line (`#` comments; Tor's exit-addresses "ExitAddress 1.2.3.4 ..." lines; other lines skipped).
 */
export function parseListText(text: string): { set: CidrSet; skipped: number } {
  const set = new CidrSet();
  let skipped = 0;
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const walk = (node: unknown, key: string | undefined): void => {
      if (typeof node === 'string') {
        if ((key === undefined || PREFIX_KEYS.has(key)) && !set.add(node)) skipped++;
      } else if (Array.isArray(node)) for (const item of node) walk(item, key);
      else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, k);
    };
    walk(JSON.parse(trimmed), undefined);
    return { set, skipped };
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = TEXT_ENTRY.exec(line);
    if (!m || !set.add(m[1])) skipped++;
  }
  return { set, skipped };
}

/**
 * One list file, shared by every plugin instance of the process that names it (module state: background work,
 * never the PDK). Loaded synchronously at first use (an instance start), then checked every `reloadMs` with a
 * stat; a changed file is re-read and swapped in whole. A file that is missing or broken keeps the last good
 * content (empty at first) and is logged once per failure streak.
 */
export class ListFile {
  private current = new CidrSet();
  private signature = '';
  private failing = false;
  private timer: NodeJS.Timeout | undefined;
  loads = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.reload();
  }

  get set(): CidrSet {
    return this.current;
  }

  /** Re-reads the file when its mtime or size changed; returns whether new content was swapped in. */
  reload(): boolean {
    try {
      const stat = fs.statSync(this.path);
      const signature = `${stat.mtimeMs}:${stat.size}`;
      if (signature === this.signature) return false;
      const { set, skipped } = parseListText(fs.readFileSync(this.path, 'utf8'));
      this.current = set;
      this.signature = signature;
      this.loads++;
      if (this.failing) this.log.info({ path: this.path }, 'bot-guard: list file readable again');
      this.failing = false;
      this.log.info({ path: this.path, entries: set.size, skipped }, 'bot-guard: list file loaded');
      return true;
    } catch (err) {
      if (!this.failing) this.log.warn({ path: this.path, error: (err as Error).message }, 'bot-guard: list file unreadable, keeping its last content');
      this.failing = true;
      return false;
    }
  }

  watch(reloadMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.reload(), reloadMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

const files = new Map<string, ListFile>();

/** The process-wide ListFile for `path` (watched at the shortest interval any config asked for). */
export function listFile(path: string, reloadMs: number, log: Logger): ListFile {
  let file = files.get(path);
  if (!file) files.set(path, (file = new ListFile(path, log)));
  file.watch(reloadMs);
  return file;
}
