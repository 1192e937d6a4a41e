/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  rootDir: '.',
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  maxWorkers: 2,
  setupFiles: ['<rootDir>/spec/setup-env.js'],
  globalSetup: '<rootDir>/spec/global-setup.js',
  globalTeardown: '<rootDir>/spec/global-teardown.js',
};
