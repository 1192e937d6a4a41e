#!/usr/bin/env node
'use strict';
// Which consumers still call deprecated API versions; see plugins/version-deprecation/usage-cli.ts.
require('../dist/plugins/version-deprecation/usage-cli.js')
  .main()
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`version-usage: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
