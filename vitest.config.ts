import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in parallel; lab tests drive the one virtual lab (root, network
// namespaces, sshd) and so run one file at a time.
export default defineConfig({
  test: {
    reporters: ['default', './test/closing-line-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'lab',
          // e2e/: Playwright (playwright-core, Debian's Chromium) against `tcplab web` on the same
          // virtual lab, so it shares the lab's lock and its bring-up.
          include: ['test/lab/**/*.test.ts', 'e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
