#!/usr/bin/env node
'use strict';
// `npm run reliability`: the reliability suite in full mode (RELIABILITY_FULL=1: minutes of load per phase, 25x the
// fuzz runs), one spec file at a time so the load phases do not share the CPU with each other. The figures each spec
// records go to .tmp/reliability-<date>.jsonl and are printed at the end with the date and the machine, for the
// README's reliability section. Extra arguments go to jest (e.g. a file name to run one spec).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const report = path.join(root, '.tmp', `reliability-${stamp}.jsonl`);
fs.mkdirSync(path.dirname(report), { recursive: true });
const env = { ...process.env, RELIABILITY_FULL: '1', RELIABILITY_REPORT: report };
const args = ['jest', '--runInBand', '--testTimeout', '1800000', ...(process.argv.length > 2 ? process.argv.slice(2) : ['spec/30-reliability'])];
const run = spawnSync('npx', args, { cwd: root, env, stdio: 'inherit' });

const cpus = os.cpus();
process.stdout.write(`\nReliability figures (${new Date().toISOString().slice(0, 10)}, ${cpus.length} x ${cpus[0] ? cpus[0].model.trim() : 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version})\n`);
if (fs.existsSync(report)) {
  for (const line of fs.readFileSync(report, 'utf8').split('\n').filter(Boolean)) process.stdout.write(line + '\n');
  process.stdout.write(`(also in ${path.relative(root, report)})\n`);
}
process.exit(run.status ?? 1);
