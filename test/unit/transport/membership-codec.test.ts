import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { decodeMembershipPacket, decodeRingState, encodeMembershipPacket, encodeRingState } from '../../../lib/transport/membership-codec.ts';
import { ALL_PACKETS, RING_STATE } from './fixtures.ts';

describe('transport/membership-codec', () => {
  it('round-trips every packet kind and a ring state exactly', () => {
    for (const p of ALL_PACKETS) expect(decodeMembershipPacket(encodeMembershipPacket(p)), p.type).to.deep.equal(p);
    expect(decodeRingState(encodeRingState(RING_STATE))).to.deep.equal(RING_STATE);
  });

  it('refuses packets and ring states that are not well-formed, naming what is wrong', () => {
    expect(() => decodeMembershipPacket(new Uint8Array(0))).to.throw(InvalidArgumentError, /malformed membership message: (no packet body|from is empty)/);
    const noFrom = encodeMembershipPacket({ ...ALL_PACKETS[0]!, from: '' } as never);
    expect(() => decodeMembershipPacket(noFrom)).to.throw(InvalidArgumentError, /from is empty/);
    expect(() => decodeRingState(encodeRingState({ ...RING_STATE, owners: ['n1'] }))).to.throw(InvalidArgumentError, /names 1 owners for 4 partitions/);
    expect(() => decodeRingState(encodeRingState({ ...RING_STATE, owners: ['n1', 'n2', 'n3', 'zz'] }))).to.throw(InvalidArgumentError, /owner "zz" is not a member/);
    expect(() => decodeRingState(encodeRingState({ ...RING_STATE, moving: [{ partition: 9, holders: [] }] }))).to.throw(InvalidArgumentError, /out of range/);
  });

  it('decoding arbitrary or damaged bytes throws nothing but InvalidArgumentError', () => {
    const samples = ALL_PACKETS.map((p) => encodeMembershipPacket(p));
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }), (which, at, byte, random) => {
        const good = [...samples[which % samples.length]!];
        good[at % good.length] = byte;
        for (const bytes of [Uint8Array.from(good), random, Uint8Array.from(good.slice(0, at % good.length))]) {
          try {
            decodeMembershipPacket(bytes);
          } catch (e) {
            expect(e).to.be.instanceOf(InvalidArgumentError);
          }
          try {
            decodeRingState(bytes);
          } catch (e) {
            expect(e).to.be.instanceOf(InvalidArgumentError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
