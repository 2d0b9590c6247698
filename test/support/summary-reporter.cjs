// Mocha reporter: the usual spec output, then one plain line
// "tests: N passed, N failed" (what CI reads). When DYNAMO_TEST_SUMMARY names
// a file, the same line is written there so .ci/run can repeat it last.
'use strict';
const fs = require('node:fs');
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures } = runner.stats;
      const line = `tests: ${passes} passed, ${failures} failed`;
      // Under .ci/run the script prints the line last itself; print it here only otherwise.
      if (process.env.DYNAMO_TEST_SUMMARY) fs.writeFileSync(process.env.DYNAMO_TEST_SUMMARY, line + '\n');
      else process.stdout.write(line + '\n');
    });
  }
}
module.exports = SummaryReporter;
