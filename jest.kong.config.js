/**
 * `npm run test:kong`: only the end-to-end suite (spec/20-e2e), against a running Kong at KONG_PROXY_URL
 * (default http://127.0.0.1:8000). No global setup: nothing local is started (no redis-server, no dev gateway).
 * @type {import('jest').Config}
 */
process.env.KONG_PROXY_URL = process.env.KONG_PROXY_URL || 'http://127.0.0.1:8000';

const base = require('./jest.config');

module.exports = {
  testEnvironment: base.testEnvironment,
  transform: base.transform,
  setupFiles: base.setupFiles,
  rootDir: '.',
  roots: ['<rootDir>/spec/20-e2e'],
  testMatch: ['**/*.spec.ts'],
  testTimeout: 30000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/spec/20-e2e/kong-global-setup.ts',
};
