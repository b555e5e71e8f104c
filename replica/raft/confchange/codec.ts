// Binary form of a ConfChange as stored in a 'confChange' log entry, so every
// member decodes the same change. Versioned; decoding rejects anything malformed.
// Must never depend on the host's encoding libraries (the core stays pure).
import type { ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType } from '../types.ts';

const VERSION = 1;
const TRANSITIONS: ConfChangeTransition[] = ['auto', 'jointImplicit', 'jointExplicit'];
const TYPES: ConfChangeType[] = ['addNode', 'addLearner', 'removeNode'];

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const size = 1 + 1 + 4 + cc.changes.length * 9 + 4 + cc.context.length;
  const buf = new Uint8Array(size);
  const view = new DataView(buf.buffer);
  let o = 0;
  buf[o++] = VERSION;
  buf[o++] = TRANSITIONS.indexOf(cc.transition);
  view.setUint32(o, cc.changes.length);
  o += 4;
  for (const c of cc.changes) {
    buf[o++] = TYPES.indexOf(c.type);
    view.setFloat64(o, c.nodeId);
    o += 8;
  }
  view.setUint32(o, cc.context.length);
  o += 4;
  buf.set(cc.context, o);
  return buf;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const bad = (why: string): never => {
    throw new Error(`malformed configuration change: ${why}`);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 10) bad('too short');
  let o = 0;
  if (data[o++] !== VERSION) bad(`unknown version ${data[0]}`);
  const transition = TRANSITIONS[data[o++]] ?? bad('unknown transition');
  const n = view.getUint32(o);
  o += 4;
  if (o + n * 9 + 4 > data.length) bad('truncated changes');
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < n; i++) {
    const type = TYPES[data[o++]] ?? bad('unknown change type');
    const nodeId = view.getFloat64(o);
    o += 8;
    if (!Number.isSafeInteger(nodeId) || nodeId < 0) bad(`invalid node id ${nodeId}`);
    changes.push({ type, nodeId });
  }
  const clen = view.getUint32(o);
  o += 4;
  if (o + clen !== data.length) bad('bad context length');
  return { transition, changes, context: data.slice(o, o + clen) };
}
