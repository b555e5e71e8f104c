// The client API's admission limits, etcd's defaults, and the receive bound
// they imply for the client port's server. It must never hold per-request logic.
import { DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS } from '../../kv/index.ts';

/** EtcdApiLimits are the etcd flags --max-request-bytes and --max-txn-ops. */
export interface EtcdApiLimits {
  /** maxRequestBytes bounds an encoded write command (default 1.5 MiB, etcd's). */
  maxRequestBytes: number;
  /** maxTxnOps bounds each list of a txn (default 128, etcd's). */
  maxTxnOps: number;
}

export const DEFAULT_LIMITS: EtcdApiLimits = {
  maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
  maxTxnOps: DEFAULT_MAX_TXN_OPS,
};

/**
 * GRPC_OVERHEAD_BYTES is the headroom etcd adds to --max-request-bytes for
 * gRPC's own receive limit, so a request slightly over the limit reaches the
 * server and gets etcd's "request is too large" instead of a transport error.
 */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;

/** limitsWithDefaults fills unspecified limits and rejects nonsensical ones. */
export function limitsWithDefaults(limits: Partial<EtcdApiLimits> = {}): EtcdApiLimits {
  const out = { ...DEFAULT_LIMITS, ...limits };
  if (!Number.isSafeInteger(out.maxRequestBytes) || out.maxRequestBytes < 1) {
    throw new Error(`etcd api: maxRequestBytes must be a positive integer, got ${limits.maxRequestBytes}`);
  }
  if (!Number.isSafeInteger(out.maxTxnOps) || out.maxTxnOps < 1) {
    throw new Error(`etcd api: maxTxnOps must be a positive integer, got ${limits.maxTxnOps}`);
  }
  return out;
}

/** maxReceiveBytes is the client port's bound on one request message: maxRequestBytes + 512 KiB, as etcd's. */
export function maxReceiveBytes(limits: Partial<EtcdApiLimits> = {}): number {
  return limitsWithDefaults(limits).maxRequestBytes + GRPC_OVERHEAD_BYTES;
}
