import { configDefaults, defineConfig } from 'vitest/config';

/** End-to-end tests that replay recorded sessions and so need neither root nor the virtual lab. */
const REPLAY_E2E = ['e2e/timeline.e2e.test.ts'];

// Three projects: unit tests run in parallel; e2e replays recorded runs in Chromium; lab tests drive the one virtual lab (root, network
// namespaces, sshd) and so run one file at a time.
export default defineConfig({
  test: {
    reporters: ['default', './test/closing-line-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Several unit files run the real `tcplab` command (a process through tsx): seconds each
          // on a loaded 2-core machine. A deadline, not a performance claim.
          testTimeout: 20_000,
        },
      },
      {
        // Playwright against `tcplab web --replay` of recorded sessions: no root, no lab. One
        // Chromium at a time (the machines have two cores).
        test: {
          name: 'e2e',
          include: REPLAY_E2E,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'lab',
          // e2e/: Playwright (playwright-core, Debian's Chromium) against `tcplab web` on the same
          // virtual lab, so it shares the lab's lock and its bring-up.
          include: ['test/lab/**/*.test.ts', 'e2e/**/*.e2e.test.ts'],
          exclude: [...REPLAY_E2E, ...configDefaults.exclude],
          globalSetup: ['test/lab/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
