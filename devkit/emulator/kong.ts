import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadKongYaml, parseDeclarative, type KongConfig, type PluginEntity } from './declarative';
import { HeaderMap } from './header-map';
import { fillDefaults, validateConfig, type KongFields } from './kong-schema';
import { callPdk, currentResponseHeaders, LuaError, TERMINAL_PDK_METHODS, type PdkEnvironment } from './pdk';
import { PluginServerProcess, serverDefinition, type PluginInfo, type PluginServerDefinition, type ServerKind } from './plugin-server-process';
import { RequestContext, type ClientRequest, type EmulatedResponse, type KongPhase } from './request-context';
import { Router } from './router';
import { RpcClient, RpcError, type RpcTrace } from './rpc-client';
import { kongError, proxyToService } from './upstream';

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
    for (const entity of config.plugins) {
      if (!entity.enabled) continue;
      const known = this.pluginInfo.get(entity.name);
      if (!known) {
        this.skippedPlugins.push({ name: entity.name, reason: 'runs in Kong only (not served by a plugin server here)' });
        continue;
      }
      const fields = known.info.Schema.fields[0].config.fields as KongFields;
      const filled = fillDefaults(fields, entity.config);
      const errors = validateConfig(fields, filled);
      if (errors.length) {
        problems.push(`plugin ${entity.name} (${entity.id}): ${errors.join('; ')}`);
        continue;
      }
      const key = `plugins:${entity.name}:${entity.route?.id ?? ''}:${entity.service?.id ?? ''}:${entity.consumer?.id ?? ''}::default`;
      const kongConfig: Record<string, unknown> = { ...filled };
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
    const globals = this.sortedFor(undefined, undefined);
    const response = await this.runRequest(worker, ctx, globals);
    ctx.response = response;
    const applicable = ctx.route ? this.sortedFor(ctx.route.id, ctx.service?.id, ctx.consumer?.id) : globals;
    const logged = this.runLog(worker, ctx, applicable);
    return { response, context: ctx, logged };
  }

  private async runRequest(worker: Worker, ctx: RequestContext, globals: ResolvedPlugin[]): Promise<EmulatedResponse> {
    // rewrite runs before the router, so only global plugins have one
    const rewrite = await this.runPhaseForAll(worker, ctx, globals, 'rewrite');
    if (rewrite) return rewrite;

    const match = this.router.match(ctx.method, ctx.host, ctx.normalizedPath);
    if (!match) return finalize(ctx, { ...kongError(404, 'no Route matched with those values'), source: 'error' });
    ctx.route = match.route;
    ctx.service = match.service;
    ctx.upstream.path = match.upstreamPath;
    const plugins = this.sortedFor(match.route.id, match.service?.id, ctx.consumer?.id);

    const access = await this.runPhaseForAll(worker, ctx, plugins, 'access');
    if (access) return access;

    const upstream = await proxyToService(ctx, this.options.upstreamTimeoutMs);
    ctx.serviceResponse = upstream;
    const buffered = plugins.some((p) => p.info.Phases.includes('response'));
    ctx.response = { status: upstream.status, headers: mergeUpstreamHeaders(ctx, upstream.headers, buffered), body: upstream.body, source: 'service' };
    const response = await this.runPhaseForAll(worker, ctx, plugins, 'response');
    if (response) return response;
    return finalize(ctx, ctx.response);
  }

  /** Runs one phase for every plugin that has it; returns the response when the request ends in this phase. */
  private async runPhaseForAll(worker: Worker, ctx: RequestContext, plugins: ResolvedPlugin[], phase: KongPhase): Promise<EmulatedResponse | undefined> {
    for (const plugin of plugins) {
      if (!plugin.info.Phases.includes(phase)) continue;
      ctx.phase = phase;
      ctx.currentPluginName = plugin.entity.name;
      const outcome = await this.runEvent(worker, ctx, plugin, phase);
      if (outcome.kind === 'exit') return finalize(ctx, ctx.response as EmulatedResponse);
      if (outcome.kind === 'error') {
        this.errors.push(`[${plugin.entity.name}:${phase}] ${outcome.message}`);
        ctx.pendingResponseHeaders.set('Content-Type', 'application/json; charset=utf-8');
        const failure = kongError(500, UNEXPECTED);
        return finalize(ctx, { ...failure, source: 'error' });
      }
    }
    return undefined;
  }

  private runLog(worker: Worker, ctx: RequestContext, plugins: ResolvedPlugin[]): Promise<void> {
    const loggers = plugins.filter((p) => p.info.Phases.includes('log'));
    if (loggers.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      setImmediate(async () => {
        for (const plugin of loggers) {
          ctx.phase = 'log';
          ctx.currentPluginName = plugin.entity.name;
          const outcome = await this.runEvent(worker, ctx, plugin, 'log');
          if (outcome.kind === 'error') this.errors.push(`[${plugin.entity.name}:log] ${outcome.message}`);
        }
        resolve();
      });
    });
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
        if (err instanceof RpcError && message.toLowerCase().includes('no plugin instance') && attempt < 10) {
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
      .sort((a, b) => b.info.Priority - a.info.Priority || a.entity.name.localeCompare(b.entity.name));
  }

  async close(): Promise<void> {
    for (const worker of this.workers) worker.close();
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

/** Rank by scope bits (consumer 4, route 2, service 1), following Kong's plugin lookup order. */
const SPECIFICITY: Record<number, number> = { 7: 8, 6: 7, 5: 6, 3: 5, 4: 4, 2: 3, 1: 2, 0: 1 };

interface StepIn {
  EventId: number;
  Data: 'ret' | { Method: string; Args: unknown[] };
}

/**
 * The downstream headers once the upstream has answered, from what plugins set before proxying:
 * - buffered proxying (a plugin has a response phase): Kong.response() calls kong.response.set_headers(upstream
 *   headers), so an upstream header replaces one a plugin set in rewrite/access;
 * - streaming: nginx appends the upstream's headers to those set in access (openresty/lua-nginx-module#2386: both
 *   are sent), except the ones nginx keeps in dedicated fields, where the upstream's value wins.
 * Either way the upstream's status replaces a status set before proxying. Changes made later (response phase)
 * apply on top of the result.
 */
const NGINX_SINGLE_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'date', 'server', 'last-modified', 'location']);

