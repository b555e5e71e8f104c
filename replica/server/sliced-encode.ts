// Runs a streaming KV snapshot encoder in short slices between turns of the
// event loop, so a member encoding its whole store keeps answering clients
// and peers: each slice does a few thousand revisions and stops after about
// `sliceMs`, or as soon as the encoder has a chunk ready, which is handed to
// `write` (the loop is free while it is written out); after a slice of a
// millisecond or more the next one waits at least as long (a timer), or
// `restFactor()` times as long, so the encode holds at most about half of the
// loop's time, or 1 / (1 + restFactor) of it.
// It only drives the encoder and measures it; what the image holds was fixed
// when the encoder was captured (KvStore.streamSnapshot).
// It must never run a slice after cancel(), never step the encoder while a
// chunk is being written, and never leave `done` unsettled.
import type { SnapshotEncoder } from '../kv/index.ts';

/** SLICE_MS is how long one slice may hold the loop (about; a slice ends after the step that crosses it). */
export const SLICE_MS = 4;
/** STEP_REVISIONS is the encoder step between two looks at the clock. */
export const STEP_REVISIONS = 1024;

export interface SlicedEncodeStats {
  /** slices run so far */
  slices: number;
  /** time spent inside slices (the loop was held) */
  busyMs: number;
  /** the longest slice: the longest the loop was held by this encode */
  longestSliceMs: number;
}

export interface SlicedEncode {
  /** settles (never rejects) once the encode finished, failed or was cancelled, and no write is under way */
  readonly done: Promise<void>;
  /** true once done settled */
  readonly finished: boolean;
  /** true once every chunk was written */
  readonly complete: boolean;
  /** what the encoder or a write threw, if one failed */
  readonly error: unknown;
  readonly stats: SlicedEncodeStats;
  /** cancel stops the encode before its next slice (done then settles, not complete). */
  cancel(): void;
}

/** The encoder as this driver uses it. */
export type ChunkedEncoder = Pick<SnapshotEncoder, 'step' | 'takeChunk'>;

/**
 * encodeInSlices starts encoding on the next turn of the event loop; each
 * chunk goes to `write`, whose promise must settle before the next slice
 * (the chunk's bytes are reused after it). Stats add up into `stats` when
 * given (a host that runs several encodes for one snapshot).
 */
export function encodeInSlices(
  encoder: ChunkedEncoder,
  write: (chunk: Uint8Array) => Promise<void>,
  sliceMs = SLICE_MS,
  stepRevisions = STEP_REVISIONS,
  stats: SlicedEncodeStats = { slices: 0, busyMs: 0, longestSliceMs: 0 },
  restFactor: () => number = () => 1,
): SlicedEncode {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  let cancelled = false;
  const job = {
    done,
    finished: false,
    complete: false,
    error: undefined as unknown,
    stats,
    cancel(): void {
      if (!job.finished) cancelled = true;
    },
  };
  const end = () => {
    job.finished = true;
    settle();
  };
  const fail = (e: unknown) => {
    job.error = e ?? new Error('snapshot encode failed');
    end();
  };
  const slice = () => {
    if (cancelled) {
      end();
      return;
    }
    const started = performance.now();
    let last = false;
    let chunk: Uint8Array | undefined;
    try {
      do {
        last = encoder.step(stepRevisions);
        chunk = encoder.takeChunk();
      } while (!last && !chunk && performance.now() - started < sliceMs);
    } catch (e) {
      job.error = e ?? new Error('snapshot encoder failed');
    }
    const ms = performance.now() - started;
    stats.slices++;
    stats.busyMs += ms;
    if (ms > stats.longestSliceMs) stats.longestSliceMs = ms;
    if (job.error !== undefined) {
      end();
      return;
    }
    const next = () => {
      if (last) {
        job.complete = true;
        end();
      } else if (ms >= 1) {
        // Yield restFactor times as long as the slice held the loop (to the
        // timer's millisecond): the encode takes at most about 1 / (1 +
        // restFactor) of it, whatever else the member has to do meanwhile.
        setTimeout(slice, ms * Math.max(1, restFactor()));
      } else {
        setImmediate(slice);
      }
    };
    if (chunk) write(chunk).then(next, fail);
    else next();
  };
  setImmediate(slice);
  return job;
}
