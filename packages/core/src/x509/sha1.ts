/**
 * Internal (`@certloop/core` x509): SHA-1 (FIPS 180-4) in JavaScript, for the subject key identifier of every
 * issued certificate (RFC 5280 4.2.1.2 method 1: the SHA-1 of the subjectPublicKey bits). An identifier, not a
 * security function: nothing relies on SHA-1's collision resistance here.
 *
 * Why not `node:crypto`: on the issuance path, right after a signature check, one `crypto.hash('sha1', ...)` of a
 * 65-byte key cost about 6 µs of CPU on Node 24 (OpenSSL 3.5; under 1.2 µs when measured alone) against about
 * 0.3 µs for this function in the same place (bench/issuance.ts, issue 16). The inputs are small (65 bytes for a
 * P-256 key, 270 for RSA-2048), so one to five compressions.
 */

/** The message schedule, reused (the function is synchronous, so no two calls share it). */
const W = new Int32Array(80);
/** The chaining state h0..h4, reused likewise. */
const H = new Int32Array(5);
/** The last one or two blocks: the tail of the message, the 0x80 byte, zeros and the bit length. */
const TAIL = new Uint8Array(128);

/** One 64-byte block of `bytes` at `offset` into the state {@link H}. */
function compress(bytes: Uint8Array, offset: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) {
    const p = offset + i * 4;
    w[i] = (bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!;
  }
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  for (let i = 0; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 20; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 40; i < 60; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + 0x8f1bbcdc + w[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  for (let i = 60; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0xca62c1d6 + w[i]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = t;
  }
  H[0] = H[0]! + a;
  H[1] = H[1]! + b;
  H[2] = H[2]! + c;
  H[3] = H[3]! + d;
  H[4] = H[4]! + e;
}

/** The SHA-1 digest of `data` (20 bytes, a new array). */
export function sha1(data: Uint8Array): Uint8Array {
  H[0] = 0x67452301;
  H[1] = 0xefcdab89;
  H[2] = 0x98badcfe;
  H[3] = 0x10325476;
  H[4] = 0xc3d2e1f0;
  const length = data.length;
  const whole = length & ~63;
  for (let offset = 0; offset < whole; offset += 64) compress(data, offset);
  // The padding: 0x80, zeros, then the length in bits as a 64-bit big-endian number, in one or two blocks.
  const rest = length - whole;
  const tailLength = rest < 56 ? 64 : 128;
  const tail = TAIL;
  for (let i = 0; i < rest; i++) tail[i] = data[whole + i]!;
  tail[rest] = 0x80;
  for (let i = rest + 1; i < tailLength - 8; i++) tail[i] = 0;
  const high = Math.floor(length / 0x20000000);
  const low = (length * 8) % 0x100000000;
  for (let i = 0; i < 4; i++) {
    tail[tailLength - 8 + i] = (high >>> (24 - 8 * i)) & 0xff;
    tail[tailLength - 4 + i] = (low >>> (24 - 8 * i)) & 0xff;
  }
  compress(tail, 0);
  if (tailLength === 128) compress(tail, 64);
  const out = new Uint8Array(20);
  for (let i = 0; i < 5; i++) {
    const h = H[i]!;
    out[i * 4] = h >>> 24;
    out[i * 4 + 1] = h >>> 16;
    out[i * 4 + 2] = h >>> 8;
    out[i * 4 + 3] = h;
  }
  return out;
}
