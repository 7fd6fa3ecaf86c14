import { defineConfig } from 'vitest/config';

// One run covers every workspace. Integration tests share the real NATS and
// MongoDB-wire servers that test/global-setup.ts finds or provisions once.
export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    pool: 'forks',
    // 2-core machine: real servers and GramJS clients; keep parallelism modest.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
