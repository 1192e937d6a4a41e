import { Encoder } from '@msgpack/msgpack';

/**
 * Kong's side of the plugin-server protocol, reduced to what a load driver needs: requests built from byte
 * templates (no encoder per message, so the driver stays cheap next to the server it measures) and the answers
 * Kong would give to the PDK calls the bench plugins make.
 *
 * Template numbers are encoded as MessagePack uint32 (0xce + 4 bytes) and patched in place: valid MessagePack that
 * both servers decode like Kong's smallest-width integers, at the same cost.
 */
const encoder = new Encoder({ ignoreUndefined: true });

const MSGID_MARK = 0xfffffffe;
const EVENT_MARK = 0xfffffffd;

export class RequestTemplate {
  private readonly bytes: Buffer;
  private readonly msgidAt: number;
  private readonly eventAt: number;

  constructor(method: string, arg: Record<string, unknown>) {
    const marked = { ...arg };
    if ('EventId' in marked) marked.EventId = EVENT_MARK;
    this.bytes = Buffer.from(encoder.encode([0, MSGID_MARK, method, [marked]]));
    this.msgidAt = markOffset(this.bytes, MSGID_MARK);
    this.eventAt = 'EventId' in arg ? markOffset(this.bytes, EVENT_MARK) : -1;
  }

  /** A fresh buffer for one request (the server may still hold the previous chunk). */
  build(msgid: number, eventId = 0): Buffer {
    const out = Buffer.allocUnsafe(this.bytes.length);
    this.bytes.copy(out);
    out.writeUInt32BE(msgid >>> 0, this.msgidAt);
    if (this.eventAt >= 0) out.writeUInt32BE(eventId >>> 0, this.eventAt);
    return out;
  }
}

function markOffset(bytes: Buffer, mark: number): number {
  const needle = Buffer.from([0xce, (mark >>> 24) & 0xff, (mark >>> 16) & 0xff, (mark >>> 8) & 0xff, mark & 0xff]);
  const at = bytes.indexOf(needle);
  if (at < 0 || bytes.indexOf(needle, at + 1) >= 0) throw new Error('template mark not found exactly once');
  return at + 1;
}

export function encodeRequest(msgid: number, method: string, arg: unknown): Uint8Array {
  return encoder.encode([0, msgid, method, [arg]]);
}

/** PDK calls after which Kong sends no further Step for the event. */
export const TERMINAL_CALLS = new Set(['kong.response.exit', 'kong.response.error']);

/** What Kong answers to the PDK calls of the bench plugins; `undefined` is Lua nil (no Data key in the Step). */
export const KONG_ANSWERS: Record<string, unknown> = {
  'kong.request.get_header': 'bench-header-value',
  'kong.response.set_header': undefined,
};

/** The server's answer to HandleEvent or Step: `'ret'` (handler done) or the next PDK call. */
export interface EventReply {
  Data?: unknown;
  EventId?: number;
}

export function pdkCallOf(reply: EventReply): { Method: string; Args: unknown[] } | undefined {
  const data = reply?.Data;
  if (data && typeof data === 'object' && typeof (data as { Method?: unknown }).Method === 'string') {
    return data as { Method: string; Args: unknown[] };
  }
  return undefined;
}

/** StartInstance's `Config`: a JSON string with the keys Kong adds. */
export function instanceConfig(pluginId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, __plugin_id: pluginId, __seq__: 1, route_id: null, service_id: null, consumer_id: null });
}
