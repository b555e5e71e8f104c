// How a failed client call is recorded in the history (Jepsen's rules): a
// read that failed changed nothing, so it is :fail; a write or cas that
// failed is :info (it may have taken effect, now or later) unless the error
// proves the request was refused before it could be proposed. A timeout, a
// lost connection, "no leader" or "leader changed" all stay :info: the
// proposal may already sit in some member's log.
// It must never turn an unknown outcome into :fail: that makes the checker
// report violations that did not happen.
import * as grpc from '@grpc/grpc-js';
import { keyword, type EdnValue } from '../history/index.ts';

export interface FailureOutcome {
  readonly type: 'fail' | 'info';
  /** a short EDN keyword for the history's error field, e.g. :deadline-exceeded */
  readonly error: EdnValue;
  /** the error's text, for counting reasons in the summary */
  readonly reason: string;
}

/**
 * REFUSED_BEFORE_PROPOSAL are gRPC codes the client API returns only from its
 * admission checks (request validation, size limits), which run before the
 * request reaches raft.
 */
const REFUSED_BEFORE_PROPOSAL = new Set<number>([grpc.status.INVALID_ARGUMENT]);

/** failureOutcome classifies the error of a read, write or cas. */
export function failureOutcome(f: 'read' | 'write' | 'cas', err: unknown): FailureOutcome {
  const code = typeof (err as { code?: unknown })?.code === 'number' ? ((err as { code: number }).code) : undefined;
  const details = String((err as { details?: unknown })?.details ?? (err as Error)?.message ?? err);
  const name = code !== undefined ? (grpc.status[code] ?? `code-${code}`) : 'client-error';
  const error = keyword(name.toLowerCase().replace(/_/g, '-'));
  const reason = `${name}: ${shorten(details)}`;
  if (f === 'read') return { type: 'fail', error, reason };
  if (code !== undefined && REFUSED_BEFORE_PROPOSAL.has(code)) return { type: 'fail', error, reason };
  return { type: 'info', error, reason };
}

/** shorten keeps reasons countable: numbers and addresses vary between otherwise equal errors. */
function shorten(s: string): string {
  return s
    .replace(/\. Resolution note:.*$/s, '')
    .replace(/^(Deadline exceeded) after .*$/s, '$1')
    .replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 120);
}
