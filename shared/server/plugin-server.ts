import { childLogger, errorFields } from '../observability/log';
import { PhaseEvent, ReplyTarget, sendError, sendResult, type EventTable } from './events';
import { InstanceRegistry, type Instance } from './instances';
import { createKongObject } from './pdk-bridge';
import type { PluginModule } from './plugin-module';

export type FailurePolicy = 'fail-open' | 'fail-closed';

export interface PluginServerOptions {
  /** How long an event may wait for Kong's next Step before it is treated as abandoned (Kong's socket timeout is 60 s). */
  eventTimeoutMs?: number;
  /** Instances unused this long are closed; Kong restarts them on "no plugin instance". */
  instanceIdleMs?: number;
  /** What happens when a plugin phase throws: fail-closed answers 500 like Kong does for a Lua plugin error. */
  onPluginError?: FailurePolicy;
  firstInstanceId?: number;
}

/** Phases in which Kong lets a plugin end the request with kong.response.error. */
const RESPONSE_CAPABLE = new Set(['rewrite', 'access', 'response']);
const FAIL_CLOSED_CALL = { Method: 'kong.response.error', Args: [500] };

export interface ServerCounters {
  events: number;
  phaseErrors: number;
  abandonedEvents: number;
  /** Handlers that neither called the PDK nor finished within the event timeout. */
  stuckHandlers: number;
  expiredInstances: number;
  rpcErrors: number;
}

/**
 * Kong's plugin-server RPC methods over a set of loaded plugin modules. Transport-agnostic: the socket listener
 * feeds decoded requests to `dispatch` with a reply target.
 */
export class PluginServer implements EventTable {
  readonly instances: InstanceRegistry;
  private readonly waiting = new Map<number, PhaseEvent>();
  /**
   * Events whose handler was still running, with no PDK call out, when HandleEvent returned; with `waiting` this
   * covers every live event, so a handler that never answers is swept too (most events go straight to `waiting`).
   */
  private readonly running = new Map<number, PhaseEvent>();
  private nextEventId: number;
  private readonly eventTimeoutMs: number;
  private readonly instanceIdleMs: number;
  private readonly onPluginError: FailurePolicy;
  private readonly log = childLogger({ component: 'plugin-server' });
  private readonly sweeper: NodeJS.Timeout;
  readonly counters: ServerCounters = { events: 0, phaseErrors: 0, abandonedEvents: 0, stuckHandlers: 0, expiredInstances: 0, rpcErrors: 0 };

  constructor(
    readonly plugins: ReadonlyMap<string, PluginModule>,
    options: PluginServerOptions = {},
  ) {
    this.eventTimeoutMs = options.eventTimeoutMs ?? 60_000;
    this.instanceIdleMs = options.instanceIdleMs ?? 3_600_000;
    this.onPluginError = options.onPluginError ?? 'fail-closed';
    this.instances = new InstanceRegistry(options.firstInstanceId);
    // Event ids need not survive restarts (a restart breaks Kong's connections), only be unique in this process.
    this.nextEventId = 0;
    const sweepEvery = Math.max(50, Math.min(this.eventTimeoutMs, this.instanceIdleMs) / 4);
    this.sweeper = setInterval(() => this.sweep(), sweepEvery);
    this.sweeper.unref();
  }

  /** Events started and not yet ended: graceful shutdown waits for these. */
  activeEvents = 0;

