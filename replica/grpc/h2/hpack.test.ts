// HPACK decoding and encoding: RFC 7541's request examples with Huffman
// coding (C.4, three blocks sharing one dynamic table), eviction and table
// size updates, every byte value through the Huffman decoder by way of a real
// encoder (node's nghttp2, through an HTTP/2 request to our connection code),
// malformed blocks and header-list bombs refused, and our encoder's blocks
// read back by node's HTTP/2 client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { HpackDecoder, HpackError, HeaderListTooLarge, encodeHeaderBlock, type HeaderField } from './hpack.ts';
import { CODES, LENGTHS, huffmanDecode, HuffmanError } from './huffman.ts';
import { H2Connection, type RequestHeaders } from './connection.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const BIG = 1 << 20;

test('RFC 7541 C.4: three requests with Huffman-coded strings share one dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), BIG, 100), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'), BIG, 100), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), BIG, 100), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
});

/** literal with incremental indexing, new name, plain strings (short ones only) */
function indexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

test('the dynamic table evicts its oldest entries to fit, and follows size updates up to the limit', () => {
  // each entry below is 1 + 1 + 32 = 34 octets; a 100-octet table holds two
  const d = new HpackDecoder(100);
  d.decode(Buffer.concat([indexed('a', '1'), indexed('b', '2'), indexed('c', '3')]), BIG, 100);
  assert.deepEqual(d.decode(hex('be bf'), BIG, 100), [
    ['c', '3'],
    ['b', '2'],
  ]);
  assert.throws(() => d.decode(hex('c0'), BIG, 100), HpackError, 'the evicted entry is gone');
  // a size update to 34 keeps only the newest; one over the limit is refused; updates only open a block
  d.decode(Buffer.from([0x20 | 31, 3]), BIG, 100);
  assert.deepEqual(d.decode(hex('be'), BIG, 100), [['c', '3']]);
  assert.throws(() => d.decode(hex('bf'), BIG, 100), HpackError);
  assert.throws(() => d.decode(Buffer.from([0x3f, 0x46]), BIG, 100), /over the 100 allowed/);
  assert.throws(() => d.decode(Buffer.from([0x82, 0x20]), BIG, 100), /after a header field/);
  // an entry larger than the whole table empties it
  d.decode(Buffer.from([0x3f, 0x46 - 1]), BIG, 100); // back to 100
  d.decode(indexed('x'.repeat(40), 'y'.repeat(40)), BIG, 100);
  assert.throws(() => d.decode(hex('be'), BIG, 100), HpackError);
});

test('malformed blocks are refused: index 0 or past the tables, truncated strings and integers, EOS and bad padding', () => {
  const bad = ['80', 'ff00', '0f', '00 05 61', '8286 84 41 8c f1e3', 'ff ff ff ff ff ff 0f'];
  for (const b of bad) assert.throws(() => new HpackDecoder().decode(hex(b), BIG, 100), HpackError, b);
  // Huffman: "a" is 00011 (5 bits); padding of ones is fine, zeros or 8+ bits are not; EOS (30 ones) is refused
  assert.equal(huffmanDecode(Buffer.from([0b00011111]), 0, 1), 'a');
  assert.throws(() => huffmanDecode(Buffer.from([0b00011000]), 0, 1), HuffmanError);
  assert.throws(() => huffmanDecode(Buffer.from([0b00011111, 0xff]), 0, 2), HuffmanError);
  assert.throws(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4), HuffmanError);
});

test('every byte value, Huffman-coded with the table, decodes back to itself', () => {
  const input = Buffer.alloc(512);
  for (let i = 0; i < 512; i++) input[i] = (i * 7 + (i >> 8)) & 0xff;
  // encode bit by bit, then pad with ones
  const bits: number[] = [];
  for (const b of input) for (let i = LENGTHS[b] - 1; i >= 0; i--) bits.push(Math.floor(CODES[b] / 2 ** i) & 1);
  while (bits.length % 8 !== 0) bits.push(1);
  const bytes = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < bits.length; i++) bytes[i >> 3] |= bits[i] << (7 - (i & 7));
  const first = huffmanDecode(bytes, 0, bytes.length);
  assert.equal(first, input.toString('latin1'));
  assert.equal(new Set(input).size, 256);
  // decoding shares one scratch buffer: a short string and the long one again decode right, the first result stays
  assert.equal(huffmanDecode(Buffer.from([0b00011111]), 0, 1), 'a');
  assert.equal(huffmanDecode(bytes, 0, bytes.length), input.toString('latin1'));
  assert.equal(first, input.toString('latin1'));
});

