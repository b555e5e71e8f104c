// Lays a delta image (snapshot.ts, version 2: every key, with only the
// revisions after the image it extends) onto the image it extends, giving
// the image an encode of the later state would have written, byte for byte:
// a whole image from a whole one, or one delta spanning two from two
// deltas. Works on the encoded bytes (each revision's encoding does not
// depend on what precedes it), so no value is decoded. Checks both
// checksums first and that the delta extends exactly this image; must never
// return an image the two do not make together.
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import { DELTA_FORMAT_VERSION } from './snapshot.ts';

const MAGIC = 'RKVS';
const WHOLE_FORMAT_VERSION = 1;

/** ImageHead is what mergeImages reads of an image before its keys. */
interface ImageHead {
  version: number;
  /** a delta's base revision (0 for a whole image) */
  baseRevision: number;
  currentRevision: number;
  compactPlusOne: number;
  /** where appliedIndex starts and the key count starts: the bytes between are copied as they are */
  fieldsStart: number;
  fieldsEnd: number;
  keyCount: number;
  /** where the first key starts */
  keysStart: number;
  /** where the checksum starts */
  end: number;
}

class Cursor {
  readonly buf: Buffer;
  pos: number;
  private readonly end: number;
  private readonly what: string;

  constructor(buf: Buffer, start: number, end: number, what: string) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.what = what;
  }

  fail(problem: string): never {
    throw new Error(`kv snapshot: ${this.what}: ${problem}`);
  }

  uvarint(field: string): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) this.fail(`truncated while reading ${field}`);
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    return this.fail(`${field} is not a valid integer`);
  }

  skip(n: number, field: string): void {
    if (n > this.end - this.pos) this.fail(`truncated while reading ${field}`);
    this.pos += n;
  }
}

