import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Browser end-to-end specs (test/e2e/*.spec.ts) run under Playwright, not here.
    exclude: ['test/e2e/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores in CI: keep the heavier integration files from fighting over them.
    maxWorkers: 2,
    allowOnly: false,
  },
});
