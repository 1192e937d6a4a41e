export * as field from './fields';
export { defineSchema, ConfigError, type PluginSchema, type InstanceMeta, type ConfigCheck } from './schema';
export type { FieldSpec, InferFields } from './fields';
