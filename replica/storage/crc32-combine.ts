// crc32Combine: the CRC-32 (zlib's) of two byte strings back to back from
// the CRC-32 of each and the second one's length, without the bytes. A
// snapshot file's checksum covers its head and then its data, but a streamed
// snapshot's head (which holds the data's length) is known only after its
// data was written and checksummed. The method is zlib's crc32_combine:
// appending n zero bits to a message is a linear map of its CRC over GF(2),
// applied by repeated squaring of the one-zero-bit operator.
// Pure arithmetic; must never read or allocate more than its 32-word tables.

/** The reflected CRC-32 polynomial (zlib's). */
const POLY = 0xedb88320;

/** times multiplies the 32x32 bit matrix `mat` by the vector `vec`. */
function times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

/** square sets `out` to `mat` times itself. */
function square(out: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) out[n] = times(mat, mat[n]);
}

/**
 * crc32Combine returns crc32(A ++ B) given crc32(A), crc32(B) and B's length
 * in bytes (a non-negative safe integer), as zlib.crc32 computes them.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`crc32Combine: length must be a non-negative safe integer, got ${lengthB}`);
  if (lengthB === 0) return crcA >>> 0;
  let even = new Uint32Array(32);
  let odd = new Uint32Array(32);
  // The operator for one zero bit, then two, then four.
  odd[0] = POLY;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  square(even, odd);
  square(odd, even);
  let crc = crcA >>> 0;
  let len = lengthB;
  // Apply the operator for each set bit of the length in bytes (8 bits each, the first squaring).
  for (;;) {
    square(even, odd);
    if (len % 2 === 1) crc = times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    [even, odd] = [odd, even];
  }
  return (crc ^ crcB) >>> 0;
}
