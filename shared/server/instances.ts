import type { PluginModule } from './plugin-module';

export interface Instance {
  readonly id: number;
  readonly plugin: PluginModule;
  readonly handler: Record<string, unknown>;
  readonly config: Record<string, unknown>;
  readonly startTime: number;
  lastUsed: number;
}

/**
 * Instance ids start at (process start in ms) x 1024, so ids from an earlier server process are never reused:
 * Kong keeps cached ids across a plugin-server restart (Kong/kong#8370) and a stale id must answer
 * "no plugin instance #N" (Kong then restarts the instance) instead of running another plugin.
 * 2^53 / 1024 ms leaves room until the year 2248; restarts are >= 1 s apart, so 1,024,000 ids fit between them.
 */
export function firstIdForThisProcess(nowMs = Date.now()): number {
  return Math.floor(nowMs) * 1024;
}

export class InstanceRegistry {
  private readonly byId = new Map<number, Instance>();
  private nextId: number;

  constructor(firstId = firstIdForThisProcess()) {
    this.nextId = firstId;
  }

  start(plugin: PluginModule, config: Record<string, unknown>): Instance {
    const handler = new plugin.cls(config);
    const now = Date.now();
    const instance: Instance = { id: this.nextId++, plugin, handler, config, startTime: now / 1000, lastUsed: now };
    this.byId.set(instance.id, instance);
    plugin.lastStartInstance = now / 1000;
    return instance;
  }

  get(id: number): Instance | undefined {
    return this.byId.get(id);
  }

  close(id: number): Instance | undefined {
    const instance = this.byId.get(id);
    if (!instance) return undefined;
    this.byId.delete(id);
    instance.plugin.lastCloseInstance = Date.now() / 1000;
    return instance;
  }

  /** Removes instances unused for `idleMs`; Kong's next call on them gets "no plugin instance" and restarts them. */
  expireIdle(idleMs: number, nowMs = Date.now()): Instance[] {
    const expired: Instance[] = [];
    for (const instance of this.byId.values()) {
      if (nowMs - instance.lastUsed > idleMs) expired.push(instance);
    }
    for (const instance of expired) this.close(instance.id);
    return expired;
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<Instance> {
    return this.byId.values();
  }
}
