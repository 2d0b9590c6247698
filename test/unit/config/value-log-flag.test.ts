import { expect } from 'chai';
import { resolveNodeConfig } from '../../../lib/config/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { VALUE_LOG_MIN_BYTES_DEFAULT } from '../../../lib/storage/index.ts';

const base = { DYNAMO_ID: 'n1' };

describe('config: value log threshold', () => {
  it("defaults to the storage's own threshold", () => {
    expect(resolveNodeConfig({}, base).valueLogMinBytes).to.equal(VALUE_LOG_MIN_BYTES_DEFAULT).and.to.equal(8192);
  });

  it('reads the flag or DYNAMO_VALUE_LOG_MIN_BYTES; 0 turns the log off', () => {
    expect(resolveNodeConfig({ valueLogMinBytes: '16384' }, base).valueLogMinBytes).to.equal(16384);
    expect(resolveNodeConfig({}, { ...base, DYNAMO_VALUE_LOG_MIN_BYTES: '0' }).valueLogMinBytes).to.equal(0);
  });

  it('refuses a negative or non-integer threshold, naming the flag', () => {
    for (const bad of ['-1', '1.5', 'big']) {
      expect(() => resolveNodeConfig({ valueLogMinBytes: bad }, base))
        .to.throw(InvalidArgumentError, /--value-log-min-bytes \(DYNAMO_VALUE_LOG_MIN_BYTES\)/);
    }
  });
});
