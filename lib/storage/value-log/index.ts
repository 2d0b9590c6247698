/**
 * value-log: large data records kept out of the LSM tree (WiscKey). What the
 * storage needs: the log itself, its settings, and the pointer tag that no
 * record may begin with.
 */
export { ValueLog, VALUE_LOG_STATS_NONE, type CurrentValues, type ValueLogHost, type ValueLogStats } from './value-log.ts';
export { type ValueLogSettings, valueLogConfig, VALUE_LOG_MIN_BYTES_DEFAULT } from './config.ts';
export { POINTER_TAG, SUMMARY_POINTER_TAG, VALUE_LOG_META_PREFIX, isPointer, pointerSummary } from './segment-format.ts';
