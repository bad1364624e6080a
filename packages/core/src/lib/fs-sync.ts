/**
 * Internal: durable-write helpers. A rename is atomic but only durable once its directory is fsynced.
 */

import { hasErrno } from './fs-errors.js';
import { faultPoint, open } from './fs-seam.js';

/**
 * Fsyncs a directory so entries created or renamed in it survive a power loss. Linux supports this; other
 * platforms may refuse to open or sync a directory, where it is skipped (the rename is still atomic).
 */
export async function fsyncDirectory(path: string): Promise<void> {
  if (process.platform !== 'linux') return;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, 'r');
    faultPoint('fsync', path);
    await handle.sync();
  } catch (err) {
    // a directory that vanished meanwhile has nothing left to make durable
    if (!hasErrno(err, 'ENOENT', 'EINVAL', 'EISDIR', 'EPERM')) throw err;
  } finally {
    await handle?.close();
  }
}

/** Writes `data` to a new file (fails if it exists) with `mode`, and fsyncs it before closing. */
export async function writeFileDurably(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    faultPoint('write', path);
    await handle.writeFile(data);
    faultPoint('fsync', path);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
