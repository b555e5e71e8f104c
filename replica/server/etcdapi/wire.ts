// gRPC plumbing for the etcd services: service definitions built from
// proto/etcd/rpc.proto whose request decoder never throws (a malformed request
// becomes INVALID_ARGUMENT naming the message and the decode error, instead of
// grpc-js's generic INTERNAL), and the unary handler wrapper that maps thrown
// errors to gRPC statuses. It must never hold service behaviour.
import * as grpc from '@grpc/grpc-js';
import { loadProtos, serviceDefinition } from '../../../proto/grpc.ts';
import { decodePutRequest, encodePutResponse, type PutResponse } from '../../kv/index.ts';
import { ApiError, toServiceError } from './errors.ts';

/** ETCD_PROTO_ROOT is the parsed etcd client API. */
export const ETCD_PROTO_ROOT = loadProtos('etcd/rpc.proto');

const MALFORMED = Symbol('malformed request');

interface Malformed {
  [MALFORMED]: string;
}

function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

/**
 * etcdService returns the definition of `etcdserverpb.<name>` with decoding
 * errors turned into values the handler wrapper reports.
 */
export function etcdService(name: string): grpc.ServiceDefinition {
  const fullName = `etcdserverpb.${name}`;
  const def = serviceDefinition(ETCD_PROTO_ROOT, fullName);
  if (fullName === 'etcdserverpb.KV') {
    // Every put comes through here: the hand-written codec first (the same
    // fields and bytes as protobufjs), protobufjs for what it leaves.
    const put = def.Put as { requestDeserialize: (bytes: Buffer) => unknown; responseSerialize: (value: unknown) => Buffer };
    const decode = put.requestDeserialize;
    const encode = put.responseSerialize;
    put.requestDeserialize = (bytes) => decodePutRequest(bytes) ?? decode(bytes);
    put.responseSerialize = (value) => encodePutResponse(value as PutResponse) ?? encode(value);
  }
  const service = ETCD_PROTO_ROOT.lookupService(fullName);
  for (const [method, md] of Object.entries(def)) {
    const requestType = service.methods[method].resolvedRequestType!.fullName.replace(/^\./, '');
    const decode = md.requestDeserialize;
    (md as { requestDeserialize: (bytes: Buffer) => unknown }).requestDeserialize = (bytes: Buffer) => {
      try {
        return decode(bytes);
      } catch (err) {
        return { [MALFORMED]: `malformed ${requestType} (${bytes.length} bytes): ${(err as Error).message}` } satisfies Malformed;
      }
    };
  }
  return def;
}

/** ErrorSink is told about errors that are not client errors (bugs, backend failures), for logging. */
export type ErrorSink = (method: string, err: unknown) => void;

/** unary wraps an async handler: malformed requests and thrown errors become gRPC statuses. */
export function unary<Req, Res>(method: string, handler: (request: Req) => Promise<Res>, onError?: ErrorSink): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const request = call.request as unknown;
    if (isMalformed(request)) {
      callback(toServiceError(new ApiError(grpc.status.INVALID_ARGUMENT, request[MALFORMED])));
      return;
    }
    let pending: Promise<Res>;
    try {
      pending = handler(request as Req);
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (response) => callback(null, response),
      (err) => callback(toServiceError(err, (e) => onError?.(method, e))),
    );
  };
}

/** unimplemented answers a declared method we do not serve, saying so. */
export function unimplemented(method: string, why = 'is not implemented by replicant'): grpc.handleUnaryCall<unknown, unknown> {
  return (_call, callback) => callback(toServiceError(new ApiError(grpc.status.UNIMPLEMENTED, `${method} ${why}`)));
}
