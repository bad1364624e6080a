/**
 * `@certloop/k8s-store/testing` object handlers: get, list, create, replace, patch and delete of Secrets and Leases,
 * with the preconditions, codes and bodies of a kube-apiserver (`pkg/endpoints/handlers`, the generic registry).
 * A write that changes nothing (same content) is a no-op at the same resourceVersion, as etcd3's GuaranteedUpdate.
 */
import { randomBytes } from 'node:crypto';
import { type ManagedFieldsEntry, managedFieldsOf } from './managed-fields.js';
import { jsonPatch, mergePatch } from './patch.js';
import { decodeProtobufSecret, PROTOBUF_CONTENT_TYPE } from './protobuf.js';
import { type KubeObject, LEASES, type ResourceKind, SECRETS } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { deletedStatus, statusErrors } from './status.js';
import type { Storage } from './storage.js';
import { toTable } from './table.js';
import { admitLease, admitSecret } from './validation.js';
import type { WatchRequest } from './watch-hub.js';

export interface Route {
  readonly resource: ResourceKind;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
}

export interface HandlerInput {
  readonly query: URLSearchParams;
  readonly body: Buffer | undefined;
  readonly contentType: string;
  /** The Table version the client asked for (`Accept: ...;as=Table`), if any: answers of get and list print. */
  readonly table?: 'v1' | 'v1beta1' | undefined;
}

export interface Answer {
  readonly code: number;
  readonly body: unknown;
}

const SERVER_FIELDS = ['uid', 'resourceVersion', 'creationTimestamp', 'selfLink', 'generation', 'managedFields'];

/** The object as the API returns it: kind and apiVersion first. */
export function present(r: ResourceKind, obj: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return { kind: r.kind, apiVersion: r.apiVersion, ...rest } as KubeObject;
}

function withoutKind(obj: KubeObject): KubeObject {
  const { kind: _k, apiVersion: _a, ...rest } = obj;
  return rest as KubeObject;
}

