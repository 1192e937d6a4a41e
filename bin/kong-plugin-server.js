#!/usr/bin/env node
'use strict';
// Drop-in for kong-pdk's kong-js-pluginserver (same flags); see shared/server/cli.ts.
require('../dist/shared/server/cli.js').main().catch((err) => {
  const verbose = process.argv.includes('-v') || process.argv.includes('--verbose');
  process.stderr.write(`kong-plugin-server: ${verbose && err && err.stack ? err.stack : err && err.message ? err.message : err}\n`);
  process.exit(1);
});
