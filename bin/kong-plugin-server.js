#!/usr/bin/env node
'use strict';
// Drop-in for kong-pdk's kong-js-pluginserver (same flags); see shared/server/cli.ts.
require('../dist/shared/server/cli.js').main().catch((err) => {
  process.stderr.write(`kong-plugin-server: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
