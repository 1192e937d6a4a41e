import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { PluginEntity } from './declarative';
import type { RequestContext } from './request-context';

/**
 * The one bundled plugin the emulator runs: Kong's `pre-function` when its phases are exactly the pii-masking guard
 * chunks shipped in plugins/pii-masking/kong (kong.yml holds them byte for byte, checked by guard.spec.ts). The
 * shipped Lua itself runs, in one long-lived luajit process (lua/pii-guard-host.lua, a small stand-in for `kong`
 * and `ngx`), so a killed plugin server yields the guard's 502 here as in Kong. Any other pre-function, and every
 * other bundled plugin, still runs in Kong only.
 */
const REPO = path.join(__dirname, '../..');
const CHUNKS_DIR = path.join(REPO, 'plugins/pii-masking/kong');
/** The host file sits next to this module in the source tree; from dist/, it is read from the source tree. */
export const GUARD_HOST = [path.join(__dirname, 'lua/pii-guard-host.lua'), path.join(REPO, '../devkit/emulator/lua/pii-guard-host.lua')].find((f) => fs.existsSync(f));
const CHUNK_FILES = { access: 'guard-access.lua', header_filter: 'guard-header-filter.lua', body_filter: 'guard-body-filter.lua' } as const;

/** plugins/pii-masking/kong, from the source tree or next to dist/. */
export function guardChunksDir(): string | undefined {
  for (const dir of [CHUNKS_DIR, path.join(REPO, '../plugins/pii-masking/kong')]) if (fs.existsSync(path.join(dir, CHUNK_FILES.access))) return dir;
  return undefined;
}

/** Whether a pre-function entry is the shipped pii-masking guard (each phase one chunk, equal to its file). */
export function isPiiGuard(entity: PluginEntity): boolean {
  if (entity.name !== 'pre-function') return false;
  const dir = guardChunksDir();
  if (!dir) return false;
  const config = entity.config ?? {};
  for (const [phase, list] of Object.entries(config)) {
    if (list === null || list === undefined || (Array.isArray(list) && list.length === 0)) continue;
    if (!(phase in CHUNK_FILES)) return false;
  }
  return Object.entries(CHUNK_FILES).every(([phase, file]) => {
    const list = config[phase];
    return Array.isArray(list) && list.length === 1 && typeof list[0] === 'string' && list[0].trim() === fs.readFileSync(path.join(dir, file), 'utf8').trim();
  });
}

let available: boolean | undefined;
/** luajit on PATH (Debian's luajit; .ci/run installs it). */
export function luajitAvailable(): boolean {
  available ??= GUARD_HOST !== undefined && guardChunksDir() !== undefined && spawnSync('luajit', ['-v'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * A Lua literal of `value`, strings as their bytes (UTF-8 for text, latin1 for bodies already in latin1); the unit
 * specs' one-shot guard runs use it too.
 */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'nil';
  if (Buffer.isBuffer(value)) return luaBytes(value);
  if (typeof value === 'string') return luaBytes(Buffer.from(value, 'utf8'));
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(',')}}`;
  return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `[${luaLiteral(k)}]=${luaLiteral(v)}`).join(',')}}`;
}

