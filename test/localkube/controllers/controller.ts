// What every in-process controller shares: a work queue of keys it reconciles
// one at a time, fed by the store's change events through the controller's
// own listener, and stopped as one (the store subscription first, then the
// queue). It must never hold a controller's logic: what a key means and which
// events touch it are the subclass's.
import type { Store, StoreListener } from '../store/store.ts';
import { WorkQueue } from './queue.ts';

export abstract class QueuedController {
  protected readonly queue: WorkQueue;
  #unsubscribe: () => void = () => {};

  /** name appears in the queue's warnings. */
  protected constructor(name: string) {
    this.queue = new WorkQueue((key) => this.reconcile(key), { name });
  }

  /** reconcile brings the world in line for one key (called by the queue, never inside the store's dispatch). */
  protected abstract reconcile(key: string): void | Promise<void>;

  /** follow feeds the queue from the store's events through `listener` (once, in the subclass's constructor). */
  protected follow(store: Store, listener: StoreListener): void {
    this.#unsubscribe = store.subscribe(listener);
  }

  stop(): void {
    this.#unsubscribe();
    this.queue.stop();
  }
}
