// Mocha reporter: the usual spec output, then the names of skipped (pending)
// tests, then one plain line "tests: N passed, N failed, N skipped" (what CI
// reads). When DYNAMO_TEST_SUMMARY names a file, the closing line is written
// there so .ci/run can repeat it last; the skipped list is printed either way,
// so a test that silently skips itself is visible.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const skipped = [];
    runner.on(EVENT_TEST_PENDING, (test) => skipped.push(test.fullTitle()));
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures } = runner.stats;
      if (skipped.length > 0) {
        process.stdout.write(`skipped tests (${skipped.length}):\n`);
        for (const title of skipped) process.stdout.write(`  - ${title}\n`);
      }
      const line = `tests: ${passes} passed, ${failures} failed, ${skipped.length} skipped`;
      // Under .ci/run the script prints the line last itself; print it here only otherwise.
      if (process.env.DYNAMO_TEST_SUMMARY) fs.writeFileSync(process.env.DYNAMO_TEST_SUMMARY, line + '\n');
      else process.stdout.write(line + '\n');
    });
  }
}
module.exports = SummaryReporter;
