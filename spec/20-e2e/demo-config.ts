import fs from 'node:fs';
import YAML from 'yaml';
import { KONG_YML } from './target';

/**
 * What kong.yml's demo routes promise, read from kong.yml itself so the expectations follow the file: the
 * tenant-quota plans and the version-deprecation lifecycle. (Read as plain YAML: no emulator code involved.)
 */
interface PluginEntry {
  name: string;
  config: Record<string, any>;
}

const config = YAML.parse(fs.readFileSync(KONG_YML, 'utf8'));

export function routePlugin(routeName: string, pluginName: string): Record<string, any> {
  for (const service of config.services ?? []) {
    for (const route of service.routes ?? []) {
      if (route.name !== routeName) continue;
      const plugin = (route.plugins ?? []).find((p: PluginEntry) => p.name === pluginName);
      if (plugin) return plugin.config;
    }
  }
  throw new Error(`kong.yml: no ${pluginName} on route ${routeName}`);
}

export function routePaths(routeName: string): string[] {
  for (const service of config.services ?? []) for (const route of service.routes ?? []) if (route.name === routeName) return route.paths;
  throw new Error(`kong.yml: no route ${routeName}`);
}

export function globalPlugins(): string[] {
  return (config.plugins ?? []).map((p: PluginEntry) => p.name);
}

export interface DemoLimit {
  name: string;
  algorithm: 'gcra' | 'sliding_window' | 'calendar';
  limit: number;
  window_seconds?: number;
  burst?: number;
  period?: 'day' | 'week' | 'month';
}

export function plan(quota: Record<string, any>, name: string): DemoLimit[] {
  const found = (quota.plans as Array<{ name: string; limits: DemoLimit[] }>).find((p) => p.name === name);
  if (!found) throw new Error(`kong.yml: tenant-quota has no plan ${name}`);
  return found.limits;
}

// --- calendar windows in an IANA zone (the plugin's calendar quotas reset at local midnight) ---

/** The zone's offset from UTC at instant `t`, in ms. */
function offsetMs(timeZone: string, t: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(t / 1000) * 1000;
}

/** The local calendar date (month 0-based) at instant `t`. */
function localDate(timeZone: string, t: number): { year: number; month: number; day: number } {
  const local = new Date(t + offsetMs(timeZone, t));
  return { year: local.getUTCFullYear(), month: local.getUTCMonth(), day: local.getUTCDate() };
}

/** The instant of local midnight on year-month-day (overflowing months/days roll over, as Date.UTC does). */
function localMidnight(timeZone: string, year: number, month: number, day: number): number {
  const wall = Date.UTC(year, month, day);
  let t = wall;
  for (let i = 0; i < 3; i++) t = wall - offsetMs(timeZone, t);
  return t;
}

/** [start, end) of the calendar day or month containing `now` (billing anchor day 1, as kong.yml's demo). */
export function calendarWindow(period: 'day' | 'month', timeZone: string, now = Date.now()): { start: number; end: number } {
  const { year, month, day } = localDate(timeZone, now);
  if (period === 'day') return { start: localMidnight(timeZone, year, month, day), end: localMidnight(timeZone, year, month, day + 1) };
  return { start: localMidnight(timeZone, year, month, 1), end: localMidnight(timeZone, year, month + 1, 1) };
}
