#!/usr/bin/env node
'use strict';
// `kong-plugins validate [kong.yml]`, `kong-plugins istio generate|check`: see devkit/validate/cli.ts and devkit/istio/cli.ts.
require('../dist/devkit/validate/cli.js')
  .main()
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`kong-plugins: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  });
