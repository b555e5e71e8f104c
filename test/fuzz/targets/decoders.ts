// In-process fuzz targets for the decoders that read bytes from peers and
// disks: the KV snapshot (restore; mutated bodies get their checksum fixed
// so the parser behind it is reached), committed log entries (applyEntry:
// deterministic on every member, state untouched when refused), the
// replica's snapshot envelope and member table, and certificate names.
// Properties: no exception but the decoder's own Error, no hang, and a
// refused input changes nothing.
import zlib from 'node:zlib';
import { KvStore, encodeCommand, type KvCommand } from '../../../replica/kv/index.ts';
import { decodeEntry, decodeSnapshot, encodeKvEntry, encodePublishEntry, encodeSnapshot } from '../../../replica/server/envelope.ts';
import { MemberTable } from '../../../replica/server/members.ts';
import { identityOf } from '../../../replica/server/tls/index.ts';
import { Rng, mutate } from '../mutate.ts';
import { FuzzFailure, SLOW_INPUT_MS, Tally, type FuzzTarget } from '../target.ts';

const b = (s: string) => Buffer.from(s);

/** seedCommands are valid commands of every kind (txn nested), the material mutations start from. */
function seedCommands(rng: Rng, n: number): KvCommand[] {
  const out: KvCommand[] = [];
  for (let i = 0; i < n; i++) {
    const key = b(`k/${rng.int(Math.max(1, n / 2))}`);
    const roll = rng.int(10);
    if (roll < 6) out.push({ kind: 'put', requestId: i + 1, request: { key, value: rng.bytes(rng.int(20)), prevKv: rng.chance(0.3) } });
    else if (roll < 8) out.push({ kind: 'deleteRange', requestId: i + 1, request: { key, rangeEnd: b('k0'), prevKv: rng.chance(0.5) } });
    else if (roll < 9) {
      out.push({
        kind: 'txn',
        requestId: i + 1,
        request: {
          compare: [{ key, target: 0, result: 0, version: 1 }],
          success: [{ requestPut: { key: b('t'), value: b('x') } }, { requestTxn: { success: [{ requestDeleteRange: { key: b('t') } }] } }],
          failure: [{ requestRange: { key, rangeEnd: b('l'), limit: 3 } }],
        },
      });
    } else out.push({ kind: 'compact', requestId: i + 1, request: { revision: 1 + rng.int(i + 1) } });
  }
  return out;
}

/** baseline is a store that applied `n` seed commands (deterministic in `seed`). */
function baseline(seed: number, n: number): KvStore {
  const kv = new KvStore({ checkpointInterval: 5 });
  seedCommands(new Rng(seed), n).forEach((c, i) => kv.apply(i + 1, c));
  return kv;
}

function fingerprint(kv: KvStore): string {
  const h = kv.hashKV(0);
  return `${kv.appliedIndex}/${kv.revision}/${h.hash}/${h.compactRevision}/${kv.digest()}`;
}

function timed<T>(name: string, seed: number, i: number, input: Uint8Array, f: () => T): T {
  const t0 = performance.now();
  const out = f();
  const ms = performance.now() - t0;
  if (ms > SLOW_INPUT_MS) throw new FuzzFailure(name, seed, i, input, `one input took ${Math.round(ms)} ms`);
  return out;
}

/** fixCrc rewrites the trailing CRC-32 of a KV snapshot so mutations reach the parser. */
function fixCrc(buf: Buffer): Buffer {
  if (buf.length < 4) return buf;
  const out = Buffer.from(buf);
  out.writeUInt32BE(zlib.crc32(out.subarray(0, out.length - 4)) >>> 0, out.length - 4);
  return out;
}

export const kvSnapshotTarget: FuzzTarget = {
  name: 'kv-snapshot',
  async run(seed, budgetMs) {
    const name = 'kv-snapshot';
    const started = performance.now();
    const rng = new Rng(seed);
    const tally = new Tally();
    const seeds = [1, 6, 40].map((n) => baseline(seed + n, n).snapshot());
    let victim = baseline(seed, 12);
    let before = fingerprint(victim);
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i === 0 || performance.now() < deadline; i++) {
      let input = mutate(rng.pick(seeds), rng, seeds);
      if (rng.chance(0.7)) input = fixCrc(input);
      try {
        timed(name, seed, i, input, () => victim.restore(input));
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        if (!(e instanceof Error) || !e.message.startsWith('kv snapshot:')) throw new FuzzFailure(name, seed, i, input, `unexpected exception ${String(e)}`);
        if (fingerprint(victim) !== before) throw new FuzzFailure(name, seed, i, input, 'a refused snapshot changed the store');
        tally.add('refused');
        continue;
      }
      // Accepted: the restored state must be usable and survive its own snapshot unchanged.
      try {
        const again = new KvStore({ checkpointInterval: 5 });
        again.restore(victim.snapshot());
        if (fingerprint(again) !== fingerprint(victim)) throw new Error('the snapshot of the restored state restores differently');
        victim.range({ key: b('k'), rangeEnd: b('l') });
      } catch (e) {
        throw new FuzzFailure(name, seed, i, input, `accepted snapshot is not usable: ${(e as Error).message}`);
      }
      tally.add('accepted');
      victim = baseline(seed, 12);
      before = fingerprint(victim);
    }
    return tally.report(name, started);
  },
};