function readHead(buf: Buffer, what: string): ImageHead {
  if (buf.length < MAGIC.length + 1 + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new Error(`kv snapshot: ${what} is not a replicant KV snapshot`);
  }
  const end = buf.length - 4;
  const stored = buf.readUInt32BE(end);
  const actual = zlib.crc32(buf.subarray(0, end)) >>> 0;
  if (stored !== actual) throw new Error(`kv snapshot: ${what}: checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  const version = buf[MAGIC.length];
  if (version !== WHOLE_FORMAT_VERSION && version !== DELTA_FORMAT_VERSION) throw new Error(`kv snapshot: ${what}: format version ${version} is not supported`);
  const c = new Cursor(buf, MAGIC.length + 1, end, what);
  const baseRevision = version === DELTA_FORMAT_VERSION ? c.uvarint('base revision') : 0;
  const fieldsStart = c.pos;
  c.uvarint('applied index');
  const currentRevision = c.uvarint('current revision');
  const compactPlusOne = c.uvarint('compact revision');
  const checkpoints = c.uvarint('checkpoint count');
  for (let i = 0; i < checkpoints; i++) {
    c.uvarint('checkpoint index');
    c.uvarint('checkpoint revision');
    c.skip(8, 'checkpoint digest');
  }
  const fieldsEnd = c.pos;
  const keyCount = c.uvarint('key count');
  return { version, baseRevision, currentRevision, compactPlusOne, fieldsStart, fieldsEnd, keyCount, keysStart: c.pos, end };
}

/** skipRevisions moves past `count` encoded revisions and returns the main revision of the first (0 if none); checks they ascend. */
function skipRevisions(c: Cursor, count: number): number {
  let first = 0;
  let last = -1;
  for (let j = 0; j < count; j++) {
    const main = c.uvarint('revision');
    c.uvarint('sub-revision');
    if (main < last) c.fail('a key\'s revisions are not in ascending order');
    last = main;
    if (j === 0) first = main;
    c.skip(1, 'revision kind');
    const kind = c.buf[c.pos - 1];
    if (kind === 1) {
      c.uvarint('create revision');
      c.uvarint('version');
      c.skip(c.uvarint('value length'), 'value');
    } else if (kind !== 0) {
      c.fail(`unknown revision kind ${kind}`);
    }
  }
  return first;
}

function putVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}

/** imageKind tells a whole image from a delta (and the delta's base revision) by its head, without checking the rest. */
export function imageKind(bytes: Uint8Array): { delta: false } | { delta: true; baseRevision: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 1 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new Error('kv snapshot: not a replicant KV snapshot');
  if (buf[MAGIC.length] !== DELTA_FORMAT_VERSION) return { delta: false };
  return { delta: true, baseRevision: new Cursor(buf, MAGIC.length + 1, buf.length, 'image').uvarint('base revision') };
}

/**
 * mergeImages returns the image `delta` makes of `base` (the image it
 * extends: whole, or a delta itself, giving one delta over both): with
 * `headroom`, the returned buffer starts with that many unwritten bytes for
 * the caller's own header. Throws an Error starting "kv snapshot:" when
 * either is corrupt, `delta` is no delta, or it extends another image (its
 * base revision is not `base`'s revision, a compaction lies between, or a
 * key of `base` is missing from it).
 */
export function mergeImages(base: Uint8Array, delta: Uint8Array, headroom = 0): Uint8Array {
  const a = Buffer.from(base.buffer, base.byteOffset, base.byteLength);
  const b = Buffer.from(delta.buffer, delta.byteOffset, delta.byteLength);
  const ha = readHead(a, 'the base image');
  const hb = readHead(b, 'the delta image');
  if (hb.version !== DELTA_FORMAT_VERSION) throw new Error('kv snapshot: the image laid onto another is not a delta');
  if (hb.baseRevision !== ha.currentRevision) {
    throw new Error(`kv snapshot: the delta extends revision ${hb.baseRevision}, not this image's revision ${ha.currentRevision}`);
  }
  if (hb.compactPlusOne !== ha.compactPlusOne) throw new Error('kv snapshot: a compaction lies between the delta and the image it would extend');
  const whole = ha.version === WHOLE_FORMAT_VERSION;
  // The merged image is never larger than both together (each key and count once, every revision once).
  const out = Buffer.allocUnsafe(headroom + a.length + b.length);
  let o = headroom;
  o += out.write(MAGIC, o, 'latin1');
  out[o++] = ha.version;
  if (!whole) o = putVarint(out, o, ha.baseRevision);
  o += b.copy(out, o, hb.fieldsStart, hb.fieldsEnd);
  o = putVarint(out, o, hb.keyCount);
  const ca = new Cursor(a, ha.keysStart, ha.end, 'the base image');
  const cb = new Cursor(b, hb.keysStart, hb.end, 'the delta image');
  let aLeft = ha.keyCount;
  let aKey: Buffer | undefined;
  const nextA = (): void => {
    if (aLeft === 0) {
      aKey = undefined;
      return;
    }
    aLeft--;
    const len = ca.uvarint('key length');
    const at = ca.pos;
    ca.skip(len, 'key');
    aKey = a.subarray(at, at + len);
  };
  nextA();
  let prevKey: Buffer | undefined;
  for (let k = 0; k < hb.keyCount; k++) {
    const keyStart = cb.pos;
    const len = cb.uvarint('key length');
    const at = cb.pos;
    cb.skip(len, 'key');
    const key = b.subarray(at, at + len);
    if (len === 0) cb.fail('empty key');
    if (prevKey && Buffer.compare(prevKey, key) >= 0) cb.fail('keys are not in ascending order');
    prevKey = key;
    const bCount = cb.uvarint('revision count');
    const bRevs = cb.pos;
    const firstNew = skipRevisions(cb, bCount);
    if (bCount > 0 && firstNew <= hb.baseRevision) cb.fail(`a revision at or before its base revision ${hb.baseRevision}`);
    let aCount = 0;
    let aRevs = 0;
    let aEnd = 0;
    if (aKey) {
      const order = Buffer.compare(aKey, key);
      if (order < 0) throw new Error('kv snapshot: a key of the base image is missing from the delta: it extends another image');
      if (order === 0) {
        aCount = ca.uvarint('revision count');
        aRevs = ca.pos;
        skipRevisions(ca, aCount);
        aEnd = ca.pos;
        nextA();
      }
    }
    const count = aCount + bCount;
    if (whole && count === 0) cb.fail('a key with no revisions');
    o += b.copy(out, o, keyStart, at + len);
    o = putVarint(out, o, count);
    if (aCount > 0) o += a.copy(out, o, aRevs, aEnd);
    o += b.copy(out, o, bRevs, cb.pos);
  }
  if (aKey) throw new Error('kv snapshot: a key of the base image is missing from the delta: it extends another image');
  if (ca.pos !== ha.end) ca.fail('trailing bytes after the last key');
  if (cb.pos !== hb.end) cb.fail('trailing bytes after the last key');
  out.writeUInt32BE(zlib.crc32(out.subarray(headroom, o)) >>> 0, o);
  o += 4;
  return out.subarray(0, o);
}