function luaBytes(bytes: Buffer): string {
  let out = '"';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`;
  return out + '"';
}

/** JSON from the host: strings are bytes read as latin1; text back to UTF-8. */
function text(value: string): string {
  return Buffer.from(value, 'latin1').toString('utf8');
}

export interface GuardOutcome {
  status: number;
  headers: Record<string, string | string[]>;
  body?: string;
  serialize: Array<{ key: string; value: unknown }>;
  service_request: Record<string, string | false>;
  errors: string[];
  shared_request?: { headers: Record<string, unknown>; uri: string };
  host_error?: string;
}

/** One luajit process answering scenarios in order (one line each way). */
export class LuaGuardHost {
  private child: ChildProcessWithoutNullStreams | undefined;
  private buffered = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (o: GuardOutcome) => void; reject: (e: Error) => void }> = [];

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('luajit', [GUARD_HOST!, guardChunksDir()!], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.on('data', (data: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, data]);
      for (let nl = this.buffered.indexOf(10); nl >= 0; nl = this.buffered.indexOf(10)) {
        const line = this.buffered.subarray(0, nl).toString('latin1');
        this.buffered = this.buffered.subarray(nl + 1);
        const next = this.waiting.shift();
        try {
          next?.resolve(JSON.parse(line) as GuardOutcome);
        } catch (err) {
          next?.reject(err as Error);
        }
      }
    });
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      for (const w of this.waiting.splice(0)) w.reject(new Error('pii guard host (luajit) exited'));
    });
    child.stdin.on('error', () => undefined);
    this.child = child;
    return child;
  }

  private run(scenario: Record<string, unknown>): Promise<GuardOutcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.process().stdin.write(`${luaLiteral(scenario)}\n`);
    }).then((outcome) => {
      const o = outcome as GuardOutcome;
      if (o.host_error) throw new Error(`pii guard host: ${o.host_error}`);
      // the host's encoder writes an empty Lua table as {}
      o.errors = Object.values(o.errors ?? {});
      o.serialize = Object.values(o.serialize ?? {});
      return o;
    });
  }

  /** The access chunk: Range/If-Range stripped and Accept-Encoding narrowed on the request, the snapshot stored. */
  async access(ctx: RequestContext): Promise<void> {
    const outcome = await this.run({ request_headers: ctx.headers.toLuaTable(), var: { request_uri: ctx.requestUri }, phases: { access: true } });
    for (const [name, value] of Object.entries(outcome.service_request)) {
      if (value === false) ctx.headers.delete(name);
      else ctx.headers.set(name, text(value));
    }
    if (outcome.shared_request) {
      const snapshot = outcome.shared_request;
      const headers = Object.fromEntries(Object.entries(snapshot.headers).map(([k, v]) => [text(k), Array.isArray(v) ? v.map((x) => text(String(x))) : text(String(v))]));
      ctx.sharedCtx.set('pii_masking_request', { headers, uri: text(snapshot.uri) });
    }
  }

  /**
   * header_filter then body_filter (the whole body as one chunk) on the response about to be sent: status,
   * headers and body as the guard leaves them; its log overrides and errors are Kong's.
   */
  async filter(ctx: RequestContext, source: string, status: number, body: Buffer, logErr: (message: string) => void): Promise<{ status: number; body: Buffer }> {
    const outcome = await this.run({
      var: { scheme: ctx.scheme, host: ctx.host, server_port: String(ctx.port), upstream_uri: ctx.upstream.path + (ctx.rawQuery ? `?${ctx.rawQuery}` : '') },
      status,
      source,
      response_headers: ctx.responseHeaders.toLuaTable(1000),
      shared: { pii_masking: ctx.sharedCtx.get('pii_masking') },
      chunks: [body],
      phases: { header_filter: true, body_filter: true },
    });
    const before = ctx.responseHeaders.toLuaTable(1000);
    for (const name of Object.keys(before)) if (!(name in outcome.headers)) ctx.responseHeaders.delete(name);
    for (const [name, value] of Object.entries(outcome.headers)) {
      const values = (Array.isArray(value) ? value : [value]).map((v) => text(String(v)));
      const old = before[name];
      if (old === undefined || JSON.stringify([old].flat()) !== JSON.stringify(values)) ctx.responseHeaders.set(name, values.length === 1 ? values[0] : values);
    }
    for (const edit of outcome.serialize) ctx.serializeEdits.push({ key: edit.key, value: edit.value === '<nil>' ? undefined : typeof edit.value === 'string' ? text(edit.value) : edit.value, mode: 'set' });
    for (const message of outcome.errors) logErr(text(message));
    return { status: outcome.status, body: outcome.body === undefined ? body : Buffer.from(outcome.body, 'latin1') };
  }

  close(): void {
    this.child?.stdin.end();
    this.child?.kill();
    this.child = undefined;
  }
}
