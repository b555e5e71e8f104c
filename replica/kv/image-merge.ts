// Lays a delta image (snapshot.ts, version 2: every key, with only the
// revisions after the image it extends) onto the image it extends, giving
// the image an encode of the later state would have written, byte for byte:
// a whole image from a whole one, or one delta spanning two from two
// deltas. Works on the encoded bytes (each revision's encoding does not
// depend on what precedes it), so no value is decoded. Checks every
// checksum first and that each delta extends exactly the image before it;
// must never return an image they do not make together. ImageMerge does it a
// step at a time (a host runs the steps in slices); it reads no clock.
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import { ByteReader, DELTA_FORMAT_VERSION } from './snapshot.ts';

const MAGIC = 'RKVS';
const WHOLE_FORMAT_VERSION = 1;
const MISSING_KEY = 'kv snapshot: a key of an earlier image is missing from a later delta: it extends another image';

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

/** checkMagic refuses bytes that cannot be an image (too short, or another format). */
function checkMagic(buf: Buffer, what: string): void {
  if (buf.length < MAGIC.length + 1 + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) {
    throw new Error(`kv snapshot: ${what} is not a replicant KV snapshot`);
  }
}

/** checkSum compares an image's stored checksum with `actual`, the CRC-32 of everything before it. */
function checkSum(buf: Buffer, actual: number, what: string): void {
  const stored = buf.readUInt32BE(buf.length - 4);
  if (stored !== actual) throw new Error(`kv snapshot: ${what}: checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
}

/** readHead reads an image's head (its magic and checksum already checked). */
function readHead(buf: Buffer, what: string): ImageHead {
  const end = buf.length - 4;
  const version = buf[MAGIC.length];
  if (version !== WHOLE_FORMAT_VERSION && version !== DELTA_FORMAT_VERSION) throw new Error(`kv snapshot: ${what}: format version ${version} is not supported`);
  const c = new ByteReader(buf, MAGIC.length + 1, end, what);
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
function skipRevisions(c: ByteReader, count: number): number {
  let first = 0;
  let last = -1;
  for (let j = 0; j < count; j++) {
    const main = c.uvarint('revision');
    c.uvarint('sub-revision');
    if (main < last) c.fail('a key\'s revisions are not in ascending order');
    last = main;
    if (j === 0) first = main;
    const kind = c.u8('revision kind');
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
  return { delta: true, baseRevision: new ByteReader(buf, MAGIC.length + 1, buf.length, 'image').uvarint('base revision') };
}

/** Source walks one image's keys in order: each key's bytes, then its revisions' range (checked as it goes). */
class Source {
  readonly buf: Buffer;
  readonly head: ImageHead;
  readonly cursor: ByteReader;
  private left: number;
  /** the current key (undefined once every key was read), where its entry starts, and its revisions' count and bytes */
  key: Buffer | undefined;
  keyStart = 0;
  keyEnd = 0;
  count = 0;
  revsStart = 0;
  revsEnd = 0;
  private prev: Buffer | undefined;

  constructor(buf: Buffer, head: ImageHead, what: string) {
    this.buf = buf;
    this.head = head;
    this.cursor = new ByteReader(buf, head.keysStart, head.end, what);
    this.left = head.keyCount;
    this.next();
  }

  next(): void {
    if (this.left === 0) {
      this.key = undefined;
      if (this.cursor.pos !== this.head.end) this.cursor.fail('trailing bytes after the last key');
      return;
    }
    this.left--;
    const c = this.cursor;
    this.keyStart = c.pos;
    const len = c.uvarint('key length');
    if (len === 0) c.fail('empty key');
    const at = c.pos;
    c.skip(len, 'key');
    this.keyEnd = c.pos;
    const key = this.buf.subarray(at, at + len);
    if (this.prev && Buffer.compare(this.prev, key) >= 0) c.fail('keys are not in ascending order');
    this.prev = this.key = key;
    this.count = c.uvarint('revision count');
    this.revsStart = c.pos;
    const first = skipRevisions(c, this.count);
    this.revsEnd = c.pos;
    if (this.head.version === DELTA_FORMAT_VERSION && this.count > 0 && first <= this.head.baseRevision) {
      c.fail(`a revision at or before its base revision ${this.head.baseRevision}`);
    }
  }
}

/**
 * ImageMerge lays deltas onto an image a step at a time (mergeImages runs
 * it to the end at once; a host that must not hold its loop that long, such
 * as a leader reading a chain back for a follower, runs its steps in
 * slices). The heads are checked when it is made; `step` merges the next
 * keys and checksums what it wrote; `result` is the image once a step said
 * it is complete. Throws as mergeImages does, from the constructor or a step.
 */
export class ImageMerge {
  private readonly bufs: Buffer[];
  private readonly names: string[];
  private readonly headroom: number;
  /** checksums first, a block at a time: the image being checked, how far, the CRC so far */
  private checking = 0;
  private checkedTo = 0;
  private checkCrc = 0;
  private out: Buffer | undefined;
  private o = 0;
  private whole = false;
  private lb: Buffer | undefined;
  private driver: Source | undefined;
  private earlier: Source[] = [];
  private readonly taken: Source[] = [];
  /** the CRC-32 of what was written so far (the head, then each step's keys) */
  private crc = 0;
  private done = false;

  constructor(base: Uint8Array, deltas: Uint8Array | readonly Uint8Array[], headroom = 0) {
    const list = deltas instanceof Uint8Array ? [deltas] : deltas;
    if (list.length === 0) throw new Error('kv snapshot: no delta to lay onto the image');
    this.bufs = [base, ...list].map((x) => Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    this.names = this.bufs.map((_, i) => (i === 0 ? 'the base image' : `delta image ${i}`));
    this.bufs.forEach((b, i) => checkMagic(b, this.names[i]));
    this.headroom = headroom;
  }

  /**
   * step does the next part of the merge: it checks up to `keys` × 2 KiB of
   * the images' checksums, or, once they are checked, merges up to `keys`
   * keys (of the newest delta); true once the image is complete.
   */
  step(keys: number): boolean {
    if (this.done) return true;
    if (this.checking < this.bufs.length) {
      this.check(keys * 2048);
      if (this.checking < this.bufs.length) return false;
    }
    if (!this.driver) this.begin();
    const out = this.out!;
    const lb = this.lb!;
    const driver = this.driver!;
    const { earlier, taken } = this;
    const from = this.o;
    let o = from;
    for (let n = 0; n < keys && driver.key; n++) {
      const key = driver.key;
      let count = driver.count;
      taken.length = 0;
      for (const src of earlier) {
        if (!src.key) continue;
        const order = Buffer.compare(src.key, key);
        if (order < 0) throw new Error(MISSING_KEY);
        if (order === 0) {
          count += src.count;
          taken.push(src);
        }
      }
      if (this.whole && count === 0) driver.cursor.fail('a key with no revisions');
      o += lb.copy(out, o, driver.keyStart, driver.keyEnd);
      o = putVarint(out, o, count);
      for (const src of taken) {
        o += src.buf.copy(out, o, src.revsStart, src.revsEnd);
        src.next();
      }
      o += lb.copy(out, o, driver.revsStart, driver.revsEnd);
      driver.next();
    }
    this.crc = zlib.crc32(out.subarray(from, o), this.crc) >>> 0;
    this.o = o;
    if (driver.key) return false;
    for (const src of earlier) if (src.key) throw new Error(MISSING_KEY);
    out.writeUInt32BE(this.crc, o);
    this.o = o + 4;
    this.done = true;
    return true;
  }

  /** result is the merged image (after `headroom` unwritten bytes), once step returned true. */
  result(): Uint8Array {
    if (!this.done) throw new Error('kv snapshot: the merge is not finished');
    return this.out!.subarray(0, this.o);
  }

  /** check runs the images' checksums on by up to `budget` bytes, throwing at the first that does not match. */
  private check(budget: number): void {
    while (budget > 0 && this.checking < this.bufs.length) {
      const buf = this.bufs[this.checking];
      const end = buf.length - 4;
      const to = Math.min(end, this.checkedTo + budget);
      this.checkCrc = zlib.crc32(buf.subarray(this.checkedTo, to), this.checkCrc) >>> 0;
      budget -= to - this.checkedTo;
      this.checkedTo = to;
      if (to < end) return;
      checkSum(buf, this.checkCrc, this.names[this.checking]);
      this.checking++;
      this.checkedTo = 0;
      this.checkCrc = 0;
    }
  }

  /** begin reads the checked images' heads, checks that each delta extends the image before it, and writes the merged image's head. */
  private begin(): void {
    const bufs = this.bufs;
    const heads = bufs.map((b, i) => readHead(b, this.names[i]));
    for (let i = 1; i < heads.length; i++) {
      const h = heads[i];
      if (h.version !== DELTA_FORMAT_VERSION) throw new Error('kv snapshot: the image laid onto another is not a delta');
      if (h.baseRevision !== heads[i - 1].currentRevision) {
        throw new Error(`kv snapshot: the delta extends revision ${h.baseRevision}, not this image's revision ${heads[i - 1].currentRevision}`);
      }
      if (h.compactPlusOne !== heads[i - 1].compactPlusOne) throw new Error('kv snapshot: a compaction lies between the delta and the image it would extend');
    }
    const ha = heads[0];
    const last = heads[heads.length - 1];
    this.whole = ha.version === WHOLE_FORMAT_VERSION;
    // The merged image is never larger than all of them together (each key and count once, every revision once).
    let total = this.headroom;
    for (const b of bufs) total += b.length;
    const out = (this.out = Buffer.allocUnsafe(total));
    let o = this.headroom;
    o += out.write(MAGIC, o, 'latin1');
    out[o++] = ha.version;
    if (!this.whole) o = putVarint(out, o, ha.baseRevision);
    const lb = (this.lb = bufs[bufs.length - 1]);
    o += lb.copy(out, o, last.fieldsStart, last.fieldsEnd);
    this.o = putVarint(out, o, last.keyCount);
    this.crc = zlib.crc32(out.subarray(this.headroom, this.o)) >>> 0;
    const sources = bufs.map((b, i) => new Source(b, heads[i], this.names[i]));
    this.driver = sources[sources.length - 1];
    this.earlier = sources.slice(0, -1);
  }
}

/**
 * mergeImages returns the image `deltas` make of `base` (the image the
 * first extends, each next one extending the one before; `base` whole, or
 * a delta itself, giving one delta over all): with `headroom`, the returned
 * buffer starts with that many unwritten bytes for the caller's own header.
 * One pass over all of them, each byte copied once. Throws an Error
 * starting "kv snapshot:" when any is corrupt, one of `deltas` is no delta,
 * or one extends another image (its base revision is not the revision of
 * the image before it, a compaction lies between, or a key of an earlier
 * image is missing from it).
 */
export function mergeImages(base: Uint8Array, deltas: Uint8Array | readonly Uint8Array[], headroom = 0): Uint8Array {
  const merge = new ImageMerge(base, deltas, headroom);
  merge.step(Infinity);
  return merge.result();
}
