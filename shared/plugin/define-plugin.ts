import { pluginClock, type Clock } from '../clock';
import { reportUnexpected } from '../observability/errors';
import { childLogger, type Logger } from '../observability/log';
import { Pdk } from '../pdk';
import { ConfigError, field, type InstanceMeta, type PluginSchema } from '../schema';
import { defineSchema } from '../schema/schema';
import type { FieldMap, InferFields } from '../schema/fields';
import type { ConfigCheck } from '../schema/schema';

export const PHASES = ['rewrite', 'access', 'response', 'log'] as const;
export type PhaseName = (typeof PHASES)[number];
export type FailurePolicy = 'fail_open' | 'fail_closed';

/** Phases in which the request can still be answered, so fail-closed means a 500 there. */
const CAN_RESPOND: ReadonlySet<string> = new Set(['rewrite', 'access', 'response']);

export interface HandlerContext {
  meta: InstanceMeta;
  log: Logger;
  plugin: string;
  /** The plugin's clock (shared/clock): take "now" from here, never from Date.now(). */
  clock: Clock;
}

/** A plugin's per-config handler: built once per instance (compile regexes, scripts and lookups here). */
export interface PhaseHandler {
  rewrite?(pdk: Pdk): Promise<void>;
  access?(pdk: Pdk): Promise<void>;
  response?(pdk: Pdk): Promise<void>;
  log?(pdk: Pdk): Promise<void>;
  /**
   * What a request needs before it goes on after an exception under fail_open (the handler's own writes may not
   * have happened): e.g. clearing headers a client sent that the plugin would have overwritten. Errors here are
   * reported and swallowed.
   */
  beforeFailOpen?(pdk: Pdk, phase: PhaseName): Promise<void>;
}

export interface PluginDefinition<F extends FieldMap, C = InferFields<F> & { failure_policy: FailurePolicy }> {
  name: string;
  version: string;
  priority: number;
  fields: F;
  /**
   * Cross-field rules. Every reason an instance start refuses a config belongs here (pure, offline), not in the
   * Handler constructor, which may open connections: `checkConfig` (and so `kong-plugins validate`) runs these only.
   */
  checks?: Array<ConfigCheck<C>>;
  /** What an unexpected exception does; users may override it per config with `failure_policy`. */
  failurePolicy: FailurePolicy;
  Handler: new (config: C, context: HandlerContext) => PhaseHandler;
}

/** The kong-pdk module shape: `{ Plugin, Name, Version, Priority, Schema }`. */
export interface PluginModuleExports {
  Plugin: new (config: Record<string, unknown>) => Record<string, unknown>;
  Name: string;
  Version: string;
  Priority: number;
  Schema: unknown[];
  schema: PluginSchema<any>;
  /**
   * Why an instance start would refuse this Config (as Kong sends it, defaults filled), without starting one: no
   * handler is built, so nothing connects or schedules anything. Empty when the instance would start.
   */
  checkConfig(rawConfig: unknown): string[];
}

/**
 * Builds a kong-pdk plugin module from a schema and a handler class. The generated Plugin class validates Kong's
 * Config when the instance starts (a bad config fails StartInstance with a message naming the field), and wraps
 * each phase the handler implements under the instance's failure policy: every error is logged and counted by
 * reportUnexpected (shared/observability/errors), then for an exception either the request goes on (fail_open) or
 * is answered 500 (fail_closed); after a failed PDK call the request is over and nothing more is sent.
 */
export function definePlugin<F extends FieldMap>(definition: PluginDefinition<F>): PluginModuleExports {
  type Config = InferFields<F> & { failure_policy: FailurePolicy };
  const allFields = {
    ...definition.fields,
    failure_policy: field.string({
      one_of: ['fail_open', 'fail_closed'] as const,
      default: definition.failurePolicy,
      description: 'What an unexpected error in this plugin does: let the request through, or answer 500.',
    }),
  };
  const schema = defineSchema(definition.name, allFields, (definition.checks ?? []) as Array<ConfigCheck<InferFields<typeof allFields>>>);
  const pluginLog = childLogger({ plugin: definition.name });
  const clock = pluginClock(definition.name);
  const Handler = definition.Handler;
  const phases = PHASES.filter((phase) => typeof Handler.prototype[phase] === 'function');

  class Plugin {
    readonly handler: PhaseHandler;
    readonly policy: FailurePolicy;
    readonly meta: InstanceMeta;
    /** Not `log`: that name is the log phase, defined on the prototype below. */
    readonly logger: Logger;

    constructor(rawConfig: Record<string, unknown>) {
      const { config, meta } = schema.parse(rawConfig);
      this.meta = meta;
      this.policy = (config as Config).failure_policy;
      this.logger = pluginLog.child({ plugin_id: meta.pluginId, route_id: meta.routeId });
      this.handler = new Handler(config as Config, { meta, log: this.logger, plugin: definition.name, clock });
    }
  }

  for (const phase of phases) {
    Object.defineProperty(Plugin.prototype, phase, {
      value: async function runPhase(this: Plugin, kong: unknown): Promise<void> {
        const pdk = new Pdk(kong);
        try {
          await (this.handler[phase] as (pdk: Pdk) => Promise<void>).call(this.handler, pdk);
        } catch (err) {
          const scope = { plugin: definition.name, phase, policy: this.policy };
          if (reportUnexpected(this.logger, scope, err) === 'pdk') return;
          if (this.policy === 'fail_closed' && CAN_RESPOND.has(phase)) {
            await pdk.response.error(500).catch((failed: unknown) => reportUnexpected(this.logger, scope, failed));
          } else if (this.handler.beforeFailOpen) {
            await this.handler.beforeFailOpen(pdk, phase).catch((failed: unknown) => reportUnexpected(this.logger, scope, failed));
          }
        }
      },
      writable: false,
      enumerable: false,
    });
  }

  const checkConfig = (rawConfig: unknown): string[] => {
    try {
      schema.parse(rawConfig);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return [...err.problems];
      return [`config: ${(err as Error).message ?? String(err)}`];
    }
  };

  return {
    Plugin: Plugin as unknown as PluginModuleExports['Plugin'],
    Name: definition.name,
    Version: definition.version,
    Priority: definition.priority,
    Schema: schema.kong,
    schema,
    checkConfig,
  };
}