function parseJson(r: ResourceKind, body: Buffer | undefined): unknown {
  try {
    return JSON.parse((body ?? Buffer.alloc(0)).toString('utf8'));
  } catch (err) {
    throw statusErrors.decode(r, `couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

function asObject(r: ResourceKind, value: unknown): KubeObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw statusErrors.decode(r, 'the body is not a JSON object');
  }
  const obj = structuredClone(value) as KubeObject;
  if (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata)) {
    obj.metadata = {} as KubeObject['metadata'];
  }
  if (obj.kind !== undefined && obj.kind !== r.kind) {
    throw statusErrors.badRequest(`the kind "${String(obj.kind)}" does not match "${r.kind}"`);
  }
  return obj;
}

/** A JSON body, or a protobuf Secret (kubectl's default encoding for built-in kinds); anything else is 415. */
function decodeBody(r: ResourceKind, input: HandlerInput): unknown {
  const type = input.contentType;
  if (type === PROTOBUF_CONTENT_TYPE && r === SECRETS) return decodeProtobufSecret(input.body ?? new Uint8Array(0));
  if (type !== '' && type !== 'application/json' && type !== '*/*') {
    throw statusErrors.custom(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got ${type})`,
    );
  }
  return parseJson(r, input.body);
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { kind: _k, apiVersion: _a, metadata, ...rest } = o;
    const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => !SERVER_FIELDS.includes(k)));
    return canonical({ ...rest, metadata: meta });
  };
  return strip(a) === strip(b);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `limit` and `continue`: pages in name order. The token carries the first page's revision and the last key
 * served; later pages answer at that revision (a real server serves the snapshot, this one the current state
 * after the key, which a reflector's watch from that revision reconciles).
 */
function paginate(all: KubeObject[], query: URLSearchParams, revision: number) {
  const limit = Number(query.get('limit') ?? 0);
  const token = query.get('continue');
  let rv = String(revision);
  let items = all;
  if (token) {
    let decoded: { rv: string; ns: string; name: string };
    try {
      decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw statusErrors.badRequest('invalid continue token');
    }
    rv = decoded.rv;
    const { ns, name } = decoded;
    items = all.filter((o) => o.metadata.namespace > ns || (o.metadata.namespace === ns && o.metadata.name > name));
  }
  if (!(limit > 0) || items.length <= limit) return { metadata: { resourceVersion: rv }, items };
  const page = items.slice(0, limit);
  const last = page.at(-1)!;
  const next = Buffer.from(JSON.stringify({ rv, ns: last.metadata.namespace, name: last.metadata.name })).toString(
    'base64url',
  );
  return { metadata: { resourceVersion: rv, continue: next, remainingItemCount: items.length - limit }, items: page };
}

export class ObjectHandlers {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  watchRequest(route: Route, query: URLSearchParams, table?: 'v1' | 'v1beta1'): WatchRequest {
    const timeout = query.get('timeoutSeconds');
    // a printed watch: each event's object is a one-row Table, the column definitions with the first event only
    let first = true;
    const printed = (obj: KubeObject) => {
      const shown = present(route.resource, obj);
      const options = { version: table!, includeObject: query.get('includeObject'), columns: first, now: Date.now() };
      first = false;
      return toTable(route.resource.kind, [shown], { resourceVersion: obj.metadata.resourceVersion }, options);
    };
    return {
      resource: route.resource,
      namespace: route.namespace,
      select: this.#selector(route, query),
      resourceVersion: query.get('resourceVersion'),
      allowBookmarks: query.get('allowWatchBookmarks') === 'true',
      timeoutSeconds: timeout === null ? undefined : Math.max(0, Number(timeout)),
      present: table ? (printed as (obj: KubeObject) => KubeObject) : (obj) => present(route.resource, obj),
    };
  }

  #selector(route: Route, query: URLSearchParams) {
    const labels = parseLabelSelector(query.get('labelSelector'));
    const fields = parseFieldSelector(route.resource, query.get('fieldSelector'));
    return (obj: KubeObject) => labels(obj) && fields(obj);
  }

  handle(verb: string, route: Route, input: HandlerInput): Answer {
    const r = route.resource;
    const namespace = route.namespace ?? '';
    const name = route.name ?? '';
    switch (verb) {
      case 'get': {
        const obj = this.#storage.get(r, namespace, name);
        if (!obj) throw statusErrors.notFound(r, name);
        if (input.table) {
          const meta = { resourceVersion: obj.metadata.resourceVersion };
          return { code: 200, body: toTable(r.kind, [present(r, obj)], meta, tableOptions(input)) };
        }
        return { code: 200, body: present(r, obj) };
      }
      case 'list': {
        const select = this.#selector(route, input.query);
        const page = paginate(
          this.#storage.list(r, route.namespace).filter(select),
          input.query,
          this.#storage.revision,
        );
        if (input.table) {
          const rows = page.items.map((obj) => present(r, obj));
          return { code: 200, body: toTable(r.kind, rows, page.metadata, tableOptions(input)) };
        }
        return {
          code: 200,
          body: {
            kind: r.listKind,
            apiVersion: r.apiVersion,
            metadata: page.metadata,
            items: page.items.map(withoutKind),
          },
        };
      }
      case 'create':
        return this.#create(r, namespace, asObject(r, decodeBody(r, input)));
      case 'update':
        return this.#replace(r, namespace, name, asObject(r, decodeBody(r, input)));
      case 'patch':
        return this.#patch(r, namespace, name, input);
      case 'delete':
        return this.#delete(r, namespace, name, input.body);
      default:
        throw statusErrors.methodNotAllowed(verb);
    }
  }

  #create(r: ResourceKind, namespace: string, obj: KubeObject, managedFields?: ManagedFieldsEntry[]): Answer {
    const meta = obj.metadata;
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw statusErrors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.namespace = namespace;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw statusErrors.internal('resourceVersion should not be set on objects to be created');
    }
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string') {
      meta.name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    }
    for (const field of SERVER_FIELDS) delete meta[field];
    if (managedFields) meta.managedFields = managedFields;
    this.#admit(r, obj, undefined);
    if (this.#storage.get(r, namespace, meta.name)) throw statusErrors.alreadyExists(r, meta.name);
    obj.kind = r.kind;
    obj.apiVersion = r.apiVersion;
    return { code: 201, body: present(r, this.#storage.create(r, obj)) };
  }

  #replace(r: ResourceKind, namespace: string, name: string, obj: KubeObject): Answer {
    const meta = obj.metadata;
    if (meta.name !== undefined && meta.name !== name) {
      throw statusErrors.badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
      );
    }
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw statusErrors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta.name = name;
    meta.namespace = namespace;
    const old = this.#storage.get(r, namespace, name);
    if (!old) {
      // Leases are created by a PUT (AllowCreateOnUpdate), but not when a resourceVersion precondition is set
      if (r !== LEASES || (meta.resourceVersion !== undefined && meta.resourceVersion !== '')) {
        throw statusErrors.notFound(r, name);
      }
      (meta as Partial<typeof meta>).resourceVersion = undefined;
      return this.#create(r, namespace, obj);
    }
    const rv = meta.resourceVersion;
    if (rv === undefined || rv === '') {
      if (r === LEASES) {
        throw statusErrors.invalid(r, name, [
          {
            reason: 'FieldValueInvalid',
            message: 'Invalid value: 0: must be specified for an update',
            field: 'metadata.resourceVersion',
          },
        ]);
      }
    } else if (rv !== old.metadata.resourceVersion) {
      throw statusErrors.modified(r, name);
    }
    return this.#write(r, old, obj);
  }

  /** Writes `obj` over `old`; the managed fields are `old`'s unless an apply gives new ones. */
  #write(r: ResourceKind, old: KubeObject, obj: KubeObject, managedFields?: ManagedFieldsEntry[]): Answer {
    for (const field of SERVER_FIELDS) delete obj.metadata[field];
    const managed = managedFields ?? old.metadata.managedFields;
    if (managed !== undefined) obj.metadata.managedFields = managed;
    obj.kind = r.kind;
    obj.apiVersion = r.apiVersion;
    this.#admit(r, obj, old);
    if (sameContent(old, obj)) return { code: 200, body: present(r, old) };
    return { code: 200, body: present(r, this.#storage.update(r, old, obj)) };
  }

  #patch(r: ResourceKind, namespace: string, name: string, input: HandlerInput): Answer {
    const old = this.#storage.get(r, namespace, name);
    const type = input.contentType;
    const known = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ];
    if (!known.includes(type)) throw statusErrors.unsupportedMediaType(type);
    let patch: unknown;
    try {
      patch = JSON.parse((input.body ?? Buffer.alloc(0)).toString('utf8'));
    } catch {
      throw statusErrors.badRequest('error decoding patch: invalid JSON');
    }
    let applied: ManagedFieldsEntry[] | undefined;
    if (type === 'application/apply-patch+yaml') {
      // server-side apply: the manager (required) owns the fields of its configuration, recorded in managedFields
      const manager = input.query.get('fieldManager');
      if (!manager) throw statusErrors.badRequest('PATCH, fieldManager is required for apply requests');
      const entry = managedFieldsOf(manager, 'Apply', r.apiVersion, patch, new Date());
      const others = ((old?.metadata.managedFields ?? []) as ManagedFieldsEntry[]).filter(
        (e) => e.manager !== manager || e.operation !== 'Apply',
      );
      applied = [...others, entry];
    }
    if (!old) {
      if (applied) return this.#create(r, namespace, asObject(r, patch), applied);
      throw statusErrors.notFound(r, name);
    }
    const current = present(r, structuredClone(old));
    let next: unknown;
    if (type === 'application/json-patch+json') next = jsonPatch(current, patch);
    else {
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw statusErrors.badRequest('error decoding patch: a merge patch must be a JSON object');
      }
      next = mergePatch(current, patch);
    }
    const obj = asObject(r, next);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw statusErrors.modified(r, name);
    if (obj.metadata.name !== name || (obj.metadata.namespace ?? namespace) !== namespace) {
      throw statusErrors.badRequest('metadata.name and metadata.namespace cannot be changed by a patch');
    }
    return this.#write(r, old, obj, applied);
  }

  #delete(r: ResourceKind, namespace: string, name: string, body: Buffer | undefined): Answer {
    const old = this.#storage.get(r, namespace, name);
    if (!old) throw statusErrors.notFound(r, name);
    let options: { preconditions?: { resourceVersion?: string; uid?: string } } = {};
    if (body && body.length > 0) {
      try {
        options = JSON.parse(body.toString('utf8'));
      } catch {
        throw statusErrors.badRequest('DeleteOptions: invalid JSON');
      }
    }
    const pre = options?.preconditions;
    if (pre?.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw statusErrors.conflict(
        r,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    if (pre?.uid !== undefined && pre.uid !== old.metadata.uid) {
      throw statusErrors.conflict(
        r,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    this.#storage.remove(r, old);
    return { code: 200, body: deletedStatus(r, name, old.metadata.uid) };
  }

  #admit(r: ResourceKind, obj: KubeObject, old: KubeObject | undefined): void {
    if (r === LEASES) admitLease(obj);
    else admitSecret(obj, old);
  }
}

function tableOptions(input: HandlerInput) {
  return { version: input.table!, includeObject: input.query.get('includeObject'), columns: true, now: Date.now() };
}
