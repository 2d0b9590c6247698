/**
 * Minimal types for murmurhash3js-revisited 3.x (the package ships none).
 * Only the function the ring pins is declared. The package is CommonJS
 * (`module.exports = library`), so ESM sees the library as the default export.
 */
declare module 'murmurhash3js-revisited' {
  interface MurmurHash3 {
    readonly x86: {
      /**
       * MurmurHash3_x86_32 of `bytes` with `seed`, as an unsigned 32-bit integer.
       * Returns undefined only when input validation is on and `bytes` holds a non-byte.
       */
      hash32(bytes: Uint8Array | readonly number[], seed?: number): number | undefined;
    };
  }
  const murmur: MurmurHash3;
  export default murmur;
}
