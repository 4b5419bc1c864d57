// Prints the line CI reads at the very end of a run: "N passed, N failed".
// A skipped test counts as failed (every test must run in CI), and so does
// a test file that could not be loaded at all.
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = errors.length;
    for (const m of modules) {
      let tests = 0;
      for (const t of m.children.allTests()) {
        tests++;
        if (t.result().state === 'passed') passed++;
        else failed++;
      }
      if (tests === 0 || m.errors().length) failed += Math.max(1, m.errors().length);
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
  }
}
