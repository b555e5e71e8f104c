// RFC 6902 JSON Patch (application/json-patch+json), the default patch type of
// client-node's typed patch calls. It must never mutate its input document.
import { ApiError, badRequest } from '../api/errors.ts';
import { deepEqual, isPlainObject } from '../store/object.ts';

interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** applyJsonPatch applies a list of operations to a copy of doc; a failing operation answers 422. */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badRequest('json patch must be a JSON array of operations');
  let root = structuredClone(doc);
  for (const [i, raw] of patch.entries()) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw badRequest(`json patch operation ${i} must be an object with "op" and "path"`);
    }
    const op = raw as Operation;
    try {
      root = applyOne(root, op);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(422, 'Invalid', `json patch operation ${i} (${op.op} ${op.path}) failed: ${(err as Error).message}`);
    }
  }
  return root;
}

function applyOne(root: unknown, op: Operation): unknown {
  switch (op.op) {
    case 'add':
      requireValue(op);
      return add(root, parsePointer(op.path), structuredClone(op.value));
    case 'remove':
      return remove(root, parsePointer(op.path)).root;
    case 'replace': {
      requireValue(op);
      const tokens = parsePointer(op.path);
      get(root, tokens); // must exist
      return set(root, tokens, structuredClone(op.value));
    }
    case 'move': {
      if (typeof op.from !== 'string') throw badRequest('json patch "move" needs "from"');
      const from = parsePointer(op.from);
      const { root: without, value } = remove(root, from);
      return add(without, parsePointer(op.path), value);
    }
    case 'copy': {
      if (typeof op.from !== 'string') throw badRequest('json patch "copy" needs "from"');
      return add(root, parsePointer(op.path), structuredClone(get(root, parsePointer(op.from))));
    }
    case 'test':
      requireValue(op);
      if (!deepEqual(get(root, parsePointer(op.path)), op.value)) throw new Error('testing value failed');
      return root;
    default:
      throw badRequest(`json patch operation "${op.op}" is not one of add, remove, replace, move, copy, test`);
  }
}

function requireValue(op: Operation): void {
  if (!Object.hasOwn(op, 'value')) throw badRequest(`json patch "${op.op}" at ${op.path} needs "value"`);
}

/** parsePointer splits an RFC 6901 JSON pointer into unescaped tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json pointer "${pointer}" must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function get(root: unknown, tokens: string[]): unknown {
  let cur = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(t, cur.length, false);
      cur = cur[i];
    } else if (isPlainObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      throw new Error(`path /${tokens.join('/')} does not exist`);
    }
  }
  return cur;
}

function parentOf(root: unknown, tokens: string[]): unknown {
  return get(root, tokens.slice(0, -1));
}

function add(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : arrayIndex(last, parent.length + 1, true);
    parent.splice(i, 0, value);
  } else if (isPlainObject(parent)) {
    parent[last] = value;
  } else {
    throw new Error(`parent of ${'/' + tokens.join('/')} is not an object or array`);
  }
  return root;
}

function set(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false)] = value;
  else (parent as Record<string, unknown>)[last] = value;
  return root;
}

function remove(root: unknown, tokens: string[]): { root: unknown; value: unknown } {
  if (tokens.length === 0) throw new Error('cannot remove the whole document');
  const value = get(root, tokens);
  const parent = parentOf(root, tokens);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else delete (parent as Record<string, unknown>)[last];
  return { root, value };
}

function arrayIndex(token: string, length: number, forInsert: boolean): number {
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new Error(`"${token}" is not an array index`);
  const i = Number(token);
  if (i >= length) throw new Error(`array index ${i} is out of bounds${forInsert ? ' for insert' : ''}`);
  return i;
}
