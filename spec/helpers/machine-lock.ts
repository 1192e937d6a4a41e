import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One cross-worker mutex for specs that either saturate the cores (the CPU-burner exactness run) or need the
 * machine to themselves (the leak spec: a fixed event count against a timeout, memory read between halves). Jest
 * runs two workers: a CI run once had the leak spec overlap the burners and go ~10x slower than alone, past its
 * timeout. Holders never overlap each other; every other spec still runs beside them. A lock left by a dead process
 * (a killed run) or by an earlier spec of this same worker is taken over.
 */
const LOCK_DIR = path.join(os.tmpdir(), 'kong-plugin-suite-machine.lock');
const OWNER_FILE = path.join(LOCK_DIR, 'owner');

function ownerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(OWNER_FILE, 'utf8'));
  } catch {
    return true; // being created this instant: its maker writes the owner next
  }
  // this very process: a spec of this worker that never released (its afterAll did not run) must not block the next
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(): boolean {
  try {
    fs.mkdirSync(LOCK_DIR);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!ownerAlive()) fs.rmSync(LOCK_DIR, { recursive: true, force: true });
    return false;
  }
  fs.writeFileSync(OWNER_FILE, String(process.pid));
  return true;
}

/** Waits (polling) until this process holds the machine; returns the release function. */
export async function holdMachine(maxWaitMs = 600_000): Promise<() => void> {
  const deadline = Date.now() + maxWaitMs;
  while (!tryTake()) {
    if (Date.now() > deadline) throw new Error(`machine lock ${LOCK_DIR} still held after ${maxWaitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return () => fs.rmSync(LOCK_DIR, { recursive: true, force: true });
}
