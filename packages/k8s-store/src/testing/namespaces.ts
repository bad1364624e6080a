/**
 * `@certloop/k8s-store/testing` namespaces: `GET /api/v1/namespaces[/{name}]`, read-only. The emulator accepts
 * objects in any namespace, so the namespaces that exist are the four every cluster has, the emulator's own, and
 * every namespace holding an object. kubectl asks for the namespace after a 404 on a namespaced object, to say
 * `namespaces "x" not found` when that is the cause; a kube-apiserver's answer is what it needs to print
 * `secrets "nope" not found` instead.
 */
import { createHash } from 'node:crypto';
import { type KubeObject, RESOURCES, type ResourceKind } from './resources.js';
import type { Storage } from './storage.js';

/** Namespaces as a resource kind, for Status messages and tables. */
export const NAMESPACES: ResourceKind = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  qualified: 'namespaces',
};

const BUILT_IN = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

export class Namespaces {
  readonly #storage: Storage;
  readonly #own: string;
  readonly #created = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

  constructor(storage: Storage, own: string) {
    this.#storage = storage;
    this.#own = own;
  }

  /** Names of the namespaces that exist, sorted. */
  names(): string[] {
    const names = new Set([...BUILT_IN, this.#own]);
    for (const r of RESOURCES) for (const obj of this.#storage.list(r, undefined)) names.add(obj.metadata.namespace);
    return [...names].sort();
  }

  get(name: string): KubeObject | undefined {
    return this.names().includes(name) ? this.#object(name) : undefined;
  }

  list(): KubeObject[] {
    return this.names().map((name) => this.#object(name));
  }

  #object(name: string): KubeObject {
    const hex = createHash('sha256').update(`namespace/${name}`).digest('hex');
    const uid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
    return {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {
        name,
        uid,
        resourceVersion: '1',
        creationTimestamp: this.#created,
        labels: { 'kubernetes.io/metadata.name': name },
      } as unknown as KubeObject['metadata'],
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
  }
}
