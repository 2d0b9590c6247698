import { expect } from 'chai';
import { resolveNodeConfig } from '../../../lib/config/index.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { FLOW_CONTROL_WINDOW_BYTES } from '../../../lib/transport/index.ts';

const env = { DYNAMO_ID: 'n1' };

describe('config: HTTP/2 receive window of the server', () => {
  it("defaults to the window the transport's clients advertise (8 MiB)", () => {
    expect(resolveNodeConfig({}, env).receiveWindowBytes).to.equal(FLOW_CONTROL_WINDOW_BYTES).and.to.equal(8 * 1024 * 1024);
  });

  it("takes --receive-window-bytes or DYNAMO_RECEIVE_WINDOW_BYTES, down to HTTP/2's default", () => {
    expect(resolveNodeConfig({ receiveWindowBytes: '1048576' }, env).receiveWindowBytes).to.equal(1_048_576);
    expect(resolveNodeConfig({}, { ...env, DYNAMO_RECEIVE_WINDOW_BYTES: '65535' }).receiveWindowBytes).to.equal(65_535);
  });

  it('refuses a window HTTP/2 cannot have, naming the flag', () => {
    for (const bad of ['65534', '2147483648', '1e6', '']) {
      expect(() => resolveNodeConfig({ receiveWindowBytes: bad }, env), bad).to.throw(InvalidArgumentError, /--receive-window-bytes \(DYNAMO_RECEIVE_WINDOW_BYTES\)/);
    }
  });
});
