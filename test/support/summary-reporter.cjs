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
      process.stdout.write(line + '\n');
      if (process.env.DYNAMO_TEST_SUMMARY) fs.writeFileSync(process.env.DYNAMO_TEST_SUMMARY, line + '\n');
    });
  }
}
module.exports = SummaryReporter;
