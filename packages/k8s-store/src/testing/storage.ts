/**
 * `@certloop/k8s-store/testing` storage: objects of every kind under one revision counter (as etcd's), and a
 * bounded history of changes that watches replay from; older revisions are compacted (a watch from them is 410).
 */
import { randomUUID } from 'node:crypto';
import type { KubeObject, ResourceKind } from './resources.js';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Change {
  readonly revision: number;
  readonly resource: ResourceKind;
  readonly type: ChangeType;
  /** The new state; for DELETED the last state with the delete's revision. */
  readonly object: KubeObject;
  /** The state before (MODIFIED and DELETED), to tell selector enter and leave. */
  readonly previous: KubeObject | undefined;
}

export interface StorageOptions {
  /** How many changes the history keeps for watches (default 1000). */
  readonly historyLimit?: number;
  /** The first revision (default 1000: resourceVersions are opaque, never small indexes). */
  readonly initialRevision?: number;
}

export class Storage {
  #revision: number;
  #compactedThrough: number;
  readonly #historyLimit: number;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history: Change[] = [];
  readonly #listeners = new Set<(change: Change) => void>();

  constructor(options: StorageOptions = {}) {
    this.#revision = options.initialRevision ?? 1000;
    this.#compactedThrough = this.#revision;
    this.#historyLimit = options.historyLimit ?? 1000;
  }

  /** The current revision: a list's resourceVersion. */
  get revision(): number {
    return this.#revision;
  }

  /** Watches from a revision below this are too old (410 Expired). */
  get compactedThrough(): number {
    return this.#compactedThrough;
  }

  #bucket(r: ResourceKind): Map<string, KubeObject> {
    let bucket = this.#objects.get(r.plural);
    if (!bucket) {
      bucket = new Map();
      this.#objects.set(r.plural, bucket);
    }
    return bucket;
  }

  get(r: ResourceKind, namespace: string, name: string): KubeObject | undefined {
    return this.#bucket(r).get(`${namespace}/${name}`);
  }

  /** Objects of a kind, in one namespace or all, sorted by namespace then name. */
  list(r: ResourceKind, namespace: string | undefined): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.#bucket(r).values()) {
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    }
    return out.sort((a, b) =>
      a.metadata.namespace === b.metadata.namespace
        ? a.metadata.name < b.metadata.name
          ? -1
          : 1
        : a.metadata.namespace < b.metadata.namespace
          ? -1
          : 1,
    );
  }

  /** Stores a new object: sets uid, creationTimestamp and the next revision. The caller checked absence. */
  create(r: ResourceKind, obj: KubeObject): KubeObject {
    const revision = ++this.#revision;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    obj.metadata.resourceVersion = String(revision);
    this.#bucket(r).set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    this.#record({ revision, resource: r, type: 'ADDED', object: obj, previous: undefined });
    return obj;
  }

  /** Replaces a stored object (uid and creationTimestamp kept) at the next revision. */
  update(r: ResourceKind, previous: KubeObject, obj: KubeObject): KubeObject {
    const revision = ++this.#revision;
    obj.metadata.uid = previous.metadata.uid;
    obj.metadata.creationTimestamp = previous.metadata.creationTimestamp;
    obj.metadata.resourceVersion = String(revision);
    this.#bucket(r).set(`${obj.metadata.namespace}/${obj.metadata.name}`, obj);
    this.#record({ revision, resource: r, type: 'MODIFIED', object: obj, previous });
    return obj;
  }

  remove(r: ResourceKind, previous: KubeObject): KubeObject {
    const revision = ++this.#revision;
    this.#bucket(r).delete(`${previous.metadata.namespace}/${previous.metadata.name}`);
    const last = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) } };
    this.#record({ revision, resource: r, type: 'DELETED', object: last, previous });
    return last;
  }

  /** Changes after `revision`, oldest first. The caller checked `revision >= compactedThrough`. */
  since(revision: number): Change[] {
    const start = this.#history.findIndex((c) => c.revision > revision);
    return start < 0 ? [] : this.#history.slice(start);
  }

  /** Drops the whole history: a watch from any earlier revision is now 410 Expired. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedThrough = this.#revision;
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(change: Change): void {
    this.#history.push(change);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.shift();
      if (dropped) this.#compactedThrough = dropped.revision;
    }
    for (const listener of this.#listeners) listener(change);
  }
}
