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
  },
});
