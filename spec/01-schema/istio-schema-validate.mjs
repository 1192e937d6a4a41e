// Validates Kubernetes/Istio objects (JSON array on stdin) against the registry packages' compiled schemas:
// @kubernetes-models/istio (Istio 1.29 CRD openAPIV3Schema) and kubernetes-models (Kubernetes OpenAPI). Both are
// ESM-only, hence this child process (jest runs the specs as CommonJS). Prints one result per object as JSON.
//
// The CRD schemas do not forbid unknown fields (the API server prunes them silently), so a typo would pass: every
// object is also handed to the validator through proxies that record which properties it reads. A property the
// schema never reads, in an object it never enumerates (maps such as labels are enumerated), is unknown.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const root = process.argv[2];
const objects = JSON.parse(fs.readFileSync(0, 'utf8'));

function schemaFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const camel = (s) => s.split(/[.-]/).map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
  if (group.endsWith('istio.io')) return path.join(root, 'node_modules/@kubernetes-models/istio/_schemas', `${camel(group)}${camel(version)}${kind}.js`);
  const k8sGroup = group === '' ? 'Core' : camel(group.replace(/\.k8s\.io$/, ''));
  return path.join(root, 'node_modules/kubernetes-models/_schemas', `IoK8sApi${k8sGroup}${camel(version)}${kind}.js`);
}

function traced(value, reads, enumerated, at) {
  if (value === null || typeof value !== 'object') return value;
  return new Proxy(value, {
    get(target, key) {
      if (typeof key === 'string') reads.add(`${at}/${key}`);
      const v = target[key];
      return typeof key === 'string' && v !== null && typeof v === 'object' ? traced(v, reads, enumerated, `${at}/${key}`) : v;
    },
    has(target, key) {
      if (typeof key === 'string') reads.add(`${at}/${key}`);
      return key in target;
    },
    ownKeys(target) {
      enumerated.add(at);
      return Reflect.ownKeys(target);
    },
  });
}

function unknownFields(value, reads, enumerated, at = '') {
  if (value === null || typeof value !== 'object') return [];
  const found = [];
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value);
  for (const key of keys) {
    const p = `${at}/${key}`;
    if (!Array.isArray(value) && !enumerated.has(at) && !reads.has(p)) found.push(p);
    else found.push(...unknownFields(value[key], reads, enumerated, p));
  }
  return found;
}

const results = [];
for (const { file, index, object } of objects) {
  const schema = schemaFile(object.apiVersion, object.kind);
  if (!fs.existsSync(schema)) {
    results.push({ file, index, errors: [`no schema for ${object.apiVersion} ${object.kind} in the registry packages`], unknown: [] });
    continue;
  }
  const { validate } = await import(pathToFileURL(schema).href);
  const reads = new Set();
  const enumerated = new Set();
  const ok = validate(traced(object, reads, enumerated, ''));
  const errors = ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
  results.push({ file, index, schema: path.basename(schema), errors, unknown: unknownFields(object, reads, enumerated) });
}
process.stdout.write(JSON.stringify(results));
