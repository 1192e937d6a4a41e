import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/**
 * Offline checks of the CI definitions: every .github/workflows/*.yml against GitHub's workflow schema with
 * action-validator (a devDependency, no network), actions pinned to commits, and docker-compose.yml through
 * `docker compose config` when a compose CLI is installed (it needs no Docker engine).
 */

const ROOT = path.resolve(__dirname, '..', '..');
const WORKFLOWS = path.join(ROOT, '.github', 'workflows');
const VALIDATOR = path.join(ROOT, 'node_modules', '.bin', 'action-validator');
const TIMEOUT_MS = 20_000;

/** Actions whose commit could not be resolved offline here: allowed on their tag, with a comment saying to pin them. */
const UNPINNED: Record<string, string> = { 'kong/setup-deck@v1': 'decK installer; no mirror of kong/setup-deck was reachable to resolve v1 to a commit' };

const workflows = fs.existsSync(WORKFLOWS) ? fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

function validate(file: string) {
  const run = spawnSync(VALIDATOR, [file], { cwd: ROOT, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('GitHub workflows', () => {
  it('are the CI entry point, the real-Kong lane and the decK lane', () => {
    expect(workflows).toEqual(expect.arrayContaining(['ci.yml', 'deck.yml', 'kong-e2e.yml']));
  });

  it.each(workflows)('%s passes action-validator', (name) => {
    const result = validate(path.join(WORKFLOWS, name));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('action-validator fails a broken copy (so the checks above can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workflows-'));
    try {
      const broken = path.join(dir, 'kong-e2e.yml');
      const source = fs.readFileSync(path.join(WORKFLOWS, 'kong-e2e.yml'), 'utf8');
      expect(source).toMatch(/^ {4}runs-on: /m);
      fs.writeFileSync(broken, source.replace(/^ {4}runs-on: /m, '    runs_on: '));
      const result = validate(broken);
      expect(result.status).not.toBe(0);
      expect(result.output).toContain("Additional property 'runs_on' is not allowed");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(workflows)('%s pins every action to a commit (with the version in a comment)', (name) => {
    const text = fs.readFileSync(path.join(WORKFLOWS, name), 'utf8');
    const uses = [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(0);
    for (const [, ref, comment] of uses) {
      expect(comment).toMatch(/#\s*v\d+(\.\d+)*/);
      if (UNPINNED[ref]) {
        expect(comment).toContain('pin it');
        continue;
      }
      expect(ref).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
    }
  });

  it('kong-e2e builds the image, starts the compose stack, waits for Kong, runs npm run test:kong, dumps logs on failure and tears down', () => {
    const workflow = YAML.parse(fs.readFileSync(path.join(WORKFLOWS, 'kong-e2e.yml'), 'utf8'));
    const steps: Array<{ run?: string; if?: string }> = workflow.jobs['kong-e2e'].steps;
    const at = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s.run ?? ''));
    const order = [/docker build -f docker\/Dockerfile/, /docker compose up -d/, /\/status\/ready/, /npm run test:kong/].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(steps[at(/docker compose logs/)].if).toBe('failure()');
    expect(steps[at(/docker compose down/)].if).toBe('always()');
    expect(workflow.env.KONG_PROXY_URL).toBe('http://127.0.0.1:8000');
  });
});

describe('ci.yml: npm ci, Redis service, lint, tests (through .ci/run)', () => {
  const workflow = YAML.parse(fs.readFileSync(path.join(WORKFLOWS, 'ci.yml'), 'utf8'));
  const ciRun = fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8');

  it('runs on every push and pull request with a Redis service on 127.0.0.1:6379', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.jobs.test.services.redis.image).toMatch(/^redis:\d+\.\d+/);
    expect(workflow.jobs.test.services.redis.ports).toEqual(['127.0.0.1:6379:6379']);
  });

  it('installs what the tests need (redis-server binaries, prometheus) and runs bash .ci/run: npm ci, build, lint, npm test', () => {
    const steps: Array<{ run?: string }> = workflow.jobs.test.steps;
    expect(steps.some((s) => /apt-get install .*redis-server.*prometheus/.test(s.run ?? ''))).toBe(true);
    expect(steps[steps.length - 1].run).toBe('bash .ci/run');
    const order = ['npm ci', 'npm run build', 'npm run lint', 'npm test'].map((c) => ciRun.indexOf(c));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('deck.yml: on main, image, Kong with Postgres, kong-plugins validate, deck validate/diff/sync, smoke requests', () => {
  const workflow = YAML.parse(fs.readFileSync(path.join(WORKFLOWS, 'deck.yml'), 'utf8'));
  const steps: Array<{ run?: string; uses?: string; if?: string; with?: Record<string, unknown> }> = workflow.jobs.deck.steps;
  const at = (pattern: RegExp) => steps.findIndex((s) => pattern.test(s.run ?? s.uses ?? ''));

  it('runs on pushes to main (and by hand)', () => {
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(workflow.on.pull_request).toBeUndefined();
  });

  it('has the steps in order: validate offline first, then the image, Kong with Postgres, decK, smoke requests, an empty diff', () => {
    const order = [
      /npx kong-plugins validate kong\.yml/, /docker build -f docker\/Dockerfile/, /docker compose --profile deck up -d .*kong-pg/, /\/status\/ready/,
      /^kong\/setup-deck@/, /^deck gateway validate kong\.yml$/, /^deck gateway diff kong\.yml$/, /^deck gateway sync kong\.yml$/, /expect 200 .*\/demo\/health/,
      /deck gateway diff kong\.yml --non-zero-exit-code/,
    ].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(workflow.env.DECK_KONG_ADDR).toBe('http://127.0.0.1:18001');
  });

  it('pins the decK version and smoke-tests auth, the HTTPS redirect and the custom plugins', () => {
    expect(steps[at(/^kong\/setup-deck@/)].with?.['deck-version']).toMatch(/^\d+\.\d+\.\d+$/);
    const smoke = steps[at(/expect 200 .*\/demo\/health/)].run ?? '';
    for (const line of ['expect 401 "$KONG_PG_PROXY/tenant/key/anything"', 'expect 308 "$KONG_PG_PROXY/secure/orders"', 'expect 410 "$KONG_PG_PROXY/versioned/v0/anything"', "apikey: acme-demo-key"]) expect(smoke).toContain(line);
    // the key the smoke request sends is the one kong.yml gives the demo tenant
    expect(fs.readFileSync(path.join(ROOT, 'kong.yml'), 'utf8')).toContain('key: acme-demo-key-0123456789abcdef');
  });

  it('dumps the logs on failure and tears down always', () => {
    expect(steps[at(/docker compose --profile deck logs/)].if).toBe('failure()');
    expect(steps[at(/docker compose --profile deck down/)].if).toBe('always()');
  });
});

/** The first compose CLI that answers here: the v2 plugin (`docker compose`) or the standalone `docker-compose`. */
function composeCli(): { command: string; args: string[] } | undefined {
  for (const candidate of [{ command: 'docker', args: ['compose'] }, { command: 'docker-compose', args: [] }]) {
    const probe = spawnSync(candidate.command, [...candidate.args, 'version'], { encoding: 'utf8', timeout: TIMEOUT_MS });
    if (!probe.error && probe.status === 0) return candidate;
  }
  return undefined;
}

describe('docker-compose.yml', () => {
  const cli = composeCli();
  const check = cli ? it : it.skip;
  const title = cli
    ? `passes \`${[cli.command, ...cli.args].join(' ')} config\` (offline, no engine needed)`
    : 'passes `docker compose config` [SKIPPED: neither `docker compose` nor `docker-compose` is installed here (.ci/run installs Debian\'s docker-compose); the kong-e2e workflow runs it]';
  const config = (args: string[], file = path.join(ROOT, 'docker-compose.yml')) =>
    spawnSync(cli!.command, [...cli!.args, '-f', file, ...args], { cwd: ROOT, encoding: 'utf8', timeout: TIMEOUT_MS });

  check(title, () => {
    const run = config(['config', '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  check('with the deck profile: Postgres, migrations and Kong with Postgres resolve too', () => {
    const run = config(['--profile', 'deck', 'config', '--services']);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['demo-upstreams', 'demo-upstreams-pg', 'grafana', 'kong', 'kong-db', 'kong-migrations', 'kong-pg', 'otel-collector', 'prometheus', 'redis', 'redis-exporter', 'redis-pg', 'tempo'],
    );
  });

  check('the compose CLI fails a broken copy (so the check above can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-'));
    try {
      const broken = path.join(dir, 'docker-compose.yml');
      fs.writeFileSync(broken, fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8').replace('network_mode: service:kong', 'network_mode: service:no-such-service'));
      expect(config(['config', '--quiet'], broken).status).not.toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