function mergeUpstreamHeaders(ctx: RequestContext, upstream: HeaderMap, buffered: boolean): HeaderMap {
  const merged = new HeaderMap();
  for (const [name, values] of ctx.pendingResponseHeaders.rawEntries()) merged.set(name, [...values]);
  for (const [name, values] of upstream.rawEntries()) {
    const lower = name.toLowerCase();
    if (buffered || NGINX_SINGLE_HEADERS.has(lower) || !merged.has(lower)) merged.set(name, [...values]);
    else for (const value of values) merged.add(name, value);
  }
  ctx.pendingResponseHeaders.clear();
  ctx.clearedResponseHeaders.clear();
  ctx.responseStatusOverride = undefined;
  return merged;
}

function finalize(ctx: RequestContext, response: EmulatedResponse): EmulatedResponse {
  const headers = response.source === 'service' ? currentResponseHeaders(ctx) : HeaderMap.from(response.headers);
  if (response.source === 'error') {
    for (const [name, values] of ctx.pendingResponseHeaders.rawEntries()) if (!headers.has(name)) headers.set(name, [...values]);
  }
  // a HEAD response has no body but keeps the length the upstream announced
  const keepUpstreamLength = ctx.method === 'HEAD' && response.source === 'service' && headers.has('content-length');
  if (!keepUpstreamLength) headers.set('Content-Length', String(response.body.length));
  if (!headers.has('via')) headers.set('Via', 'kong/3.9.1');
  const status = response.source === 'service' ? (ctx.responseStatusOverride ?? response.status) : response.status;
  const final: EmulatedResponse = { status, headers, body: response.body, source: response.source };
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
