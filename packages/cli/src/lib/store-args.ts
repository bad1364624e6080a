/**
 * `certloop` store flags written back as a command line, so advice names a command that runs against the same store
 * (`certloop rotate server --dir ./secrets`). Flags that came from the environment are left out: the same
 * environment gives them again.
 */
import type { StoreFlags } from '../store-factory.js';

/** A word as a POSIX shell reads it back. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `--dir d`, or `--store kubernetes --namespace ns ...`, without the flags whose value came from the environment. */
export function storeArgs(flags: StoreFlags, fromEnv: (flag: keyof StoreFlags) => boolean = () => false): string {
  const out: string[] = [];
  const add = (flag: keyof StoreFlags, name: string, value: string | undefined) => {
    if (value !== undefined && !fromEnv(flag)) out.push(name, shellWord(value));
  };
  if (flags.store === 'kubernetes') {
    add('store', '--store', 'kubernetes');
    add('kubeconfig', '--kubeconfig', flags.kubeconfig);
    add('context', '--context', flags.context);
    if (flags.namespace !== 'gloo-mesh') add('namespace', '--namespace', flags.namespace);
  } else {
    add('dir', '--dir', flags.dir);
  }
  return out.join(' ');
}
