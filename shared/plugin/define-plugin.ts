import { childLogger, errorFields, type Logger } from '../observability/log';
import { counter } from '../observability/metrics';
import { Pdk } from '../pdk';
import { field, type InstanceMeta, type PluginSchema } from '../schema';
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
}

/** A plugin's per-config handler: built once per instance (compile regexes, scripts and lookups here). */
export interface PhaseHandler {
  rewrite?(pdk: Pdk): Promise<void>;
  access?(pdk: Pdk): Promise<void>;
  response?(pdk: Pdk): Promise<void>;
  log?(pdk: Pdk): Promise<void>;
}

export interface PluginDefinition<F extends FieldMap, C = InferFields<F> & { failure_policy: FailurePolicy }> {
  name: string;
  version: string;
  priority: number;
  fields: F;
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
}

const phaseErrors = counter('kong_plugins_phase_errors_total', 'Unexpected exceptions in plugin phases', ['plugin', 'phase', 'policy']);

function isRequestOver(err: unknown): boolean {
  return err instanceof Error && err.name === 'PDKError';
}

/**
 * Builds a kong-pdk plugin module from a schema and a handler class. The generated Plugin class validates Kong's
 * Config when the instance starts (a bad config fails StartInstance with a message naming the field), and wraps
 * each phase the handler implements under the instance's failure policy: an exception is logged with context and
 * counted, then either the request goes on (fail_open) or is answered 500 (fail_closed).
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
      this.handler = new Handler(config as Config, { meta, log: this.logger, plugin: definition.name });
    }
  }

  for (const phase of phases) {
    Object.defineProperty(Plugin.prototype, phase, {
      value: async function runPhase(this: Plugin, kong: unknown): Promise<void> {
        const pdk = new Pdk(kong);
        try {
          await (this.handler[phase] as (pdk: Pdk) => Promise<void>).call(this.handler, pdk);
        } catch (err) {
          if (isRequestOver(err)) return;
          phaseErrors.inc({ plugin: definition.name, phase, policy: this.policy });
          this.logger.error({ phase, policy: this.policy, ...errorFields(err) }, 'plugin phase failed');
          if (this.policy === 'fail_closed' && CAN_RESPOND.has(phase)) {
            await pdk.response.error(500).catch(() => undefined);
          }
        }
      },
      writable: false,
      enumerable: false,
    });
  }

  return {
    Plugin: Plugin as unknown as PluginModuleExports['Plugin'],
    Name: definition.name,
    Version: definition.version,
    Priority: definition.priority,
    Schema: schema.kong,
    schema,
  };
}
