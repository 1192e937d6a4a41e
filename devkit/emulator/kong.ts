import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKongYaml, parseDeclarative, type KongConfig, type PluginEntity } from './declarative';
import { HeaderMap } from './header-map';
import { describePluginEntry } from './plugin-entry';
import { fillDefaults, resolveVaultReferences, validateConfig, type KongFields } from './kong-schema';
import { errorPage } from './error-page';
import { LuaGuardHost, isPiiGuard, luajitAvailable } from './lua-guard';
import { callPdk, errorResponse, LuaError, responseSource, serialize, TERMINAL_PDK_METHODS, type PdkEnvironment } from './pdk';
import { PluginServerProcess, serverDefinition, type PluginInfo, type PluginServerDefinition, type ServerKind } from './plugin-server-process';
import { RequestContext, type ClientRequest, type EmulatedResponse, type KongPhase } from './request-context';
import { Router } from './router';
import { RpcAssertError, RpcClient, RpcError, type RpcTrace } from './rpc-client';
import { proxyToService, SERVER_TOKENS, VIA_TOKEN } from './upstream';

export interface EmulatorOptions {
  /** nginx workers: each has its own RPC connections, msgids and instance table, as in Kong. */
  workers?: number;
  /** Directory for the plugin servers' sockets (Kong's prefix). */
  prefix?: string;
  rpcTimeoutMs?: number;
  upstreamTimeoutMs?: number;
  /** Sees every protocol message (for transcripts and debugging). */
  trace?: RpcTrace;
  /**
   * Kong >= 3.9 uses only the FIRST plugin a plugin-server entry's query command reports (Kong/kong#14701,
   * kong-js-pdk#407); Kong 3.8 uses them all. Default: 3.8's behaviour, so one server can serve many fixtures.
   */
  onlyFirstPluginPerServer?: boolean;
  /** Kong's environment as its `env` vault reads it (`{vault://env/name}`); default: this process's. */
  vaultEnv?: NodeJS.ProcessEnv;
}

export interface ServerSpec {
  kind: ServerKind;
  pluginsDir: string;
  /** Per-plugin mode (ours only): one process and socket for this plugin, as Kong >= 3.9 needs. */
  plugin?: string;
  respawn?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A plugin entity of the current configuration, resolved to the server that runs it. */
interface ResolvedPlugin {
  entity: PluginEntity;
  info: PluginInfo;
  server: PluginServerProcess;
  config: Record<string, unknown>;
  key: string;
}

export interface HandledRequest {
  response: EmulatedResponse;
  context: RequestContext;
  /** Resolves when every log handler has run (Kong runs them in a timer after the response is sent). */
  logged: Promise<void>;
}

type PhaseOutcome = { kind: 'continue' } | { kind: 'exit' } | { kind: 'error'; message: string };

const UNEXPECTED = 'An unexpected error occurred';

/**
 * Kong retries a "no plugin instance" answer without bound (mp_rpc.lua handle_event calls itself); the emulator
 * stops after this many so a server that never keeps an instance fails a test instead of hanging it.
 */
const INSTANCE_RETRY_CAP = 10;

/**
 * Kong's side of the external-plugin protocol, for tests, benchmarks and the dev gateway: starts and queries plugin
 * servers, turns kong.yml into plugin configs as Kong stores them, and runs requests through rewrite, access, the
 * upstream, response (buffered, when any plugin has a response handler) and log, in priority order.
 */
export class KongEmulator {
  readonly servers: PluginServerProcess[] = [];
  readonly prefix: string;
  private readonly pluginInfo = new Map<string, { info: PluginInfo; server: PluginServerProcess }>();
  private readonly workers: Worker[];
  private nextWorker = 0;
  private seq = 0;
  private config: KongConfig = { services: [], routes: [], consumers: [], plugins: [] };
  private resolved: ResolvedPlugin[] = [];
  private router = new Router([], []);
  readonly skippedPlugins: Array<{ name: string; reason: string }> = [];
  /** pre-function entries that are the shipped pii-masking guard, run by luajit (lua-guard.ts). */
  private guards: PluginEntity[] = [];
  private guardHost: LuaGuardHost | undefined;
  readonly env: PdkEnvironment = { nodeId: crypto.randomUUID(), logLines: [] };
  readonly errors: string[] = [];

