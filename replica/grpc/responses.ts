// The response side of the gRPC wire that every call shares: the OK headers,
// trailers with a status, custom metadata as header fields, and the
// trailers-only and plain-HTTP refusals. Pure encoding plus the one write of
// a refusal; it must never answer a stream that is closed or answered (the
// connection's respond() only releases it then).
import * as grpc from '@grpc/grpc-js';
import { percentEncode } from './framing.ts';
import type { H2Stream } from './h2/connection.ts';
import { encodeHeaderBlock, type HeaderField } from './h2/hpack.ts';

export const OK_HEADER_FIELDS: readonly HeaderField[] = [
  [':status', '200'],
  ['content-type', 'application/grpc'],
];
export const OK_HEADERS = encodeHeaderBlock(OK_HEADER_FIELDS);
export const OK_TRAILERS = encodeHeaderBlock([['grpc-status', '0']]);

/** metadataFields lists Metadata as header fields (binary values base64, as grpc-js sends them). */
export function metadataFields(metadata: grpc.Metadata): HeaderField[] {
  const out: HeaderField[] = [];
  for (const [name, value] of Object.entries(metadata.toHttp2Headers())) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, String(v)]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** responseHeaders are the OK headers, with what the handler passed to sendMetadata. */
export function responseHeaders(meta: grpc.Metadata | undefined): Buffer {
  return meta ? encodeHeaderBlock([...OK_HEADER_FIELDS, ...metadataFields(meta)]) : OK_HEADERS;
}

/** statusFields are grpc-status and (for a non-OK status) grpc-message, then the trailing metadata. */
function statusFields(code: grpc.status, details: string, metadata?: grpc.Metadata): HeaderField[] {
  const fields: HeaderField[] = [['grpc-status', String(code)]];
  if (code !== grpc.status.OK || details !== '') fields.push(['grpc-message', percentEncode(details)]);
  if (metadata) fields.push(...metadataFields(metadata));
  return fields;
}

/** statusTrailers is the trailers block ending a call whose headers went out already. */
export function statusTrailers(code: grpc.status, details: string, metadata?: grpc.Metadata): Buffer {
  if (code === grpc.status.OK && details === '' && !metadata) return OK_TRAILERS;
  return encodeHeaderBlock(statusFields(code, details, metadata));
}

/** refuseHttp answers a request that is not gRPC with a plain HTTP status, as the gRPC spec asks. */
export function refuseHttp(stream: H2Stream, status: number): void {
  stream.respond(encodeHeaderBlock([[':status', String(status)]]));
}

/**
 * sendStatus sends a trailers-only response (headers carrying grpc-status and
 * grpc-message, END_STREAM); the connection stops the request side with
 * RST_STREAM NO_ERROR if the client is still sending, so nothing more is read.
 */
export function sendStatus(stream: H2Stream, code: grpc.status, details: string, metadata?: grpc.Metadata, responseMetadata?: grpc.Metadata): void {
  // respond() does nothing on a stream already closed or answered (it only releases it)
  const fields: HeaderField[] = [...OK_HEADER_FIELDS];
  if (responseMetadata) fields.push(...metadataFields(responseMetadata));
  if (metadata) fields.push(...metadataFields(metadata));
  fields.push(['grpc-status', String(code)], ['grpc-message', percentEncode(details)]);
  stream.respond(encodeHeaderBlock(fields));
}
