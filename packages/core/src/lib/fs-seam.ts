/**
 * Internal: the `node:fs/promises` calls of the file store's write path (writer, commit, lock, durable writes),
 * through one seam so tests can make any single step fail (fault injection) while everything else runs on real
 * files. Without an injector each function is the `node:fs/promises` one plus one `undefined` check.
 */
import * as fsp from 'node:fs/promises';

/** Names a step: the fs function, or `write`/`fsync`/`utimes` for calls on an open handle. */
export type FsStep =
  | 'link'
  | 'lstat'
  | 'mkdir'
  | 'mkdtemp'
  | 'open'
  | 'readdir'
  | 'readFile'
  | 'readlink'
  | 'rename'
  | 'rm'
  | 'symlink'
  | 'unlink'
  | 'writeFile'
  | 'write'
  | 'fsync';

/** Called before every step with its name and (first) path; throwing makes the step fail with that error. */
export type FsFaultInjector = (step: FsStep, path: string) => void;

let injector: FsFaultInjector | undefined;

/** Test seam: installs (or, with undefined, removes) the fault injector for this process. */
export function setFsFaultInjector(next: FsFaultInjector | undefined): void {
  injector = next;
}

/** Runs the injector for a step made outside these wrappers (calls on an open file handle). */
export function faultPoint(step: FsStep, path: string): void {
  if (injector) injector(step, path);
}

const at = (path: unknown) => String(path);

export const link: typeof fsp.link = async (existing, path) => {
  faultPoint('link', at(path));
  return fsp.link(existing, path);
};
export const lstat = (async (path: string) => {
  faultPoint('lstat', path);
  return fsp.lstat(path);
}) as (path: string) => ReturnType<typeof fsp.lstat>;
export const mkdir = async (path: string, options?: { recursive?: boolean; mode?: number }) => {
  faultPoint('mkdir', path);
  return fsp.mkdir(path, options);
};
export const mkdtemp = async (prefix: string) => {
  faultPoint('mkdtemp', prefix);
  return fsp.mkdtemp(prefix);
};
export const open: typeof fsp.open = async (path, flags, mode) => {
  faultPoint('open', at(path));
  return fsp.open(path, flags, mode);
};
export const readdir = (async (path: string, options?: unknown) => {
  faultPoint('readdir', path);
  return fsp.readdir(path, options as never);
}) as typeof fsp.readdir;
export const readFile = (async (path: string, options?: unknown) => {
  faultPoint('readFile', path);
  return fsp.readFile(path, options as never);
}) as typeof fsp.readFile;
export const readlink = async (path: string) => {
  faultPoint('readlink', path);
  return fsp.readlink(path);
};
export const rename: typeof fsp.rename = async (from, to) => {
  faultPoint('rename', at(from));
  return fsp.rename(from, to);
};
export const rm: typeof fsp.rm = async (path, options) => {
  faultPoint('rm', at(path));
  return fsp.rm(path, options);
};
export const symlink: typeof fsp.symlink = async (target, path, type) => {
  faultPoint('symlink', at(path));
  return fsp.symlink(target, path, type);
};
export const unlink: typeof fsp.unlink = async (path) => {
  faultPoint('unlink', at(path));
  return fsp.unlink(path);
};
export const writeFile: typeof fsp.writeFile = async (path, data, options) => {
  faultPoint('writeFile', at(path));
  return fsp.writeFile(path, data, options);
};
