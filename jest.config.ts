/** @jest-config-loader-options {"transpileOnly": true, "compilerOptions": {"module": "CommonJS", "moduleResolution": "Node10"}} */
import type { Config } from 'jest';

// NestJS 12 is ESM-only, so the suite runs as native ESM (`--experimental-vm-modules`, see the
// `test` script) and ts-jest transpiles each file in isolation: type errors are caught by
// `npm run build` and `npm run lint`, which keeps the test run fast.
const config: Config = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  testTimeout: 20000,
  maxWorkers: 2,
};

export default config;
