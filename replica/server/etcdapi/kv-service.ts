// The etcd KV service (Range, Put, DeleteRange, Txn, Compact). Reads go to the
// backend's read path (linearizable unless the request is serializable);
// writes are checked with etcd's rules, encoded, bounded by --max-request-bytes
// and proposed through the backend. It must never touch the store directly:
// only the backend knows whether this member may answer.
import {
  KvError, checkCompaction, checkDeleteRange, checkPut, checkRange, checkTxn, encodeCommand,
} from '../../kv/index.ts';
import type {
  CompactionRequest, DeleteRangeRequest, KvCommand, KvResult, PutRequest, RangeRequest, ResponseHeader, TxnRequest,
} from '../../kv/index.ts';
import type { ClientBackend } from './backend.ts';
import type { EtcdApiLimits } from './limits.ts';
import { unary } from './wire.ts';
import type { ErrorSink } from './wire.ts';

/** fillHeader completes a store header with this member's identity and term, as etcd's header.fill does. */
export function fillHeader(backend: ClientBackend, header: ResponseHeader | null | undefined): Required<ResponseHeader> {
  const h = backend.header();
  return {
    clusterId: h.clusterId,
    memberId: h.memberId,
    raftTerm: h.raftTerm,
    revision: header?.revision || h.revision,
  };
}

type WriteKind = KvCommand['kind'];
type Body<K extends WriteKind> = Extract<KvCommand, { kind: K }>['request'];
type Answer<K extends WriteKind> = Extract<KvResult, { kind: K }>['response'];

export function kvHandlers(backend: ClientBackend, limits: EtcdApiLimits, onError?: ErrorSink) {
  /** propose encodes a checked write, enforces the size limit and waits for its apply result. */
  async function propose<K extends WriteKind>(kind: K, request: Body<K>): Promise<Answer<K>> {
    const command = { kind, requestId: backend.nextRequestId(), request } as KvCommand;
    const data = encodeCommand(command);
    if (data.length > limits.maxRequestBytes) throw new KvError('requestTooLarge');
    const result = await backend.write(command, data);
    if (result.kind === 'error') throw result.error;
    if (result.kind !== kind) throw new Error(`backend answered a ${kind} with a ${result.kind} result`);
    if (result.requestId !== command.requestId) throw new Error(`backend answered request ${command.requestId} with the result of ${result.requestId}`);
    return (result as unknown as { response: Answer<K> }).response;
  }

  return {
    Range: unary('Range', async (req: RangeRequest) => {
      checkRange(req);
      const response = await backend.read(req, !!req.serializable);
      return { ...response, header: fillHeader(backend, response.header) };
    }, onError),

    Put: unary('Put', async (req: PutRequest) => {
      checkPut(req);
      const response = await propose('put', req);
      return { ...response, header: fillHeader(backend, response.header) };
    }, onError),

    DeleteRange: unary('DeleteRange', async (req: DeleteRangeRequest) => {
      checkDeleteRange(req);
      const response = await propose('deleteRange', req);
      return { ...response, header: fillHeader(backend, response.header) };
    }, onError),

    Txn: unary('Txn', async (req: TxnRequest) => {
      checkTxn(req, limits.maxTxnOps);
      const response = await propose('txn', req);
      return { ...response, header: fillHeader(backend, response.header) };
    }, onError),

    Compact: unary('Compact', async (req: CompactionRequest) => {
      checkCompaction(req);
      const response = await propose('compact', req);
      return { ...response, header: fillHeader(backend, response.header) };
    }, onError),
  };
}
