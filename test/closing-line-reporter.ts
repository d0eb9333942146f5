/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, after vitest's own
 * summary, so CI logs state the count in a form any reader (or script) recognises. A file that
 * failed outside its tests (a beforeAll, an import) leaves its tests skipped, not failed: the
 * line names those files too, or it would read "0 failed" for a failed run.
 */
import type { SerializedError } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const failedOutside: string[] = [];
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      failed += failedHere;
      const suiteFailed = [...module.children.allSuites()].some((suite) => suite.state() === 'failed');
      if (failedHere === 0 && (module.state() === 'failed' || suiteFailed)) failedOutside.push(module.relativeModuleId);
    }
    const outside = failedOutside.length > 0 ? `; ${failedOutside.length} file(s) failed outside their tests (a hook or an import): ${failedOutside.join(', ')}` : '';
    const unhandled = unhandledErrors.length > 0 ? `; ${unhandledErrors.length} unhandled error(s)` : '';
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped${outside}${unhandled}\n`);
  }
}
