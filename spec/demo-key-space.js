// The tests must never touch a running dev gateway's state: kong.yml's plugins keep their counters on
// 127.0.0.1:6379 under kong.yml's key prefixes (tqdemo, tqtenant, ...), and `npm start` serves them there.
// globalSetup snapshots every key under those prefixes (value digest + TTL), globalTeardown compares: a key that
// is new, changed, or gone before its TTL ran out fails the run, naming the keys. (A dev gateway serving requests
// during the run changes them too: KONG_TESTS_SKIP_DEMO_KEY_CHECK=1 skips the check then.)
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');
const Redis = require('ioredis');

const KONG_YML = path.join(__dirname, '..', 'kong.yml');

/** Every key_prefix value in kong.yml's plugin configs. */
function demoPrefixes(file = KONG_YML) {
  const found = new Set();
  const visit = (node) => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'key_prefix' && typeof value === 'string') found.add(value);
      else visit(value);
    }
  };
  visit(YAML.parse(fs.readFileSync(file, 'utf8')));
  return [...found].sort();
}

async function snapshot(prefixes, redis) {
  const keys = new Map();
  for (const prefix of prefixes) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) {
        const [dump, pttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
        if (dump) keys.set(key, { digest: createHash('sha1').update(dump).digest('hex'), pttl });
      }
    } while (cursor !== '0');
  }
  return { at: Date.now(), keys };
}

function connect() {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  return redis;
}

async function take() {
  if (process.env.KONG_TESTS_SKIP_DEMO_KEY_CHECK === '1') return undefined;
  const redis = connect();
  try {
    await redis.connect();
    return { prefixes: demoPrefixes(), ...(await snapshot(demoPrefixes(), redis)) };
  } catch {
    return undefined; // no Redis: nothing to protect
  } finally {
    redis.disconnect();
  }
}

/** What changed between two snapshots, as lines; a key gone once its TTL ran out is not a change. */
function differences(before, after, slackMs = 2000) {
  const lines = [];
  for (const [key, now] of after.keys) {
    const was = before.keys.get(key);
    if (!was) lines.push(`${key}: created`);
    else if (was.digest !== now.digest) lines.push(`${key}: changed`);
  }
  for (const [key, was] of before.keys) {
    if (after.keys.has(key)) continue;
    const expired = was.pttl >= 0 && was.pttl <= after.at - before.at + slackMs;
    if (!expired) lines.push(`${key}: deleted (TTL ${was.pttl} ms)`);
  }
  return lines;
}

async function check(before) {
  if (!before) return;
  const after = await take();
  if (!after) return;
  const changed = differences(before, after);
  if (changed.length === 0) return;
  throw new Error(
    `the tests touched kong.yml's demo keys on 127.0.0.1:6379 (prefixes ${before.prefixes.join(', ')}), where a dev gateway keeps its state:\n` +
      changed.slice(0, 20).map((line) => `  ${line}`).join('\n') +
      (changed.length > 20 ? `\n  ... and ${changed.length - 20} more` : '') +
      '\nTests must use their own prefix or a private redis-server (spec/helpers/redis-servers.ts, configWithRedis in spec/20-e2e/target.ts).' +
      '\n(A dev gateway that served requests during the run changes them too: KONG_TESTS_SKIP_DEMO_KEY_CHECK=1 skips this check.)',
  );
}

module.exports = { demoPrefixes, snapshot, differences, take, check };