  constructor(private readonly options: EmulatorOptions = {}) {
    this.prefix = options.prefix ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kong-emu-'));
    this.workers = Array.from({ length: options.workers ?? 1 }, (_, id) => new Worker(id, options.rpcTimeoutMs, options.trace));
  }

  /** Starts a plugin server the way Kong's kong.conf entry would, and loads its plugins' info. */
  async addServer(spec: ServerSpec): Promise<PluginServerProcess> {
    return this.addServerDefinition(serverDefinition(spec.kind, spec.pluginsDir, this.prefix, spec.plugin), spec);
  }

  async addServerDefinition(definition: PluginServerDefinition, options: { respawn?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<PluginServerProcess> {
    const server = new PluginServerProcess(definition, options);
    const infos = server.query();
    for (const info of this.options.onlyFirstPluginPerServer ? infos.slice(0, 1) : infos) {
      if (this.pluginInfo.has(info.Name)) continue;
      this.pluginInfo.set(info.Name, { info, server });
    }
    await server.start();
    this.servers.push(server);
    return server;
  }

  /**
   * Uses a plugin server someone else started (no start or query command): plugin info comes from the
   * GetPluginInfo RPC for the given names.
   */
  async connectServer(socket: string, pluginNames: string[]): Promise<PluginServerProcess> {
    const server = new PluginServerProcess({ name: socket, socket, startCommand: [], queryCommand: [] });
    const rpc = new RpcClient(socket, { timeoutMs: this.options.rpcTimeoutMs });
    try {
      for (const name of pluginNames) {
        const info = (await rpc.call('plugin.GetPluginInfo', name)) as PluginInfo;
        server.infos.push(info);
        if (!this.pluginInfo.has(info.Name)) this.pluginInfo.set(info.Name, { info, server });
      }
    } finally {
      rpc.close();
    }
    this.servers.push(server);
    return server;
  }

  pluginNames(): string[] {
    return [...this.pluginInfo.keys()];
  }

  infoFor(name: string): PluginInfo | undefined {
    return this.pluginInfo.get(name)?.info;
  }

  /** Loads a declarative config (object or kong.yml path); invalid plugin configs are rejected as Kong would. */
  configure(input: KongConfig | string | Record<string, unknown>): void {
    const config =
      typeof input === 'string' ? loadKongYaml(input) : '_format_version' in input ? parseDeclarative(input) : (input as KongConfig);
    this.seq++;
    const resolved: ResolvedPlugin[] = [];
    const problems: string[] = [];
    this.skippedPlugins.length = 0;
    const guards: PluginEntity[] = [];
    for (const entity of config.plugins) {
      if (!entity.enabled) continue;
      if (isPiiGuard(entity) && luajitAvailable()) {
        guards.push(entity);
        continue;
      }
      const known = this.pluginInfo.get(entity.name);
      if (!known) {
        this.skippedPlugins.push({ name: entity.name, reason: 'runs in Kong only (not served by a plugin server here)' });
        continue;
      }
      const fields = known.info.Schema.fields[0].config.fields as KongFields;
      const filled = fillDefaults(fields, entity.config);
      const errors = validateConfig(fields, filled);
      if (errors.length) {
        problems.push(`${describePluginEntry(entity, config)}: ${errors.join('; ')}`);
        continue;
      }
      const key = `plugins:${entity.name}:${entity.route?.id ?? ''}:${entity.service?.id ?? ''}:${entity.consumer?.id ?? ''}::default`;
      // what Kong reads back for the plugin (select): vault references resolved, each record noting them in $refs
      const kongConfig: Record<string, unknown> = resolveVaultReferences(fields, filled, this.options.vaultEnv ?? process.env);
      if (entity.route) kongConfig.route_id = entity.route.id;
      if (entity.service) kongConfig.service_id = entity.service.id;
      if (entity.consumer) kongConfig.consumer_id = entity.consumer.id;
      if (entity.instance_name) kongConfig.plugin_instance_name = entity.instance_name;
      kongConfig.__plugin_id = entity.id;
      kongConfig.__ws_id = '0dc6f45b-8f8d-40d2-a504-473544ee190b';
      kongConfig.__key__ = key;
      kongConfig.__seq__ = this.seq;
      resolved.push({ entity, info: known.info, server: known.server, config: kongConfig, key });
    }
    if (problems.length) throw new Error(`invalid declarative configuration: ${problems.join(' | ')}`);
    this.config = config;
    this.resolved = resolved;
    this.guards = guards;
    this.router = new Router(config.routes, config.services);
  }

  get consumers() {
    return this.config.consumers;
  }

  /** Runs a request and waits for its log phase too. */
  async request(request: ClientRequest): Promise<EmulatedResponse & { context: RequestContext }> {
    const handled = await this.handle(request);
    await handled.logged;
    return { ...handled.response, context: handled.context };
  }

  async handle(request: ClientRequest): Promise<HandledRequest> {
    const worker = this.workers[this.nextWorker++ % this.workers.length];
    const ctx = new RequestContext(request);
    const collected: ResolvedPlugin[] = this.sortedFor(undefined, undefined);
    let response = await this.runRequest(worker, ctx, collected);
    // the guard's header_filter and body_filter (pre-function runs first in those phases), on whatever is sent
    if (ctx.route && this.guardFor(ctx.route.id, ctx.service?.id)) response = await this.runGuardFilters(ctx, response);
    ctx.response = response;
    const logged = this.runLog(worker, ctx, collected);
    return { response, context: ctx, logged };
  }

  private luaGuard(): LuaGuardHost {
    this.guardHost ??= new LuaGuardHost();
    return this.guardHost;
  }

  /** The pii-masking guard entry that applies (route, then service, then global), as Kong picks one config per plugin. */
  private guardFor(routeId: string, serviceId: string | undefined): PluginEntity | undefined {
    const applies = this.guards.filter((g) => (!g.route || g.route.id === routeId) && (!g.service || g.service.id === serviceId) && !g.consumer);
    return applies.find((g) => g.route) ?? applies.find((g) => g.service) ?? applies[0];
  }

  private async runGuardFilters(ctx: RequestContext, response: EmulatedResponse): Promise<EmulatedResponse> {
    try {
      const logErr = (message: string) => this.env.logLines.push({ level: 'err', plugin: 'pre-function', message });
      const { status, body } = await this.luaGuard().filter(ctx, responseSource(ctx), response.status, response.body, logErr);
      ctx.status = status;
      return { ...response, status, headers: ctx.responseHeaders, body };
    } catch (err) {
      // a Lua error in header_filter: nginx's 500 (the upstream body is not sent)
      this.errors.push(`[pre-function:header_filter] ${(err as Error).message}`);
      errorPage(ctx, 500);
      return ctx.response!;
    }
  }

  /**
   * `collected` holds the global plugins (rewrite runs before the router, so only they have one); once a route
   * matched, it is replaced by the plugins the access phase collected, which later phases run.
   */
  private async runRequest(worker: Worker, ctx: RequestContext, collected: ResolvedPlugin[]): Promise<EmulatedResponse> {
    const rewrite = await this.runPhaseForAll(worker, ctx, collected, 'rewrite');
    if (rewrite) return rewrite;

    const match = this.router.match(ctx.method, ctx.host, ctx.normalizedPath);
    if (!match) {
      errorResponse(ctx, 404, 'no Route matched with those values');
      return finalize(ctx, ctx.response!);
    }
    ctx.route = match.route;
    ctx.service = match.service;
    ctx.upstream.path = match.upstreamPath;
    ctx.forwardedPrefix = match.prefix && match.prefix !== '/' ? match.prefix : undefined;
    // the guard's pre-function (priority 1000000) runs before every plugin of the suite
    const guard = this.guardFor(match.route.id, match.service?.id);
    if (guard) await this.luaGuard().access(ctx);
    const { plugins, ended } = await this.collectAndRunAccess(worker, ctx, match.route.id, match.service?.id);
    collected.splice(0, collected.length, ...plugins);
    if (ended) return ended;

    ctx.proxied = true;
    ctx.proxyLatencyMs = Date.now() - ctx.startedAt;
    const upstream = await proxyToService(ctx, this.options.upstreamTimeoutMs);
    if (upstream.failed) {
      errorPage(ctx, upstream.status);
      return finalize(ctx, ctx.response!);
    }
    ctx.serviceResponse = upstream;
    mergeUpstreamHeaders(ctx, upstream.headers, ctx.buffered);
    ctx.status = upstream.status;
    ctx.response = { status: upstream.status, headers: ctx.responseHeaders, body: upstream.body, source: 'service' };
    const response = await this.runPhaseForAll(worker, ctx, plugins, 'response');
    if (response) return response;
    return finalize(ctx, { ...ctx.response, status: ctx.status });
  }

  /**
   * The access phase as Kong's collecting iterator runs it (plugins_iterator.lua get_next_and_collect): plugin
   * names in priority order, each one's config looked up when its turn comes, with the consumer that the plugins
   * before it authenticated (load_configuration_through_combos), so a consumer-scoped config applies after a
   * higher-priority auth plugin. Once a plugin ended the request, the rest are still collected (their response and
   * log phases run) but their access handlers do not.
   */
  private async collectAndRunAccess(worker: Worker, ctx: RequestContext, routeId: string, serviceId: string | undefined): Promise<{ plugins: ResolvedPlugin[]; ended?: EmulatedResponse }> {
    const plugins: ResolvedPlugin[] = [];
    let ended: EmulatedResponse | undefined;
    for (const candidates of this.candidatesFor(routeId, serviceId)) {
      const plugin = lookupConfig(candidates, ctx.consumer?.id);
      if (!plugin) continue;
      plugins.push(plugin);
      if (plugin.info.Phases.includes('response')) ctx.buffered = true;
      if (!ended) ended = await this.runPhaseForAll(worker, ctx, [plugin], 'access');
    }
    return { plugins, ended };
  }

  /** Every config that may apply on this route and service, grouped per plugin name, names in priority order. */
  private candidatesFor(routeId: string, serviceId: string | undefined): ResolvedPlugin[][] {
    const byName = new Map<string, ResolvedPlugin[]>();
    for (const plugin of this.resolved) {
      const { route, service } = plugin.entity;
      if (route && route.id !== routeId) continue;
      if (service && service.id !== serviceId) continue;
      const group = byName.get(plugin.entity.name) ?? [];
      group.push(plugin);
      byName.set(plugin.entity.name, group);
    }
    return [...byName.values()].sort((a, b) => byHandlerPriority(a[0], b[0]));
  }

  /**
   * Runs one phase for every plugin that has it; returns the response when the request ends in this phase. A Lua
   * error in access is caught (execute_collecting_plugins_iterator: kong.response.error(500)); in rewrite and
   * response it escapes to nginx, whose error page answers (Kong.handle_error).
   */
  private async runPhaseForAll(worker: Worker, ctx: RequestContext, plugins: ResolvedPlugin[], phase: KongPhase): Promise<EmulatedResponse | undefined> {
    for (const plugin of plugins) {
      if (!plugin.info.Phases.includes(phase)) continue;
      ctx.phase = phase;
      ctx.currentPluginName = plugin.entity.name;
      const outcome = await this.runEvent(worker, ctx, plugin, phase);
      if (outcome.kind === 'exit') return finalize(ctx, ctx.response as EmulatedResponse);
      if (outcome.kind === 'error') {
        this.errors.push(`[${plugin.entity.name}:${phase}] ${outcome.message}`);
        if (phase === 'access') {
          ctx.unexpected = true;
          errorResponse(ctx, 500, UNEXPECTED);
          ctx.response!.source = 'error';
        } else errorPage(ctx, 500);
        return finalize(ctx, ctx.response!);
      }
    }
    return undefined;
  }

  /**
   * Kong's log phase for external plugins (plugin_servers/plugin.lua): the data is saved now, each handler then
   * runs in its own timer, all at once, in no order; each timer has its own copy of ngx.ctx.
   */
  private runLog(worker: Worker, ctx: RequestContext, plugins: ResolvedPlugin[]): Promise<void> {
    const loggers = plugins.filter((p) => p.info.Phases.includes('log'));
    if (loggers.length === 0) return Promise.resolve();
    const saved = {
      serialized: serialize(ctx),
      requestHeaders: HeaderMap.from(ctx.headers),
      responseHeaders: HeaderMap.from(ctx.response?.headers),
      responseStatus: ctx.response?.status ?? 200,
    };
    const timers = loggers.map(
      (plugin) =>
        new Promise<void>((resolve) => {
          setImmediate(async () => {
            // a view of the request for this timer: its own phase and plugin name, everything else read through
            const timerCtx = Object.create(ctx) as RequestContext;
            timerCtx.phase = 'log';
            timerCtx.currentPluginName = plugin.entity.name;
            timerCtx.logTimer = saved;
            const outcome = await this.runEvent(worker, timerCtx, plugin, 'log');
            if (outcome.kind === 'error') this.errors.push(`[${plugin.entity.name}:log] ${outcome.message}`);
            resolve();
          });
        }),
    );
    return Promise.all(timers).then(() => undefined);
  }

  /** One handle_event of mp_rpc.lua: the bridge loop, with "no plugin instance" reset-and-retry. */
  private async runEvent(worker: Worker, ctx: RequestContext, plugin: ResolvedPlugin, phase: KongPhase): Promise<PhaseOutcome> {
    const rpc = worker.rpcFor(plugin.server);
    for (let attempt = 0; ; attempt++) {
      let instanceId: number;
      try {
        instanceId = await worker.instanceId(plugin, rpc);
      } catch (err) {
        return { kind: 'error', message: `starting instance: ${(err as Error).message}` };
      }
      try {
        let stepIn = (await rpc.call('plugin.HandleEvent', { InstanceId: instanceId, EventName: phase })) as StepIn;
        const eventId = stepIn.EventId;
        for (;;) {
          if (stepIn.Data === 'ret') return { kind: 'continue' };
          const { Method, Args } = stepIn.Data as { Method: string; Args: unknown[] };
          let result: { value: unknown; step: string };
          try {
            result = callPdk(ctx, this.env, Method, Args ?? []);
          } catch (err) {
            if (err instanceof LuaError) return { kind: 'error', message: `${Method}: ${err.message}` };
            throw err;
          }
          if (TERMINAL_PDK_METHODS.has(Method)) return { kind: 'exit' };
          stepIn = (await rpc.call(result.step, { EventId: eventId, Data: result.value })) as StepIn;
        }
      } catch (err) {
        const message = (err as Error).message ?? String(err);
        // Rpc:call's asserts are Lua errors: the phase fails like any other Lua error
        if (err instanceof RpcAssertError) return { kind: 'error', message };
        if (err instanceof RpcError && message.toLowerCase().includes('no plugin instance') && attempt < INSTANCE_RETRY_CAP) {
          // reset_instance drops every instance of the plugin, in every worker (worker event)
          for (const w of this.workers) w.resetPlugin(plugin.info.Name);
          this.env.logLines.push({ level: 'warn', plugin: plugin.entity.name, message });
          continue;
        }
        // Kong logs the failure and the request goes on (fail open at the protocol level)
        this.env.logLines.push({ level: 'err', plugin: plugin.entity.name, message });
        return { kind: 'continue' };
      }
    }
  }

  /**
   * Plugins for a request in Kong's order: per plugin name the most specific config (Kong's lookup order:
   * consumer+route+service, consumer+route, consumer+service, route+service, consumer, route, service, global),
   * highest priority first. Consumer-scoped configs apply when the request's consumer (identified by an auth
   * plugin in Kong, given with the request here) matches.
   */
  private sortedFor(routeId: string | undefined, serviceId: string | undefined, consumerId?: string): ResolvedPlugin[] {
    const chosen = new Map<string, { plugin: ResolvedPlugin; rank: number }>();
    for (const plugin of this.resolved) {
      const { route, service, consumer } = plugin.entity;
      if (consumer && consumer.id !== consumerId) continue;
      if (route && route.id !== routeId) continue;
      if (service && service.id !== serviceId) continue;
      const rank = SPECIFICITY[(consumer ? 4 : 0) + (route ? 2 : 0) + (service ? 1 : 0)];
      const current = chosen.get(plugin.entity.name);
      if (!current || rank > current.rank) chosen.set(plugin.entity.name, { plugin, rank });
    }
    return [...chosen.values()]
      .map((c) => c.plugin)
      .sort(byHandlerPriority);
  }

  async close(): Promise<void> {
    this.guardHost?.close();
    for (const worker of this.workers) worker.close();
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  /**
   * Starts the instance of every enabled plugin config now, on the first worker, instead of at its first request as
   * Kong does: a config its plugin refuses then surfaces at boot, not as a 500 on every request. Returns the refusals.
   */
  async startAllInstances(): Promise<Array<{ entity: PluginEntity; error: string }>> {
    const worker = this.workers[0];
    const outcomes = await Promise.all(
      this.resolved.map((plugin) =>
        worker.instanceId(plugin, worker.rpcFor(plugin.server)).then(
          () => undefined,
          (err: unknown) => ({ entity: plugin.entity, error: err instanceof Error ? err.message : String(err) }),
        ),
      ),
    );
    return outcomes.filter((outcome) => outcome !== undefined);
  }
}

/**
 * sort_by_handler_priority (db/dao/plugins.lua): higher priority first; equal non-zero priorities by name,
 * DESCENDING (`a.name > b.name`). Zero priorities get no tie-break (Lua's unstable sort); here they keep their order.
 */
function byHandlerPriority(a: ResolvedPlugin, b: ResolvedPlugin): number {
  const pa = a.info.Priority ?? 0;
  const pb = b.info.Priority ?? 0;
  if (pa === pb && pa !== 0) return a.entity.name < b.entity.name ? 1 : a.entity.name > b.entity.name ? -1 : 0;
  return pb - pa;
}

/** Rank by scope bits (consumer 4, route 2, service 1), following Kong's plugin lookup order. */
const SPECIFICITY: Record<number, number> = { 7: 8, 6: 7, 5: 6, 3: 5, 4: 4, 2: 3, 1: 2, 0: 1 };

/** lookup_cfg (plugins_iterator.lua): the most specific config for the authenticated consumer, if any applies. */
function lookupConfig(candidates: ResolvedPlugin[], consumerId: string | undefined): ResolvedPlugin | undefined {
  let best: { plugin: ResolvedPlugin; rank: number } | undefined;
  for (const plugin of candidates) {
    const { route, service, consumer } = plugin.entity;
    if (consumer && consumer.id !== consumerId) continue;
    const rank = SPECIFICITY[(consumer ? 4 : 0) + (route ? 2 : 0) + (service ? 1 : 0)];
    if (!best || rank > best.rank) best = { plugin, rank };
  }
  return best?.plugin;
}

interface StepIn {
  EventId: number;
  Data: 'ret' | { Method: string; Args: unknown[] };
}

/**
 * The downstream headers once the upstream has answered, from what plugins set before proxying (ngx.header):
 * - buffered proxying (a plugin has a response phase): Kong.response() calls kong.response.set_headers(upstream
 *   headers), so an upstream header replaces one a plugin set in rewrite/access;
 * - streaming: nginx appends the upstream's headers to those set in access (openresty/lua-nginx-module#2386: both
 *   are sent), except the ones nginx keeps in dedicated fields, where the upstream's value wins.
 * Either way the upstream's status replaces a status set before proxying. Changes made later (response phase)
 * apply on top of the result.
 */
const NGINX_SINGLE_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'date', 'server', 'last-modified', 'location']);

function mergeUpstreamHeaders(ctx: RequestContext, upstream: HeaderMap, buffered: boolean): void {
  const merged = ctx.responseHeaders;
  for (const [name, values] of upstream.rawEntries()) {
    const lower = name.toLowerCase();
    if (buffered || NGINX_SINGLE_HEADERS.has(lower) || !merged.has(lower)) merged.set(name, [...values]);
    else for (const value of values) merged.add(name, value);
  }
}

/**
 * What reaches the client: the body is printed with whatever Content-Length the headers hold (Kong recomputes
 * nothing), plus the headers of runloop/handler.lua header_filter.after: on a proxied request Via (appended to the
 * upstream's), X-Kong-Upstream-Latency, X-Kong-Proxy-Latency and a Server the upstream did not send; otherwise
 * X-Kong-Response-Latency and Server; always X-Kong-Request-Id.
 */
function finalize(ctx: RequestContext, response: EmulatedResponse): EmulatedResponse {
  const headers = ctx.responseHeaders;
  if (!headers.has('content-length')) headers.set('Content-Length', String(response.body.length));
  if (ctx.proxied) {
    headers.set('X-Kong-Upstream-Latency', String(ctx.upstreamLatencyMs));
    headers.set('X-Kong-Proxy-Latency', String(ctx.proxyLatencyMs));
    const upstreamVia = ctx.serviceResponse?.headers.get('via');
    headers.set('Via', upstreamVia ? `${upstreamVia}, ${VIA_TOKEN}` : VIA_TOKEN);
    if (!headers.has('server')) headers.set('Server', SERVER_TOKENS);
  } else {
    ctx.proxyLatencyMs = Date.now() - ctx.startedAt;
    headers.set('X-Kong-Response-Latency', String(ctx.proxyLatencyMs));
    if (headers.get('via') !== SERVER_TOKENS) headers.set('Server', SERVER_TOKENS);
  }
  headers.set('X-Kong-Request-Id', ctx.requestId);
  const final: EmulatedResponse = { status: response.status, headers, body: response.body, source: response.source };
  ctx.status = final.status;
  ctx.response = final;
  return final;
}

/** One nginx worker's plugin-server state: RPC clients and the running-instances table of plugin_servers/init.lua. */
class Worker {
  private readonly clients = new Map<PluginServerProcess, RpcClient>();
  private readonly running = new Map<string, { id: number | undefined; seq: unknown; plugin: string; server: PluginServerProcess; starting?: Promise<unknown> }>();
  private readonly pids = new Map<PluginServerProcess, number>();