  get eventsWaiting(): number {
    return this.waiting.size;
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** One decoded request `[0, msgid, "plugin.<Method>", [arg]]`. */
  dispatch(method: string, args: unknown, reply: ReplyTarget): void {
    const arg = Array.isArray(args) ? args[0] : undefined;
    switch (method) {
      case 'plugin.HandleEvent':
        return this.handleEvent(arg as { InstanceId: number; EventName: string }, reply);
      case 'plugin.Step':
      case 'plugin.StepMultiMap':
      case 'plugin.StepService':
      case 'plugin.StepConsumer':
      case 'plugin.StepRoute':
      case 'plugin.StepPlugin':
      case 'plugin.StepCredential':
      case 'plugin.StepMemoryStats':
        return this.step(arg as { EventId: number; Data?: unknown }, reply, false);
      case 'plugin.StepError':
        return this.step(arg as { EventId: number; Data?: unknown }, reply, true);
    }
    let result: unknown;
    try {
      result = this.control(method, arg);
    } catch (err) {
      this.counters.rpcErrors++;
      const message = err instanceof Error ? err.message : String(err);
      this.log.warn({ method, error: message }, 'rpc failed');
      return sendError(reply, message);
    }
    sendResult(reply, result);
  }

  private control(method: string, arg: unknown): unknown {
    switch (method) {
      case 'plugin.StartInstance':
        return this.startInstance(arg as { Name: string; Config: string });
      case 'plugin.CloseInstance':
        return this.closeInstance(arg as number);
      case 'plugin.InstanceStatus':
        return this.instanceStatus(arg as number);
      case 'plugin.GetPluginInfo':
        return this.pluginInfo(arg as string);
      case 'plugin.GetStatus':
        return this.status();
      default: {
        const [namespace, name] = method.split('.');
        if (namespace !== 'plugin') throw new Error(`RPC for ${namespace} is not supported`);
        throw new Error(`method ${name} not implemented`);
      }
    }
  }

  pluginInfo(name: string) {
    const plugin = this.plugins.get(name);
    if (!plugin) throw new Error(`${name} not initialized`);
    return plugin.info();
  }

  private startInstance(arg: { Name: string; Config: string }) {
    const plugin = this.plugins.get(arg?.Name);
    if (!plugin) throw new Error(`${arg?.Name} not initialized`);
    const config = typeof arg.Config === 'string' ? (JSON.parse(arg.Config) as Record<string, unknown>) : {};
    let instance: Instance;
    try {
      instance = this.instances.start(plugin, config);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error({ plugin: plugin.name, plugin_id: config.__plugin_id, error: message }, 'instance start rejected');
      throw new Error(`failed to start instance of ${plugin.name}: ${message}`);
    }
    this.log.info({ plugin: plugin.name, instance: instance.id, plugin_id: config.__plugin_id }, 'instance started');
    return { Name: plugin.name, Id: instance.id, Config: config, StartTime: instance.startTime };
  }

  private closeInstance(id: number) {
    const instance = this.instances.close(id);
    if (!instance) throw new Error(`no plugin instance #${id}`);
    this.log.info({ plugin: instance.plugin.name, instance: id }, 'instance closed');
    return { Name: instance.plugin.name, Id: id, Config: instance.config };
  }

  private instanceStatus(id: number) {
    const instance = this.instances.get(id);
    if (!instance) throw new Error(`no plugin instance #${id}`);
    return { Name: instance.plugin.name, Id: id, Config: instance.config, StartTime: instance.startTime };
  }

  private status() {
    const plugins: Record<string, unknown> = {};
    for (const [name, plugin] of this.plugins) {
      const instances = [...this.instances.all()]
        .filter((i) => i.plugin === plugin)
        .map((i) => ({ Name: name, Id: i.id, Config: i.config, StartTime: i.startTime }));
      plugins[name] = {
        Name: name,
        Modtime: plugin.modTime,
        LoadTime: plugin.loadTime,
        Instances: instances,
        LastStartInstance: plugin.lastStartInstance,
        LastCloseInstance: plugin.lastCloseInstance,
      };
    }
    return { Pid: process.pid, Plugins: plugins };
  }

  private handleEvent(arg: { InstanceId: number; EventName: string }, reply: ReplyTarget): void {
    const instance = this.instances.get(arg?.InstanceId);
    if (!instance) return sendError(reply, `no plugin instance #${arg?.InstanceId}`);
    this.counters.events++;
    this.activeEvents++;
    const phase = arg.EventName;
    const now = Date.now();
    instance.lastUsed = now;
    const event = new PhaseEvent(this.nextEventId++, this, reply, `${instance.plugin.name}.${phase}`, now);
    const handler = instance.handler[phase];
    if (typeof handler !== 'function') {
      event.handlerFinished();
      return;
    }
    let outcome: unknown;
    try {
      outcome = (handler as (kong: unknown) => unknown).call(instance.handler, createKongObject(event.call));
    } catch (err) {
      return this.phaseFailed(instance, phase, event, err);
    }
    if (outcome && typeof (outcome as Promise<unknown>).then === 'function') {
      (outcome as Promise<unknown>).then(
        () => event.handlerFinished(),
        (err: unknown) => this.phaseFailed(instance, phase, event, err),
      );
      if (event.handlerRunning) this.running.set(event.id, event);
    } else {
      event.handlerFinished();
    }
  }

  private phaseFailed(instance: Instance, phase: string, event: PhaseEvent, err: unknown): void {
    if (event.ended) {
      // the request was already over (exit sent, or abandoned by Kong): the throw is the consequence, not a fault
      this.log.debug({ plugin: instance.plugin.name, phase, ...errorFields(err) }, 'phase ended after its request');
      return event.handlerFinished();
    }
    this.counters.phaseErrors++;
    this.log.error(
      { plugin: instance.plugin.name, instance: instance.id, phase, route_id: instance.config.route_id, policy: this.onPluginError, ...errorFields(err) },
      'plugin phase threw',
    );
    const closed = this.onPluginError === 'fail-closed' && RESPONSE_CAPABLE.has(phase);
    event.handlerFinished(closed ? FAIL_CLOSED_CALL : undefined);
  }

  private step(arg: { EventId: number; Data?: unknown }, reply: ReplyTarget, isError: boolean): void {
    const event = this.waiting.get(arg?.EventId);
    if (!event) return sendError(reply, `event id ${arg?.EventId} not found`);
    if (isError) return event.stepError(reply, String(arg.Data));
    event.step(reply, arg.Data);
  }

  awaitingStep(event: PhaseEvent): void {
    this.waiting.set(event.id, event);
  }

  settled(event: PhaseEvent): void {
    this.activeEvents--;
    this.waiting.delete(event.id);
    this.running.delete(event.id);
  }

  sweep(nowMs = Date.now()): void {
    const deadline = nowMs - this.eventTimeoutMs;
    const abandoned: PhaseEvent[] = [];
    const stuck: PhaseEvent[] = [];
    const seen = new Set<PhaseEvent>();
    for (const events of [this.waiting, this.running]) {
      for (const event of events.values()) {
        if (event.touchedAt >= deadline || seen.has(event)) continue;
        seen.add(event);
        if (event.handlerRunning) stuck.push(event);
        else abandoned.push(event);
      }
    }
    for (const event of abandoned) {
      this.counters.abandonedEvents++;
      event.abandon(`event #${event.id} abandoned: no Step from Kong within ${this.eventTimeoutMs} ms`);
    }
    if (abandoned.length) this.log.warn({ count: abandoned.length }, 'swept events abandoned by Kong');
    for (const event of stuck) {
      // Kong's socket timed out long ago; the answer could no longer reach it
      this.counters.stuckHandlers++;
      this.log.error({ event: event.id, handler: event.owner, timeout_ms: this.eventTimeoutMs }, 'plugin handler never answered; event dropped');
      event.abandon(`event #${event.id}: the handler ran longer than ${this.eventTimeoutMs} ms`);
    }
    const expired = this.instances.expireIdle(this.instanceIdleMs, nowMs);
    this.counters.expiredInstances += expired.length;
    if (expired.length) this.log.info({ count: expired.length }, 'expired idle instances');
  }
}
