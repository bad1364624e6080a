/**
 * `@certloop/k8s-store` ListScanner: reads a LIST answer (`{"kind":"SecretList","metadata":{...},"items":[...]}`)
 * as its bytes arrive and hands each item's JSON text to `onItem` as soon as that item is complete. So a page of
 * 500 Secrets is never held whole, neither as text nor as a parsed tree: each item's text and parsed object die
 * young, and the young generation is not grown by a page's worth of survivors (bench/k8s-rss.ts measures it).
 * What lies outside `items` (kind, metadata: resourceVersion, continue) is kept and parsed at the end.
 *
 * It works on bytes: JSON's structural characters are ASCII, and UTF-8 never uses an ASCII byte inside a
 * multi-byte character. It only splits; each item is still checked by `JSON.parse`, and anything that is not a
 * JSON object with an `items` array of objects is refused with `CERTLOOP_WATCH_FAILED`. Internal.
 */
import { CertloopError } from '@certloop/core/base';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export class ListScanner {
  readonly #onItem: (json: string) => void;
  #depth = 0;
  #inString = false;
  #escape = false;
  /** The last string seen at depth 1 (a key, or a value that cannot precede `[`), as bytes. */
  #string: number[] | undefined;
  #lastString = '';
  /** Inside the top-level `items` array. */
  #inItems = false;
  #itemsSeen = false;
  /** The parts of the item being read (it may span chunks). */
  #itemParts: Buffer[] = [];
  #inItem = false;
  /** Everything outside `items`' elements. */
  #skeleton: Buffer[] = [];

  constructor(onItem: (json: string) => void) {
    this.#onItem = onItem;
  }

  push(chunk: Buffer): void {
    let skeletonFrom = this.#inItems ? -1 : 0;
    let itemFrom = this.#inItem ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (b === BACKSLASH) this.#escape = true;
        else if (b === QUOTE) {
          this.#inString = false;
          if (this.#string) {
            this.#lastString = String.fromCharCode(...this.#string);
            this.#string = undefined;
          }
          continue;
        }
        if (this.#string && this.#string.length < 64) this.#string.push(b);
        continue;
      }
      if (this.#inItems && this.#depth === 2 && !this.#inItem) {
        // between the elements of `items`: whitespace, commas, an object's start, or the array's end
        if (b === OPEN_BRACE) {
          this.#inItem = true;
          itemFrom = i;
          this.#depth = 3;
          continue;
        }
        if (b === CLOSE_BRACKET) {
          this.#inItems = false;
          this.#depth = 1;
          skeletonFrom = i;
          continue;
        }
        if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09 || b === 0x2c) continue;
        throw malformed('an element of items is not an object');
      }
      if (b === QUOTE) {
        this.#inString = true;
        if (this.#depth === 1) this.#string = [];
      } else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
        if (this.#depth === 0 && b !== OPEN_BRACE) throw malformed('the answer is not a JSON object');
        if (this.#depth === 1 && b === OPEN_BRACKET && this.#lastString === 'items' && !this.#itemsSeen) {
          this.#inItems = true;
          this.#itemsSeen = true;
          this.#skeleton.push(Buffer.from(chunk.subarray(skeletonFrom, i + 1)));
          skeletonFrom = -1;
        }
        this.#depth += 1;
      } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        this.#depth -= 1;
        if (this.#depth < 0) throw malformed('unbalanced brackets');
        if (this.#inItem && this.#depth === 2) {
          this.#itemParts.push(chunk.subarray(itemFrom, i + 1));
          this.#inItem = false;
          itemFrom = -1;
          const parts = this.#itemParts;
          this.#itemParts = [];
          this.#onItem(parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts).toString('utf8'));
        }
      }
    }
    // copies, so that no chunk stays alive for a few bytes of it
    if (skeletonFrom >= 0) this.#skeleton.push(Buffer.from(chunk.subarray(skeletonFrom)));
    if (itemFrom >= 0) this.#itemParts.push(Buffer.from(chunk.subarray(itemFrom)));
  }

  /** The answer without its items (`items` is `[]`); throws when it was not a whole JSON object with `items`. */
  end<T>(): T {
    if (this.#depth !== 0 || this.#inString || !this.#itemsSeen) throw malformed('the answer ended early');
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(this.#skeleton).toString('utf8'));
    } catch (err) {
      throw malformed('the answer is not JSON', err);
    }
    if (typeof doc !== 'object' || doc === null) throw malformed('the answer is not a JSON object');
    return doc as T;
  }
}

function malformed(why: string, cause?: unknown): CertloopError {
  return new CertloopError('CERTLOOP_WATCH_FAILED', `the secret list answer is malformed: ${why}`, { cause });
}
