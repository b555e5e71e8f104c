// Runs a KV snapshot encoder in short slices between turns of the event loop
// (setImmediate), so a member encoding its whole store keeps answering
// clients and peers: each slice does a few thousand revisions and stops after
// about `sliceMs`. It only drives the encoder and measures it; what the image
// holds was fixed when the encoder was captured (KvStore.beginSnapshot).
// It must never run a slice after cancel(), and never leave `done` unsettled.
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
  /** settles (never rejects) once the encode finished, failed or was cancelled */
  readonly done: Promise<void>;
  /** true once done settled */
  readonly finished: boolean;
  /** the encoder's buffer, once it finished */
  readonly result: Uint8Array | undefined;
  /** what the encoder threw, if it failed */
  readonly error: unknown;
  readonly stats: SlicedEncodeStats;
  /** cancel stops the encode before its next slice (done then settles with no result). */
  cancel(): void;
}

/**
 * encodeInSlices starts encoding on the next turn of the event loop and calls
 * `onFinished` (once) when the encode finished or failed, not when cancelled.
 */
export function encodeInSlices(
  encoder: SnapshotEncoder,
  onFinished: () => void,
  sliceMs = SLICE_MS,
  stepRevisions = STEP_REVISIONS,
): SlicedEncode {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  let cancelled = false;
  const job = {
    done,
    finished: false,
    result: undefined as Uint8Array | undefined,
    error: undefined as unknown,
    stats: { slices: 0, busyMs: 0, longestSliceMs: 0 },
    cancel(): void {
      if (job.finished || cancelled) return;
      cancelled = true;
    },
  };
  const end = (notify: boolean) => {
    job.finished = true;
    settle();
    if (notify) onFinished();
  };
  const slice = () => {
    if (cancelled) {
      end(false);
      return;
    }
    const started = performance.now();
    let complete = false;
    try {
      do complete = encoder.step(stepRevisions);
      while (!complete && performance.now() - started < sliceMs);
    } catch (e) {
      job.error = e ?? new Error('snapshot encoder failed');
    }
    const ms = performance.now() - started;
    job.stats.slices++;
    job.stats.busyMs += ms;
    if (ms > job.stats.longestSliceMs) job.stats.longestSliceMs = ms;
    if (job.error !== undefined) {
      end(true);
    } else if (complete) {
      job.result = encoder.result();
      end(true);
    } else {
      setImmediate(slice);
    }
  };
  setImmediate(slice);
  return job;
}
