// Keeps the store in a state file (--state FILE) so a restarted server keeps its
// objects: loads it at start, rewrites it (atomically: temp file + rename) a
// moment after changes, and once more on stop.
// It must never write a partial file over a good one.
import fs from 'node:fs';
import path from 'node:path';
import type { Store, StoreSnapshot } from './store.ts';

interface StateFile extends StoreSnapshot {
  format: 'localkube-state/v1';
  extra?: Record<string, unknown>;
}

/** loadState reads a state file; a missing file is an empty state, a damaged one a clear error. */
export function loadState(file: string): { snapshot: StoreSnapshot; extra: Record<string, unknown> } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`localkube: cannot read state file ${file}: ${(err as Error).message}`);
  }
  let parsed: StateFile;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`localkube: state file ${file} is not valid JSON (${(err as Error).message}); move it away to start empty`);
  }
  if (parsed?.format !== 'localkube-state/v1' || !Array.isArray(parsed.objects) || typeof parsed.resourceVersion !== 'number') {
    throw new Error(`localkube: ${file} is not a localkube state file (format localkube-state/v1); move it away to start empty`);
  }
  return { snapshot: { resourceVersion: parsed.resourceVersion, objects: parsed.objects }, extra: parsed.extra ?? {} };
}

export class StatePersister {
  readonly #file: string;
  readonly #store: Store;
  readonly #extra: () => Record<string, unknown>;
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | undefined;
  readonly #delayMs: number;

  constructor(file: string, store: Store, extra: () => Record<string, unknown>, delayMs = 100) {
    this.#file = file;
    this.#store = store;
    this.#extra = extra;
    this.#delayMs = delayMs;
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.#unsubscribe = store.subscribe(() => this.#schedule());
    this.flush();
  }

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      try {
        this.flush();
      } catch (err) {
        process.emitWarning(`localkube: cannot write state file ${this.#file}: ${(err as Error).message}`);
      }
    }, this.#delayMs);
    this.#timer.unref();
  }

  /** flush writes the current state now. */
  flush(): void {
    const state: StateFile = { format: 'localkube-state/v1', ...this.#store.snapshot(), extra: this.#extra() };
    const tmp = `${this.#file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, this.#file);
  }

  stop(): void {
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.flush();
  }
}
