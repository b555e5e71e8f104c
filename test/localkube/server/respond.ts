// Writing HTTP answers the way the API server does: JSON bodies, Status errors,
// Warning headers. It must never decide API semantics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, internalError } from '../api/errors.ts';
import type { JsonObject } from '../store/object.ts';

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json', warnings: string[] = []): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': contentType,
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
  };
  if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** sendError renders any thrown value as a Status; unexpected errors become 500 InternalError. */
export function sendError(res: ServerResponse, err: unknown): void {
  const apiErr = err instanceof ApiError ? err : internalError((err as Error)?.message ?? String(err));
  if (!(err instanceof ApiError)) process.emitWarning(`localkube: unexpected error: ${(err as Error)?.stack ?? err}`);
  sendJson(res, apiErr.code, apiErr.toStatus());
}

export function successStatus(details: JsonObject = {}, code = 200): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code };
}

const MAX_BODY = 3 * 1024 * 1024;

/** readBody collects a request body as text (at most 3 MiB, the API server's limit). */
export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

/** readBodyBytes collects a request body (at most 3 MiB, the API server's limit). */
export async function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
