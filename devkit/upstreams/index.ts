import type { DemoUpstream } from './demo-upstream';

/** Every demo upstream the dev gateway starts (one import + one entry per upstream). */
export const demoUpstreams: DemoUpstream[] = [];
