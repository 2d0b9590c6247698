/**
 * Value-log settings: which records go to the log, how large a segment grows,
 * and when GC compacts one. Defaults and validation (InvalidArgumentError
 * naming the field), applied when a storage is constructed.
 */
import { InvalidArgumentError } from '../../runtime/index.ts';

export interface ValueLogSettings {
  /**
   * Data records at least this many bytes long are kept in the value log and
   * the engine stores a 21-byte pointer; 0 turns the log off for new writes
   * (records already in it still read). Disk engines only.
   */
  readonly valueLogMinBytes?: number;
  /** A segment file is sealed once it holds this many bytes. */
  readonly valueLogSegmentBytes?: number;
  /** GC compacts a sealed segment whose live bytes fall below this share of its size, in [0, 1]. */
  readonly valueLogGcLiveRatio?: number;
}

export interface ValueLogConfig {
  readonly minBytes: number;
  readonly segmentBytes: number;
  readonly gcLiveRatio: number;
}

/**
 * 8 KiB: below it a record costs the LSM tree little to rewrite and a pointer
 * plus a second read would cost more than it saves (WiscKey measured the gain
 * from about 4 KiB values up; LevelDB's block is 4 KiB).
 */
export const VALUE_LOG_MIN_BYTES_DEFAULT = 8192;
/** 64 MiB: few files, and GC of one takes about a second of sequential I/O. */
export const VALUE_LOG_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** GC a segment once half of it is garbage: space amplification stays under 2x, each GC byte frees a byte. */
export const VALUE_LOG_GC_LIVE_RATIO_DEFAULT = 0.5;

/** The settings with defaults filled in; throws InvalidArgumentError naming a bad field. */
export function valueLogConfig(s: ValueLogSettings): ValueLogConfig {
  const minBytes = s.valueLogMinBytes ?? VALUE_LOG_MIN_BYTES_DEFAULT;
  const segmentBytes = s.valueLogSegmentBytes ?? VALUE_LOG_SEGMENT_BYTES_DEFAULT;
  const gcLiveRatio = s.valueLogGcLiveRatio ?? VALUE_LOG_GC_LIVE_RATIO_DEFAULT;
  if (!Number.isSafeInteger(minBytes) || minBytes < 0) throw new InvalidArgumentError(`valueLogMinBytes must be an integer >= 0, got ${minBytes}`);
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) throw new InvalidArgumentError(`valueLogSegmentBytes must be an integer >= 1, got ${segmentBytes}`);
  if (!(gcLiveRatio >= 0 && gcLiveRatio <= 1)) throw new InvalidArgumentError(`valueLogGcLiveRatio must be in [0, 1], got ${gcLiveRatio}`);
  return { minBytes, segmentBytes, gcLiveRatio };
}
