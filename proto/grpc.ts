// Loads our .proto files with protobufjs and turns their services into grpc-js
// service definitions, so every gRPC surface (client API, admin API, peer
// transport) is served and called from the same descriptors.
// It must never hold service behaviour: only loading, encoding and decoding.
//
// 64-bit integers decode as JavaScript numbers (not Long objects): every id,
// index, term and revision we produce stays below 2^53.
import protobuf from 'protobufjs';
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Without a Long implementation protobufjs reads and writes 64-bit fields as numbers.
(protobuf.util as { Long: unknown }).Long = undefined;
protobuf.configure();

/** PROTO_DIR is the folder holding this repository's .proto files. */
export const PROTO_DIR = path.dirname(fileURLToPath(import.meta.url));

/** loadProtos parses .proto files (paths relative to proto/) into one protobufjs Root. */
export function loadProtos(...files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    path.isAbsolute(target) ? target : path.join(PROTO_DIR, target);
  root.loadSync(files, { keepCase: false });
  root.resolveAll();
  return root;
}

/**
 * serviceDefinition builds the grpc-js definition of `fullName` (for example
 * 'etcdserverpb.KV'). Requests and responses are plain objects with camelCase
 * fields; decoded messages carry proto3 defaults for absent fields.
 */
export function serviceDefinition(root: protobuf.Root, fullName: string): grpc.ServiceDefinition {
  const service = root.lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    def[method.name] = {
      path: `/${fullName}/${method.name}`,
      requestStream: !!method.requestStream,
      responseStream: !!method.responseStream,
      requestSerialize: (value) => encode(req, value),
      requestDeserialize: (bytes) => decode(req, bytes),
      responseSerialize: (value) => encode(res, value),
      responseDeserialize: (bytes) => decode(res, bytes),
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
    };
  }
  return def;
}

/** clientConstructor returns a grpc-js client class for `fullName`, with one method per RPC. */
export function clientConstructor(root: protobuf.Root, fullName: string): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(serviceDefinition(root, fullName), fullName);
}

function encode(type: protobuf.Type, value: unknown): Buffer {
  const bytes = type.encode(value as Record<string, unknown>).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function decode(type: protobuf.Type, bytes: Buffer): unknown {
  return type.decode(bytes);
}
