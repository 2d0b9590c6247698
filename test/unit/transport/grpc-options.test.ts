import { expect } from 'chai';
import { CHANNELZ_OFF, PEER_CHANNEL_OPTIONS, SERVER_OPTIONS } from '../../../lib/transport/grpc-options.ts';

describe('transport gRPC options', function () {
  it('turns channelz off on the server and on peer channels (per-call bookkeeping nothing reads)', function () {
    expect(CHANNELZ_OFF).to.deep.equal({ 'grpc.enable_channelz': 0 });
    expect(SERVER_OPTIONS['grpc.enable_channelz']).to.equal(0);
    expect(PEER_CHANNEL_OPTIONS['grpc.enable_channelz']).to.equal(0);
  });
});
