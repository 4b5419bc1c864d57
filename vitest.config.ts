import { defineConfig } from 'vitest/config';

// Integration tests build network namespaces and run gateways with real
// worker threads on a two-core machine: files run one after another, each
// in its own process (the addon's native state stays per process).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
