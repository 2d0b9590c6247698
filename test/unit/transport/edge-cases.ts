/**
 * Requests the KV edge must refuse with INVALID_ARGUMENT (and the exact
 * message), shared by the unary and the Session tests: a Session entry is
 * validated exactly like its unary twin. A Buffer request is sent as raw bytes.
 */
const huge = (n: number): Buffer => Buffer.alloc(n, 1);

export const EDGE_CASES: readonly [what: string, method: 'Get' | 'Put' | 'Delete', request: object | Buffer, message: RegExp | string][] = [
  ['an empty key (Get)', 'Get', { key: Buffer.alloc(0) }, 'key must not be empty'],
  ['an empty key (Put)', 'Put', { value: Buffer.from('v') }, 'key must not be empty'],
  ['an empty key (Delete)', 'Delete', {}, 'key must not be empty'],
  ['a 2000-byte key', 'Get', { key: huge(2000) }, 'key is 2000 bytes; the limit is 1024'],
  ['a key one byte too long (Delete)', 'Delete', { key: huge(1025) }, 'key is 1025 bytes; the limit is 1024'],
  ['a value over 1 MiB', 'Put', { key: Buffer.from('k'), value: huge(1024 * 1024 + 1) }, 'value is 1048577 bytes; the limit is 1048576'],
  ['a context over 64 KiB (Put)', 'Put', { key: Buffer.from('k'), context: huge(65537) }, 'context is 65537 bytes; the limit is 65536'],
  ['a context over 64 KiB (Delete)', 'Delete', { key: Buffer.from('k'), context: huge(65537) }, 'context is 65537 bytes; the limit is 65536'],
  [
    'an undefined consistency number',
    'Get',
    { key: Buffer.from('k'), consistency: 42 },
    'consistency 42 is not a defined value; use one of CONSISTENCY_UNSPECIFIED (0), CONSISTENCY_ONE (1), CONSISTENCY_TWO (2), ' +
      'CONSISTENCY_THREE (3), CONSISTENCY_QUORUM (4), CONSISTENCY_ALL (5), CONSISTENCY_ANY (6)',
  ],
  ['bytes that are not a PutRequest', 'Put', Buffer.from([0x0a, 0x7f, 0x01]), /request does not decode as dynamo\.v1\.PutRequest/],
];