export const logEntryTarget: FuzzTarget = {
  name: 'log-entry',
  async run(seed, budgetMs) {
    const name = 'log-entry';
    const started = performance.now();
    const rng = new Rng(seed);
    const tally = new Tally();
    const seeds = seedCommands(rng, 30).map((c) => encodeCommand(c));
    // Two members with the same state must end in the same state whatever a committed entry holds.
    let a = baseline(seed, 10);
    let c = baseline(seed, 10);
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i === 0 || performance.now() < deadline; i++) {
      const input = mutate(rng.pick(seeds), rng, seeds);
      const before = fingerprint(a);
      const index = a.appliedIndex + 1;
      let ra, rc;
      try {
        ra = timed(name, seed, i, input, () => a.applyEntry(index, input));
        rc = c.applyEntry(index, input);
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        throw new FuzzFailure(name, seed, i, input, `applyEntry threw ${String(e)} (a committed entry must never stop a member)`);
      }
      if (JSON.stringify(ra) !== JSON.stringify(rc) || fingerprint(a) !== fingerprint(c)) {
        throw new FuzzFailure(name, seed, i, input, 'two members applying the same entry diverged');
      }
      if (ra.kind === 'error') {
        const [, , ...rest] = fingerprint(a).split('/');
        const [, , ...restBefore] = before.split('/');
        if (rest.slice(0, 3).join('/') !== restBefore.slice(0, 3).join('/')) throw new FuzzFailure(name, seed, i, input, 'a refused entry changed the key-value state');
        tally.add('error');
      } else {
        tally.add(ra.kind);
      }
      if (a.revision > 500) {
        a = baseline(seed, 10);
        c = baseline(seed, 10);
      }
    }
    return tally.report(name, started);
  },
};

export const envelopeTarget: FuzzTarget = {
  name: 'replica-snapshot',
  async run(seed, budgetMs) {
    const name = 'replica-snapshot';
    const started = performance.now();
    const rng = new Rng(seed);
    const tally = new Tally();
    const conf = { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const table = MemberTable.initial(
      [1, 2, 3, 4].map((id) => ({ id, name: `m${id}`, peerURLs: [`https://10.0.0.${id}:2380`], clientURLs: [`https://10.0.0.${id}:2379`] })),
      conf,
    );
    table.applyConfChange({ transition: 'auto', changes: [{ type: 'removeNode', nodeId: 4 }], context: new Uint8Array(0) }, { ...conf, learners: [] });
    const snapshots = [encodeSnapshot(table.encode(), baseline(seed, 8).snapshot()), encodeSnapshot(MemberTable.initial([], conf).encode(), baseline(seed, 1).snapshot())];
    const entries = [encodeKvEntry(7, encodeCommand(seedCommands(rng, 1)[0])), encodePublishEntry(3, 'm3', ['https://10.0.0.3:2379'])];
    const tables = [table.encode()];
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i === 0 || performance.now() < deadline; i++) {
      const which = rng.int(3);
      const input = which === 0 ? mutate(rng.pick(snapshots), rng, snapshots) : which === 1 ? mutate(rng.pick(tables), rng, tables) : mutate(rng.pick(entries), rng, entries);
      try {
        timed(name, seed, i, input, () => {
          if (which === 0) {
            const parts = decodeSnapshot(input);
            MemberTable.decode(parts.members, conf);
            new KvStore().restore(parts.kv);
          } else if (which === 1) {
            const t = MemberTable.decode(input, conf);
            t.list();
            t.removedMembers();
          } else {
            decodeEntry(input);
          }
        });
        tally.add('accepted');
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) {
          throw new FuzzFailure(name, seed, i, input, `a decoding bug rather than a refusal: ${String(e)}`);
        }
        tally.add('refused');
      }
    }
    return tally.report(name, started);
  },
};

export const certNamesTarget: FuzzTarget = {
  name: 'cert-names',
  async run(seed, budgetMs) {
    const name = 'cert-names';
    const started = performance.now();
    const rng = new Rng(seed);
    const tally = new Tally();
    const seeds = ['DNS:a.example, IP Address:10.0.0.1, URI:spiffe://t/x', 'DNS:"a,b", URI:"x:\\"y\\""', 'IP Address:0:0:0:0:0:0:0:1'].map((s) => Buffer.from(s));
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i === 0 || performance.now() < deadline; i++) {
      const input = mutate(rng.pick(seeds), rng, seeds);
      try {
        const id = timed(name, seed, i, input, () => identityOf({ subject: { CN: 'x' } as never, subjectaltname: input.toString('latin1'), fingerprint256: '' }));
        tally.add(id.dnsNames.length + id.ipAddresses.length + id.uris.length > 0 ? 'names' : 'no-names');
      } catch (e) {
        if (e instanceof FuzzFailure) throw e;
        throw new FuzzFailure(name, seed, i, input, `identityOf threw ${String(e)}`);
      }
    }
    return tally.report(name, started);
  },
};

export const DECODER_TARGETS = [kvSnapshotTarget, logEntryTarget, envelopeTarget, certNamesTarget];
