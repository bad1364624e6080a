/**
 * Internal (`@certloop/core` x509): the text of a serial number, one form for certificates and CRL entries alike, so
 * a revoked certificate's serial always matches its CRL entry.
 */

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * The serial in a DER INTEGER's content octets, as OpenSSL and Node show it: the magnitude in lower-case hex, `-`
 * before a negative one (never two's complement, so -1 reads `-01` and 255 reads `ff`).
 */
export function serialText(bytes: Uint8Array): string {
  if (bytes.length > 0 && bytes[0]! & 0x80) {
    // Two's complement negation: invert every octet and add one.
    const magnitude = new Uint8Array(bytes.length);
    let carry = 1;
    for (let i = bytes.length - 1; i >= 0; i--) {
      const v = (~bytes[i]! & 0xff) + carry;
      magnitude[i] = v & 0xff;
      carry = v >> 8;
    }
    let i = 0;
    while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
    return `-${toHex(magnitude.subarray(i))}`;
  }
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return toHex(bytes.subarray(i));
}
