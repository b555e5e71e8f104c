// Addresses for the local cluster inside 127.0.0.0/8. Each running localkube
// owns one block 127.B.0.0/16 (B in 1..254, claimed with a lock file so
// concurrent instances — parallel tests — never share addresses): node
// addresses 127.B.0.N, pod IPs from 127.B.1.2 upwards, service cluster IPs from
// 127.B.200.1 upwards. Any 127.x address is bindable on Linux loopback, so every
// pod can listen on the same ports as in a real cluster.
// It must never hand out an address outside 127.0.0.0/8 or one already in use.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const LOCK_DIR = path.join(os.tmpdir(), 'localkube-net');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryLock(block: number): boolean {
  const file = path.join(LOCK_DIR, `127.${block}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(fs.readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
      fs.rmSync(file, { force: true }); // left by a process that is gone
    }
  }
  return false;
}

/** Range hands out addresses of one kind from a list of candidates, reusing released ones last. */
class Range {
  readonly #candidates: () => Generator<string>;
  readonly #used = new Set<string>();
  #cursor: Generator<string>;

  constructor(candidates: () => Generator<string>) {
    this.#candidates = candidates;
    this.#cursor = candidates();
  }

  allocate(): string | undefined {
    for (let pass = 0; pass < 2; pass++) {
      for (let next = this.#cursor.next(); !next.done; next = this.#cursor.next()) {
        if (!this.#used.has(next.value)) {
          this.#used.add(next.value);
          return next.value;
        }
      }
      this.#cursor = this.#candidates(); // wrap around to released addresses
    }
    return undefined;
  }

  /** claim marks an address as used (restored state). */
  claim(ip: string): void {
    this.#used.add(ip);
  }

  release(ip: string): void {
    this.#used.delete(ip);
  }
}

/** NetworkBlock is this instance's /16 inside 127.0.0.0/8. */
export class NetworkBlock {
  readonly block: number;
  readonly pods: Range;
  readonly services: Range;
  #released = false;

  private constructor(block: number) {
    this.block = block;
    const b = block;
    this.pods = new Range(function* () {
      for (let c = 1; c < 200; c++) for (let d = c === 1 ? 2 : 1; d < 255; d++) yield `127.${b}.${c}.${d}`;
    });
    this.services = new Range(function* () {
      for (let c = 200; c < 256; c++) for (let d = 1; d < 255; d++) yield `127.${b}.${c}.${d}`;
    });
  }

  /** acquire claims a free block, preferring `preferred` (the block a state file used). */
  static acquire(preferred?: number): NetworkBlock {
    fs.mkdirSync(LOCK_DIR, { recursive: true });
    const order: number[] = [];
    if (preferred && preferred >= 1 && preferred <= 254) order.push(preferred);
    const start = 1 + ((process.pid * 7) % 254);
    for (let i = 0; i < 254; i++) order.push(1 + ((start - 1 + i) % 254));
    for (const b of order) if (tryLock(b)) return new NetworkBlock(b);
    throw new Error(`localkube: every 127.B.0.0/16 block is claimed by a running localkube (locks in ${LOCK_DIR})`);
  }

  /** nodeIP is the address of node number n (1-based). */
  nodeIP(n: number): string {
    return `127.${this.block}.0.${n}`;
  }

  /** owns tells whether an address belongs to this block. */
  owns(ip: string): boolean {
    return ip.startsWith(`127.${this.block}.`);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    const file = path.join(LOCK_DIR, `127.${this.block}.lock`);
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  }
}
