import { callPdk, type PdkEnvironment } from '../../../devkit/emulator/pdk';
import { RequestContext } from '../../../devkit/emulator/request-context';
import { fillDefaults, type KongFields } from '../../../devkit/emulator/kong-schema';
import { Plugin, schema } from '../../../plugins/bot-guard';
import { Pdk } from '../../../shared/pdk';

/** A `kong` object whose every call goes to the emulator's PDK for one request (Kong 3.9 semantics, in process). */
function emulatedKong(ctx: RequestContext, env: PdkEnvironment, path: string[] = ['kong']): any {
  return new Proxy(function kong() {}, {
    get: (_target, prop: string) => emulatedKong(ctx, env, [...path, prop]),
    apply: (_target, _this, args: unknown[]) => Promise.resolve(callPdk(ctx, env, path.join('.'), args).value),
  });
}

describe('bot-guard after an unexpected error (fail_open)', () => {
  it('clears the verdict headers a client sent, under their configured names, before the request goes on', async () => {
    const ctx = new RequestContext({ method: 'GET', path: '/x', headers: { 'X-Bot-Score': '0', 'X-Bot-Action': 'allow', 'X-Verdict': 'human', 'X-Bot-Category': 'browser', 'X-Other': 'kept' } });
    ctx.phase = 'access';
    const config = { ...fillDefaults(schema.kong as unknown as KongFields, { headers: { action: 'X-Verdict' } }), __seq__: 1 };
    const plugin = new Plugin(config) as unknown as { handler: { beforeFailOpen(pdk: Pdk, phase: string): Promise<void> } };
    await plugin.handler.beforeFailOpen(new Pdk(emulatedKong(ctx, { nodeId: 'n', logLines: [] })), 'access');
    expect(ctx.headers.toLuaTable(1000)).toEqual({ host: 'localhost:8000', 'x-bot-action': 'allow', 'x-other': 'kept' });
    expect(ctx.pdkTrace).toEqual(['access:kong.service.request.clear_header', 'access:kong.service.request.clear_header', 'access:kong.service.request.clear_header', 'access:kong.service.request.clear_header']);
  });
});
