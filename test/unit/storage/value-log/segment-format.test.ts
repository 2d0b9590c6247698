import { expect } from 'chai';
import {
  decodeEntry, decodeLiveBytes, decodePointer, encodeEntryHeader, encodeLiveBytes, encodePointer, ENTRY_HEADER_BYTES,
  entryBytes, isPointer, liveCounterName, parseLiveCounterName, parseSegmentFileName, POINTER_BYTES, POINTER_TAG, pointerSummary, recordCrc,
  segmentFileName, SUMMARY_POINTER_TAG,
} from '../../../../lib/storage/value-log/segment-format.ts';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** header | key | record, as a segment holds it. */
function entry(key: Uint8Array, record: Uint8Array): Uint8Array {
  const header = encodeEntryHeader(key, record.length, recordCrc(record));
  const out = new Uint8Array(header.length + key.length + record.length);
  out.set(header, 0);
  out.set(key, header.length);
  out.set(record, header.length + key.length);
  return out;
}

describe('value-log segment format', function () {
  describe('entries', function () {
    const key = bytes(1, 0, 0, 0, 7, 0x61, 0x62);
    const record = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff);

    it('round-trips entries back to back, each at its offset', function () {
      const a = entry(key, record);
      const b = entry(bytes(1, 0, 0, 0, 0), bytes(1));
      const seg = new Uint8Array(a.length + b.length);
      seg.set(a, 0);
      seg.set(b, a.length);
      const first = decodeEntry(seg, 0);
      expect(first.kind).to.equal('entry');
      if (first.kind !== 'entry') return;
      expect(first.entry.key).to.deep.equal(key);
      expect(first.entry.record).to.deep.equal(record);
      expect(first.entry.bytes).to.equal(entryBytes(key.length, record.length)).and.to.equal(a.length);
      const second = decodeEntry(seg, a.length);
      expect(second.kind).to.equal('entry');
      if (second.kind === 'entry') expect([second.entry.key, second.entry.record]).to.deep.equal([bytes(1, 0, 0, 0, 0), bytes(1)]);
    });

    it('round-trips an empty key and an empty record', function () {
      const v = decodeEntry(entry(new Uint8Array(0), new Uint8Array(0)), 0);
      expect(v).to.deep.equal({ kind: 'entry', entry: { key: new Uint8Array(0), record: new Uint8Array(0), bytes: ENTRY_HEADER_BYTES } });
    });

    it('detects a flipped bit anywhere in an entry: magic, crc, lengths, key or record', function () {
      const good = entry(key, record);
      for (const at of [0, 3, 4, 7, 8, 11, 12, 15, ENTRY_HEADER_BYTES, ENTRY_HEADER_BYTES + key.length, good.length - 1]) {
        const bad = Uint8Array.from(good);
        bad[at]! ^= 0x10;
        const v = decodeEntry(bad, 0);
        // A corrupted length may also read as running past the buffer: either way, never an entry.
        expect(v.kind, `byte ${at}`).to.be.oneOf(['corrupt', 'truncated']);
        if (at < 4) expect(v).to.deep.equal({ kind: 'corrupt', reason: 'bad entry magic' });
        if (at >= ENTRY_HEADER_BYTES || (at >= 4 && at < 8)) expect(v).to.deep.equal({ kind: 'corrupt', reason: 'entry fails its checksum' });
      }
    });

    it('refuses an implausible key length instead of asking for gigabytes', function () {
      const bad = entry(key, record);
      new DataView(bad.buffer).setUint32(8, 0xffff_ffff);
      expect(decodeEntry(bad, 0)).to.deep.equal({ kind: 'corrupt', reason: 'entry key length 4294967295 is not plausible' });
    });

    it('reports truncated input with the bytes the entry needs', function () {
      const good = entry(key, record);
      expect(decodeEntry(good.subarray(0, 5), 0)).to.deep.equal({ kind: 'truncated', need: ENTRY_HEADER_BYTES });
      expect(decodeEntry(good.subarray(0, good.length - 1), 0)).to.deep.equal({ kind: 'truncated', need: good.length });
      expect(decodeEntry(good, good.length)).to.deep.equal({ kind: 'truncated', need: ENTRY_HEADER_BYTES });
      // A torn tail of zeros (a crash mid-append on some file systems) is not an entry.
      expect(decodeEntry(new Uint8Array(64), 0)).to.deep.equal({ kind: 'corrupt', reason: 'bad entry magic' });
    });
  });

  describe('pointers', function () {
    it('round-trip, offsets past 4 GiB included', function () {
      for (const p of [
        { segment: 1, offset: 0, length: 0, crc: 0 },
        { segment: 0xffff_fffe, offset: 2 ** 40 + 12345, length: 0xffff_ffff, crc: 0xdead_beef },
        { segment: 42, offset: 2 ** 53 - 1, length: 8192, crc: 1 },
      ]) {
        const encoded = encodePointer(p);
        expect(encoded.length).to.equal(POINTER_BYTES);
        expect(encoded[0]).to.equal(0xfe);
        expect(isPointer(encoded)).to.equal(true);
        expect(decodePointer(encoded)).to.deep.equal(p);
        // From a view at an offset, as engines may hand back.
        const padded = new Uint8Array(POINTER_BYTES + 3);
        padded.set(encoded, 3);
        expect(decodePointer(padded.subarray(3))).to.deep.equal(p);
      }
    });

    it('refuses malformed pointers: wrong tag, wrong length', function () {
      const good = encodePointer({ segment: 3, offset: 10, length: 20, crc: 30 });
      expect(decodePointer(good.subarray(0, POINTER_BYTES - 1))).to.equal(undefined);
      expect(decodePointer(Uint8Array.of(...good, 0))).to.equal(undefined);
      const retagged = Uint8Array.from(good);
      retagged[0] = 0x01;
      expect(decodePointer(retagged)).to.equal(undefined);
      expect(isPointer(retagged)).to.equal(false);
      expect(isPointer(new Uint8Array(0))).to.equal(false);
    });

    it('round-trip with a summary after them: tag 0xfd, the same pointer, exactly the summary bytes', function () {
      const summaries = [Uint8Array.of(0x01), Uint8Array.of(0x01, 0xfe, 0xfd, 0x00, 0xff), Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff)];
      for (const p of [{ segment: 1, offset: 0, length: 0, crc: 0 }, { segment: 0xffff_fffe, offset: 2 ** 40 + 12345, length: 0xffff_ffff, crc: 0xdead_beef }]) {
        for (const summary of summaries) {
          const encoded = encodePointer(p, summary);
          expect(encoded.length).to.equal(POINTER_BYTES + summary.length);
          expect(encoded[0]).to.equal(SUMMARY_POINTER_TAG).and.to.equal(0xfd);
          expect(isPointer(encoded)).to.equal(true);
          expect(decodePointer(encoded)).to.deep.equal(p);
          expect(pointerSummary(encoded)).to.deep.equal(summary);
          // The pointer part is the plain pointer's, bar the tag.
          expect(encoded.subarray(1, POINTER_BYTES)).to.deep.equal(encodePointer(p).subarray(1));
          // From a view at an offset, as engines may hand back.
          const padded = new Uint8Array(encoded.length + 5);
          padded.set(encoded, 3);
          const view = padded.subarray(3, 3 + encoded.length);
          expect(decodePointer(view)).to.deep.equal(p);
          expect(pointerSummary(view)).to.deep.equal(summary);
        }
      }
    });

    it('without a summary: tag 0xfe, 21 bytes, and no summary to find', function () {
      const p = { segment: 7, offset: 99, length: 1234, crc: 42 };
      for (const encoded of [encodePointer(p), encodePointer(p, undefined)]) {
        expect(encoded.length).to.equal(POINTER_BYTES);
        expect(encoded[0]).to.equal(POINTER_TAG).and.to.equal(0xfe);
        expect(isPointer(encoded)).to.equal(true);
        expect(decodePointer(encoded)).to.deep.equal(p);
        expect(pointerSummary(encoded)).to.equal(undefined);
      }
    });

    it('copies the summary: changing the caller\'s array afterwards changes nothing encoded', function () {
      const summary = Uint8Array.of(0x01, 2, 3);
      const encoded = encodePointer({ segment: 1, offset: 2, length: 3, crc: 4 }, summary);
      summary.fill(9);
      expect(pointerSummary(encoded)).to.deep.equal(Uint8Array.of(0x01, 2, 3));
    });

    it('refuses malformed summary pointers: a 0xfd row of exactly 21 bytes, or shorter; a 0xfe row with bytes after it', function () {
      const p = { segment: 3, offset: 10, length: 20, crc: 30 };
      const bare = Uint8Array.from(encodePointer(p));
      bare[0] = SUMMARY_POINTER_TAG;
      expect(bare.length).to.equal(21);
      expect(decodePointer(bare), 'a 0xfd row must carry a summary').to.equal(undefined);
      expect(pointerSummary(bare)).to.equal(undefined);
      expect(isPointer(bare), 'still a pointer by its tag, so never read as a record').to.equal(true);
      const withSummary = encodePointer(p, Uint8Array.of(0x01, 5));
      for (let n = 0; n < POINTER_BYTES; n++) expect(decodePointer(withSummary.subarray(0, n)), `${n} bytes`).to.equal(undefined);
      // The plain tag with trailing bytes is neither a pointer nor a summary.
      const plainPlus = Uint8Array.of(...encodePointer(p), 0x01, 5);
      expect(decodePointer(plainPlus)).to.equal(undefined);
      expect(pointerSummary(plainPlus)).to.equal(undefined);
      // A record that merely begins with 0x01 has no summary.
      expect(pointerSummary(Uint8Array.of(0x01, ...withSummary))).to.equal(undefined);
      expect(isPointer(Uint8Array.of(SUMMARY_POINTER_TAG))).to.equal(true);
    });

    it('carries the crc32 of the record (a known vector)', function () {
      expect(recordCrc(new TextEncoder().encode('123456789'))).to.equal(0xcbf43926);
    });
  });

  describe('names and counters', function () {
    it('names segment files with six digits at least and parses only those names', function () {
      expect(segmentFileName(1)).to.equal('000001.vlog');
      expect(segmentFileName(1234567)).to.equal('1234567.vlog');
      expect(parseSegmentFileName('000001.vlog')).to.equal(1);
      expect(parseSegmentFileName('1234567.vlog')).to.equal(1234567);
      for (const other of ['000000.vlog', '1.vlog', '000001.vlog.tmp', 'LOCK', 'x00001.vlog', '99999999999.vlog']) {
        expect(parseSegmentFileName(other), other).to.equal(undefined);
      }
    });

    it('round-trips live-byte counters and their names', function () {
      for (const n of [0, 1, 2 ** 32 + 5, 2 ** 53 - 1]) expect(decodeLiveBytes(encodeLiveBytes(n))).to.equal(n);
      expect(decodeLiveBytes(new Uint8Array(7))).to.equal(undefined);
      expect(parseLiveCounterName(liveCounterName(17))).to.equal(17);
      expect(parseLiveCounterName('valuelog/live/x')).to.equal(undefined);
      expect(parseLiveCounterName('epoch')).to.equal(undefined);
    });
  });
});
