// PEM armour (RFC 7468): DER bytes to and from "-----BEGIN LABEL-----" text.
// Decoding is strict about what it returns (well-formed base64 between
// matching markers) and ignores text outside the blocks, as Secrets often
// carry comments. Must never return a block whose markers do not match.

/** PemError is text that does not hold the expected PEM blocks. */
export class PemError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PemError';
  }
}

export interface PemBlock {
  label: string;
  der: Buffer;
}

/** encodePem armours `der` under `label` (e.g. CERTIFICATE), 64 columns, trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  if (!/^[A-Z0-9 ]+$/.test(label)) throw new PemError(`invalid PEM label ${JSON.stringify(label)}`);
  const b64 = Buffer.from(der).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** decodePem returns every block in `text`, in order; `label` keeps only blocks with that label. */
export function decodePem(text: string | Uint8Array, label?: string): PemBlock[] {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('latin1');
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const [, begin, body, end] = m;
    if (begin !== end) throw new PemError(`PEM block BEGIN ${begin} ends with END ${end}`);
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new PemError(`PEM block ${begin} is not valid base64`);
    if (label === undefined || begin === label) out.push({ label: begin, der: Buffer.from(b64, 'base64') });
  }
  return out;
}

/** decodeOnePem returns the single block labelled `label`; throws when there is none or more than one. */
export function decodeOnePem(text: string | Uint8Array, label: string, what = label.toLowerCase()): Buffer {
  const blocks = decodePem(text, label);
  if (blocks.length === 0) throw new PemError(`${what}: no "-----BEGIN ${label}-----" block found`);
  if (blocks.length > 1) throw new PemError(`${what}: ${blocks.length} ${label} blocks found, expected one`);
  return blocks[0].der;
}
