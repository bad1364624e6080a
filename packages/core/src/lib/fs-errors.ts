/**
 * Internal: filesystem error helpers for the file store, lock and watcher.
 * Node's fs errors carry an errno `code`; certloop turns them into `CERTLOOP_STORE_IO` with the cause kept.
 */
import { CertloopError } from '../errors.js';

/** The errno code (`ENOENT`, `EEXIST`, ...) of a Node fs error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** True when `err` is a Node fs error with one of `codes`. */
export function hasErrno(err: unknown, ...codes: string[]): boolean {
  const code = errnoCode(err);
  return code !== undefined && codes.includes(code);
}

/**
 * Passes CertloopErrors through; wraps anything else as `CERTLOOP_STORE_IO` naming the operation and path, or
 * `CERTLOOP_READ_ONLY` when the filesystem is mounted read-only (EROFS).
 */
export function toStoreIoError(err: unknown, operation: string, path: string): CertloopError {
  if (err instanceof CertloopError) return err;
  if (hasErrno(err, 'EROFS')) {
    return new CertloopError(
      'CERTLOOP_READ_ONLY',
      `file store: ${operation} failed: ${path} is on a read-only filesystem`,
      {
        cause: err,
        details: { operation, path, errno: 'EROFS' },
      },
    );
  }
  return new CertloopError('CERTLOOP_STORE_IO', `file store: ${operation} failed for ${path}`, {
    cause: err,
    details: { operation, path, errno: errnoCode(err) },
  });
}
