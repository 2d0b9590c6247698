/**
 * Types for @nxtedition/rocksdb, which ships none: only the abstract-level (v1)
 * surface that lib/storage uses.
 */
declare module '@nxtedition/rocksdb' {
  export class RocksLevel {
    constructor(location: string, options?: { readonly keyEncoding?: string; readonly valueEncoding?: string });
    open(): Promise<void>;
    close(): Promise<void>;
    /** abstract-level v1: rejects with code LEVEL_NOT_FOUND for a missing key. */
    get(key: Uint8Array): Promise<Uint8Array | undefined>;
    /** Missing keys come back as undefined (no LEVEL_NOT_FOUND). */
    getMany(keys: Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
    /** Internal synchronous multi-get of the binding (no encodings applied). */
    _getManySync(keys: Uint8Array[], options: object): Array<Uint8Array | undefined>;
    batch(
      ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }>,
      options?: { sync?: boolean },
    ): Promise<void>;
    iterator(options: { gte?: Uint8Array; lt?: Uint8Array }): {
      nextv(size: number): Promise<Array<[Uint8Array, Uint8Array]>>;
      close(): Promise<void>;
    };
  }
}
