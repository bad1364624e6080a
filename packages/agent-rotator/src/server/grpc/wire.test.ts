/**
 * The lean gRPC server's wire pieces on their own: message framing (whole, split, several per chunk, oversized,
 * compressed, bad flag), `grpc-message` percent-encoding, `grpc-timeout` parsing.
 */
import { describe, expect, it } from 'vitest';
import { frameMessage, MessageReader } from './framing.js';
import { decodeGrpcMessage, encodeGrpcMessage, GrpcStatus, GrpcStatusError } from './status.js';
import { parseGrpcTimeout } from './timeout.js';

function refusal(f: () => unknown): number | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof GrpcStatusError) return err.code;
    throw err;
  }
  return undefined;
}

describe('MessageReader', () => {
  it('reads whole messages, messages split anywhere, and several in one chunk', () => {
    const a = frameMessage(Buffer.from('hello'));
    const b = frameMessage(Buffer.alloc(0));
    const c = frameMessage(Buffer.from('world!'));
    const all = Buffer.concat([a, b, c]);
    expect(new MessageReader(64).push(all).map(String)).toEqual(['hello', '', 'world!']);
    for (let cut = 1; cut < all.length; cut++) {
      const reader = new MessageReader(64);
      const got = [...reader.push(all.subarray(0, cut)), ...reader.push(all.subarray(cut))].map(String);
      expect(got).toEqual(['hello', '', 'world!']);
      expect(reader.partial).toBe(false);
    }
    const byByte = new MessageReader(64);
    const got: string[] = [];
    for (const byte of all) got.push(...byByte.push(Buffer.from([byte])).map(String));
    expect(got).toEqual(['hello', '', 'world!']);
  });

  it('says when the body stopped inside a message or its header', () => {
    const reader = new MessageReader(64);
    expect(reader.push(frameMessage(Buffer.from('abc')).subarray(0, 6))).toEqual([]);
    expect(reader.partial).toBe(true);
    const header = new MessageReader(64);
    header.push(Buffer.from([0, 0]));
    expect(header.partial).toBe(true);
  });

  it('refuses an oversized message from its header (RESOURCE_EXHAUSTED), a compressed one or a bad flag (INTERNAL)', () => {
    const big = Buffer.from([0, 0, 0, 0x10, 0x01]); // 4097 bytes announced, none sent
    expect(refusal(() => new MessageReader(4096).push(big))).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(new MessageReader(4096).push(frameMessage(Buffer.alloc(4096)))).toHaveLength(1);
    const compressed = frameMessage(Buffer.from('x'));
    compressed[0] = 1;
    expect(refusal(() => new MessageReader(64).push(compressed))).toBe(GrpcStatus.INTERNAL);
    compressed[0] = 7;
    expect(refusal(() => new MessageReader(64).push(compressed))).toBe(GrpcStatus.INTERNAL);
  });
});

describe('grpc-message', () => {
  it('percent-encodes bytes outside printable ASCII and % itself, and decodes them back', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('100% sûr\n')).toBe('100%25 s%C3%BBr%0A');
    for (const text of ['', 'a%b', 'é → ✓', '%%41', 'tab\there']) {
      expect(decodeGrpcMessage(encodeGrpcMessage(text))).toBe(text);
    }
    expect(decodeGrpcMessage('bad %G1 escape %')).toBe('bad %G1 escape %');
  });
});

describe('grpc-timeout', () => {
  it('reads every unit, rounds up to a millisecond, and refuses malformed values', () => {
    expect(parseGrpcTimeout('2H')).toBe(7_200_000);
    expect(parseGrpcTimeout('3M')).toBe(180_000);
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('1500u')).toBe(2);
    expect(parseGrpcTimeout('1n')).toBe(1);
    expect(parseGrpcTimeout('0m')).toBe(0);
    expect(parseGrpcTimeout('99999999S')).toBe(99_999_999_000);
    for (const bad of ['', '5', 'S', '123456789S', '5s', '-1S', '1.5S', ' 5S']) {
      expect(parseGrpcTimeout(bad)).toBeUndefined();
    }
  });
});
