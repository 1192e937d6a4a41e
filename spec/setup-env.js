// Quiet in-process logs during tests; spawned plugin servers keep logging (tests read their stderr).
if (!process.env.KONG_PLUGINS_LOG_LEVEL) process.env.KONG_PLUGINS_LOG_LEVEL = 'silent';

// Under c8 (NODE_V8_COVERAGE) V8 keeps block counts for every function of this jest worker, which slows hot loops
// ~1.8x (the adversarial pii spec: 543 s of a 715 s CI run). What c8 measures is dist/plugins and dist/shared run by
// the processes the tests start (plugin servers, CLIs, the dev gateway): they inherit NODE_V8_COVERAGE and keep
// counting. The worker runs the TypeScript sources through ts-jest, which the report does not include.
// Once per worker (a second stopCoverage makes Node print an error at exit; Node prints "'result' from coverage
// profile response is not an object" once at a worker's exit all the same, harmless); jest gives each test file its own
// `process` object, but core modules are the worker's own.
const v8 = require('node:v8');
const stopped = Symbol.for('kong-plugin-suite.worker-coverage-stopped');
if (process.env.NODE_V8_COVERAGE && !v8[stopped]) {
  v8[stopped] = true;
  v8.stopCoverage();
}