test('a header list over its bound is refused, however few octets name it (indexed references to one large entry)', () => {
  const d = new HpackDecoder();
  // literal with indexing: name "k", value of 1000 'v's (length 1000 = 127 + 873: 0x7f, then 873 as a varint)
  const value = Buffer.alloc(1000, 0x76);
  const block = Buffer.concat([Buffer.from([0x40, 1, 0x6b, 0x7f, 873 % 128 | 0x80, Math.floor(873 / 128)]), value]);
  assert.equal(d.decode(block, 4096, 100).length, 1);
  const bomb = Buffer.alloc(200, 0xbe); // 200 references to the 1001-octet entry
  assert.throws(() => d.decode(bomb, 64 << 10, 1000), HeaderListTooLarge);
  assert.throws(() => new HpackDecoder().decode(Buffer.alloc(300, 0x82), BIG, 256), HeaderListTooLarge);
});

/** serveHeaders runs our connection code on a local port and resolves each request's headers. */
async function serveHeaders(t: { after(fn: () => void): void }): Promise<{ port: number; seen: RequestHeaders[] }> {
  const seen: RequestHeaders[] = [];
  const server = net.createServer((socket) => {
    new H2Connection(socket, {
      onStream: (stream) => {
        seen.push(stream.headers);
        stream.onEnd = () =>
          stream.respond(
            encodeHeaderBlock([
              [':status', '200'],
              ['x-echo', String(stream.headers['x-probe'] ?? '')],
              ['x-long', 'L'.repeat(300)],
            ]),
            Buffer.from('ok'),
            encodeHeaderBlock([['grpc-status', '0']]),
          );
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, seen };
}

test('every byte value a header may carry survives a real encoder (Huffman and dynamic table), and our blocks decode in node', async (t) => {
  const { port, seen } = await serveHeaders(t);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => session.destroy());
  // printable ASCII and latin1's upper half: everything node lets into a header value (no space at either end)
  let all = '<';
  for (let c = 0x20; c <= 0x7e; c++) all += String.fromCharCode(c);
  for (let c = 0x80; c <= 0xff; c++) all += String.fromCharCode(c);
  all += '>';
  const ascii = all.slice(0, 0x7e - 0x20 + 2) + '>';
  const values = [all, 'www.example.com', ascii, 'abc', all.split('').reverse().join(''), 'abc', ascii, all];
  for (const v of values) {
    const answer = await new Promise<{ h: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/p', 'x-probe': v, 'x-repeat': ['one', 'two'] });
      let body = '';
      let h: http2.IncomingHttpHeaders = {};
      req.on('response', (x) => (h = x));
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('error', reject);
      req.on('close', () => resolve({ h, body }));
      req.end();
    });
    assert.equal(answer.body, 'ok');
    assert.equal(answer.h['x-long'], 'L'.repeat(300));
    assert.equal(answer.h['x-echo'], v);
  }
  assert.deepEqual(
    seen.map((h) => h['x-probe']),
    values,
  );
  assert.deepEqual(seen[0]['x-repeat'], ['one', 'two']);
  assert.equal(seen[0][':method'], 'POST');
  assert.equal(seen[0][':path'], '/p');
});

test('encodeHeaderBlock: ":status 200" is one octet, other fields literal; lengths over 127 use the integer continuation', () => {
  const fields: HeaderField[] = [
    [':status', '200'],
    ['k', 'v'.repeat(200)],
  ];
  const block = encodeHeaderBlock(fields);
  assert.equal(block[0], 0x88);
  assert.deepEqual(new HpackDecoder().decode(block, BIG, 100), fields);
});
