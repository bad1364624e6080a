/**
 * `@certloop/k8s-store/testing` server-side printing: the `meta.k8s.io` Table a kube-apiserver answers when the
 * client asks for one (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, as `kubectl get` does), with the
 * columns of the kube-apiserver's own printers (pkg/printers/internalversion): Secret NAME TYPE DATA AGE, Lease
 * NAME HOLDER AGE, Namespace NAME STATUS AGE. Each row carries the object's metadata as a PartialObjectMetadata
 * (`includeObject=Metadata`, the default), the whole object (`Object`) or nothing (`None`). AGE is computed here, as
 * the server does, in kubectl's short human form.
 */
import { type KubeObject, LEASES, SECRETS } from './resources.js';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** The Table version the client asked for first (`v1` or `v1beta1`), or undefined when it did not ask for one. */
export function tableVersion(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((part) => part.trim());
    if (type !== 'application/json' && type !== '*/*') continue;
    const p = Object.fromEntries(params.map((param) => param.split('=').map((s) => s.trim()) as [string, string]));
    if (p.as === undefined) return undefined; // plain JSON preferred before any Table
    if (p.as === 'Table' && p.g === 'meta.k8s.io' && (p.v === 'v1' || p.v === 'v1beta1')) return p.v;
  }
  return undefined;
}

const NAME: ColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Cannot be updated.',
  priority: 0,
};
const AGE: ColumnDefinition = {
  name: 'Age',
  type: 'string',
  format: '',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};
const column = (name: string, description: string): ColumnDefinition => ({
  name,
  type: 'string',
  format: '',
  description,
  priority: 0,
});

function columnsOf(kind: string): ColumnDefinition[] {
  switch (kind) {
    case SECRETS.kind:
      return [
        NAME,
        column('Type', 'Used to facilitate programmatic handling of secret data.'),
        column('Data', 'Data contains the secret data.'),
        AGE,
      ];
    case LEASES.kind:
      return [NAME, column('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), AGE];
    default:
      return [NAME, column('Status', 'The status of the namespace'), AGE];
  }
}

function cellsOf(kind: string, obj: KubeObject, now: number): unknown[] {
  const age = humanAge(obj.metadata.creationTimestamp, now);
  switch (kind) {
    case SECRETS.kind:
      return [obj.metadata.name, obj.type ?? 'Opaque', Object.keys((obj.data as object) ?? {}).length, age];
    case LEASES.kind:
      return [obj.metadata.name, (obj.spec as { holderIdentity?: string })?.holderIdentity ?? '', age];
    default:
      return [obj.metadata.name, (obj.status as { phase?: string })?.phase ?? '', age];
  }
}

export interface TableOptions {
  readonly version: 'v1' | 'v1beta1';
  /** `includeObject`: Metadata (default), Object or None. */
  readonly includeObject: string | null;
  /** Whether to send the column definitions (a watch sends them with its first event only). */
  readonly columns: boolean;
  readonly now: number;
}

/** A Table of `objects` (each already presented with kind and apiVersion) of `kind`. */
export function toTable(
  kind: string,
  objects: readonly KubeObject[],
  listMeta: Record<string, unknown>,
  options: TableOptions,
): Record<string, unknown> {
  const apiVersion = `meta.k8s.io/${options.version}`;
  return {
    kind: 'Table',
    apiVersion,
    metadata: listMeta,
    columnDefinitions: options.columns ? columnsOf(kind) : null,
    rows: objects.map((obj) => ({
      cells: cellsOf(kind, obj, options.now),
      ...rowObject(obj, options.includeObject, apiVersion),
    })),
  };
}

function rowObject(obj: KubeObject, include: string | null, apiVersion: string): Record<string, unknown> {
  if (include === 'None') return {};
  if (include === 'Object') return { object: obj };
  return { object: { kind: 'PartialObjectMetadata', apiVersion, metadata: obj.metadata } };
}

/** apimachinery's `duration.HumanDuration` of the time since `timestamp` (kubectl's AGE column). */
export function humanAge(timestamp: string | undefined, now: number): string {
  const at = timestamp === undefined ? Number.NaN : Date.parse(timestamp);
  if (Number.isNaN(at)) return '<unknown>';
  const ms = now - at;
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.trunc(hours / 24) % 365;
    const years = Math.trunc(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}
