import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GUARD_HOST, guardChunksDir, luaLiteral, type GuardOutcome } from '../../../devkit/emulator/lua-guard';

export { luaLiteral, type GuardOutcome };

/** Runs plugins/pii-masking/kong/guard-*.lua once with luajit against the emulator's stand-in for kong/ngx. */
export function runGuard(scenario: Record<string, unknown>): GuardOutcome {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pii-guard-'));
  try {
    const script = path.join(dir, 'run.lua');
    fs.writeFileSync(script, `local run = dofile(${luaLiteral(GUARD_HOST)})\nio.write(run(${luaLiteral(scenario)}, ${luaLiteral(guardChunksDir())}))\n`);
    return JSON.parse(execFileSync('luajit', [script], { encoding: 'utf8', timeout: 10_000 })) as GuardOutcome;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