  constructor(
    readonly id: number,
    private readonly rpcTimeoutMs?: number,
    private readonly trace?: RpcTrace,
  ) {}

  rpcFor(server: PluginServerProcess): RpcClient {
    let client = this.clients.get(server);
    if (!client) {
      client = new RpcClient(server.definition.socket, {
        timeoutMs: this.rpcTimeoutMs,
        trace: this.trace,
        onNotification: (label, args) => {
          if (label === 'serverPid') this.serverPid(server, Number(args));
        },
      });
      this.clients.set(server, client);
    }
    return client;
  }

  /**
   * get_instance_id (plugin_servers/init.lua): instances keyed by plugin id, reused while __seq__ matches; else
   * start a new instance, then close the old one.
   */
  async instanceId(plugin: ResolvedPlugin, rpc: RpcClient): Promise<number> {
    let info = this.running.get(plugin.entity.id);
    while (info && info.id === undefined) {
      await info.starting?.catch(() => undefined);
      info = this.running.get(plugin.entity.id);
    }
    if (info && info.id !== undefined && info.seq === plugin.config.__seq__) return info.id;
    const oldId = info?.id;
    const claim: { id: number | undefined; seq: unknown; plugin: string; server: PluginServerProcess; starting?: Promise<unknown> } = {
      id: undefined,
      seq: plugin.config.__seq__,
      plugin: plugin.info.Name,
      server: plugin.server,
    };
    this.running.set(plugin.entity.id, claim);
    const starting = rpc.call('plugin.StartInstance', { Name: plugin.info.Name, Config: JSON.stringify(plugin.config) });
    claim.starting = starting;
    let status: { Id: number };
    try {
      status = (await starting) as { Id: number };
    } catch (err) {
      this.running.delete(plugin.entity.id);
      throw err;
    }
    claim.id = status.Id;
    if (oldId !== undefined) await rpc.call('plugin.CloseInstance', oldId).catch(() => undefined);
    return status.Id;
  }

  /** rpc_notifications:serverPid: a new pid on this socket drops every instance started through it. */
  private serverPid(server: PluginServerProcess, pid: number): void {
    const previous = this.pids.get(server);
    this.pids.set(server, pid);
    if (previous === undefined || previous === pid) return;
    for (const [key, info] of this.running) if (info.server === server) this.running.delete(key);
  }

  resetPlugin(name: string): void {
    for (const [key, info] of this.running) if (info.plugin === name) this.running.delete(key);
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
  }
}
