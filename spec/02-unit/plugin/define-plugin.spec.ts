import { field } from '../../../shared/schema';
import { definePlugin, type PhaseHandler } from '../../../shared/plugin';
import { registry } from '../../../shared/observability/metrics';
import type { Pdk } from '../../../shared/pdk';

class PdkError extends Error {
  override get name(): string {
    return 'PDKError';
  }
}

/** A `kong` object whose every call records itself; get_headers fails as Kong's StepError / an abandoned event does. */
function fakeKong(calls: string[]) {
  const method = (name: string, result?: () => unknown) => (...args: unknown[]) => {
    calls.push(`${name}${args.length ? ' ' + JSON.stringify(args) : ''}`);
    return Promise.resolve(result ? result() : undefined);
  };
  return {
    request: { get_headers: method('request.get_headers', () => Promise.reject(new PdkError('PDK method kong.request.get_headers failed: gone'))) },
    response: { error: method('response.error'), exit: method('response.exit') },
  };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)?.get()) as { values: Array<{ labels: Record<string, string>; value: number }> } | undefined;
  return m?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

describe('definePlugin: one mechanism for unexpected errors', () => {
  class Handler implements PhaseHandler {
    async access(pdk: Pdk): Promise<void> {
      await pdk.request.getHeaders();
    }
    async log(): Promise<void> {
      throw new Error('bug');
    }
  }
  const mod = definePlugin({ name: 'errors-probe', version: '1.0.0', priority: 1, fields: { x: field.integer({ default: 1 }) }, failurePolicy: 'fail_closed', Handler });

  it('a failed PDK call is counted and logged, and nothing more is sent (the request is over)', async () => {
    const calls: string[] = [];
    const plugin = new mod.Plugin({}) as unknown as { access(kong: unknown): Promise<void> };
    const before = await metric('kong_plugins_pdk_errors_total', { plugin: 'errors-probe', phase: 'access' });
    await plugin.access(fakeKong(calls));
    expect(calls).toEqual(['request.get_headers [1000]']);
    expect(await metric('kong_plugins_pdk_errors_total', { plugin: 'errors-probe', phase: 'access' })).toBe(before + 1);
  });

  it('an exception is counted as a phase error; fail_closed answers 500 only where the request can still be answered', async () => {
    const calls: string[] = [];
    const plugin = new mod.Plugin({}) as unknown as { log(kong: unknown): Promise<void> };
    await plugin.log(fakeKong(calls));
    expect(calls).toEqual([]);
    expect(await metric('kong_plugins_phase_errors_total', { plugin: 'errors-probe', phase: 'log', policy: 'fail_closed' })).toBe(1);
  });

  describe('beforeFailOpen: what the request needs before it goes on after an exception', () => {
    class Tidy implements PhaseHandler {
      async access(pdk: Pdk): Promise<void> {
        if ((await pdk.request.getMethod()) === 'GET') throw new Error('bug');
        await pdk.request.getHeaders();
      }
      async beforeFailOpen(pdk: Pdk, phase: string): Promise<void> {
        await pdk.response.exit(299, phase);
      }
    }
    const tidy = (failurePolicy: 'fail_open' | 'fail_closed') => definePlugin({ name: `tidy-${failurePolicy}`, version: '1.0.0', priority: 1, fields: {}, failurePolicy, Handler: Tidy });
    const kong = (calls: string[], method: string) => ({ ...fakeKong(calls), request: { ...fakeKong(calls).request, get_method: () => Promise.resolve(method) } });

    it('runs after an exception under fail_open, with the phase', async () => {
      const calls: string[] = [];
      await (new (tidy('fail_open').Plugin)({}) as unknown as { access(k: unknown): Promise<void> }).access(kong(calls, 'GET'));
      expect(calls).toEqual(['response.exit [299,"access",null]']);
    });

    it('not under fail_closed (the 500 answers), and not after a failed PDK call (the request is over)', async () => {
      const closed: string[] = [];
      await (new (tidy('fail_closed').Plugin)({}) as unknown as { access(k: unknown): Promise<void> }).access(kong(closed, 'GET'));
      expect(closed).toEqual(['response.error [500,null,null]']);
      const pdkFailed: string[] = [];
      await (new (tidy('fail_open').Plugin)({}) as unknown as { access(k: unknown): Promise<void> }).access(kong(pdkFailed, 'POST'));
      expect(pdkFailed).toEqual(['request.get_headers [1000]']);
    });
  });
});
