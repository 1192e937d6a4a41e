// Fails the run when a test touched kong.yml's demo keys on the shared Redis (see demo-key-space.js).
const { check } = require('./demo-key-space');

module.exports = async function globalTeardown() {
  await check(globalThis.__demoKeySpace);
};
