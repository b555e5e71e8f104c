// Walks the frames of one WAL segment held in memory and decides, for each damaged
// spot, whether it is a torn tail (left by a crash in the middle of the last
// write: recoverable, everything from there on was never acknowledged) or
// corruption (refuse to start). Only the last segment can have a torn tail:
// older segments were truncated to their exact length and fsynced before the next
// one was created, so any damage in them is corruption.
// Must never modify the file or guess past damage: the caller truncates, with a
// warning, only what this returns as torn.
import { DataDirMismatchError, WalCorruptError } from './errors.ts';
import { FRAME_HEADER_BYTES, SECTOR_BYTES, hasUnwrittenSector, isZero, readFrame } from './frame.ts';
import { decodeRecord, UnknownFormatVersion } from './records.ts';
import type { WalRecord } from './records.ts';

export type SegmentTail =
  /** the data ends exactly after the last record */
  | { kind: 'clean' }
  /** only zero bytes follow the last record (preallocated space): nothing to repair */
  | { kind: 'zeros' }
  /** a torn record starts at `end`; the bytes from there on must be truncated */
  | { kind: 'torn'; reason: string };

export interface SegmentScan {
  /** offset just after the last good record: where appending continues */
  end: number;
  tail: SegmentTail;
}

/**
 * scanSegment calls onRecord for each good record in order and reports where the
 * good data ends. It throws WalCorruptError (file + offset) for corruption; errors
 * thrown by onRecord propagate, a RangeError from it is reported at that record.
 */
export function scanSegment(
  file: string,
  buf: Buffer,
  isLast: boolean,
  onRecord: (record: WalRecord, offset: number) => void,
): SegmentScan {
  let off = 0;
  for (;;) {
    const f = readFrame(buf, off);
    switch (f.kind) {
      case 'end':
        return { end: off, tail: { kind: 'clean' } };
      case 'record': {
        let record: WalRecord;
        try {
          record = decodeRecord(f.body);
        } catch (err) {
          if (err instanceof UnknownFormatVersion) throw new DataDirMismatchError(file, err.message, off);
          throw new WalCorruptError(file, off, `malformed record (${(err as Error).message})`);
        }
        try {
          onRecord(record, off);
        } catch (err) {
          if (err instanceof RangeError) throw new WalCorruptError(file, off, err.message);
          throw err;
        }
        off = f.next;
        continue;
      }
      case 'shortHeader':
        if (!isLast) throw new WalCorruptError(file, off, 'segment ends inside a record header');
        if (isZero(buf, off, buf.length)) return { end: off, tail: { kind: 'zeros' } };
        return { end: off, tail: { kind: 'torn', reason: 'incomplete record header' } };
      case 'badHeader':
        if (isLast && isZero(buf, off, buf.length)) return { end: off, tail: { kind: 'zeros' } };
        if (isLast && hasUnwrittenSector(buf, off, off + FRAME_HEADER_BYTES)) {
          return { end: off, tail: { kind: 'torn', reason: 'record header partly unwritten' } };
        }
        throw new WalCorruptError(
          file,
          off,
          isZero(buf, off, buf.length) ? 'zero-filled space after the last record of an older segment' : 'record header checksum mismatch',
        );
      case 'badLength':
        throw new WalCorruptError(file, off, `record length ${f.length} is invalid`);
      case 'shortBody':
        if (!isLast) throw new WalCorruptError(file, off, `record of ${f.length} bytes runs past the end of the segment`);
        return { end: off, tail: { kind: 'torn', reason: `record of ${f.length} bytes runs past the end of the file` } };
      case 'badBody': {
        // The header checks out, so the sector(s) holding it were written; only a
        // later sector of the body can have been left unwritten by a torn write.
        const firstUnsure = Math.ceil((off + FRAME_HEADER_BYTES) / SECTOR_BYTES) * SECTOR_BYTES;
        if (isLast && hasUnwrittenSector(buf, firstUnsure, off + FRAME_HEADER_BYTES + f.length)) {
          return { end: off, tail: { kind: 'torn', reason: 'record partly unwritten' } };
        }
        throw new WalCorruptError(file, off, 'record checksum mismatch');
      }
    }
  }
}
