import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // In CI a failed test is tried once more: the end-to-end tests run real processes against real
    // timeouts on a small, shared machine. A test that fails twice fails the run.
    retry: process.env.CI ? 1 : 0,
    // The SDK's notice that its 2027 releases need Node 22 would repeat in every test process.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
