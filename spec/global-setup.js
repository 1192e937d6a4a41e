// Tests need Redis on 127.0.0.1:6379: start redis-server when it is installed but not answering.
const net = require('node:net');
const { spawnSync } = require('node:child_process');
const { take } = require('./demo-key-space');

function redisAnswers() {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port: 6379 });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

module.exports = async function globalSetup() {
  await ensureRedis();
  // kong.yml's demo keys before any test runs; globalTeardown fails the run when a test touched them
  globalThis.__demoKeySpace = await take();
};

async function ensureRedis() {
  if (await redisAnswers()) return;
  const started = spawnSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no']);
  if (started.error) {
    process.stderr.write('redis-server is not installed and 127.0.0.1:6379 does not answer: Redis tests will fail\n');
    return;
  }
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write('redis-server did not answer after starting\n');
}
