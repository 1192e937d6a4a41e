#!/usr/bin/env node
'use strict';
// Show or reset a tenant's tenant-quota usage in Redis; see plugins/tenant-quota/usage-cli.ts.
require('../dist/plugins/tenant-quota/usage-cli.js')
  .main()
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`tenant-usage: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
