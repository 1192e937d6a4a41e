import type { DemoUpstream } from './demo-upstream';
import { jsonApi } from './json-api';
import { piiSamples } from './pii-samples';
import { soapServices } from './soap-services';

/** Every demo upstream the dev gateway starts (one import + one entry per upstream). */
export const demoUpstreams: DemoUpstream[] = [jsonApi, piiSamples, soapServices];
