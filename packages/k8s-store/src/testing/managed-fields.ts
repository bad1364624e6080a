/**
 * `@certloop/k8s-store/testing` managed fields: the `metadata.managedFields` entry a kube-apiserver records for a
 * server-side apply: the manager, the operation, the time (whole seconds) and, as `FieldsV1`, the set of fields its
 * applied configuration names (`f:<field>` per object key, `{}` at each leaf; apiVersion, kind, metadata.name and
 * metadata.namespace identify the object and are not listed), keys in sorted order as the server serializes them.
 */

export interface ManagedFieldsEntry {
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly apiVersion: string;
  readonly time: string;
  readonly fieldsType: 'FieldsV1';
  readonly fieldsV1: Record<string, unknown>;
}

const IDENTITY = new Set(['apiVersion', 'kind']);
const METADATA_IDENTITY = new Set([
  'name',
  'namespace',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'managedFields',
]);

export function managedFieldsOf(
  manager: string,
  operation: 'Apply' | 'Update',
  apiVersion: string,
  config: unknown,
  now: Date,
): ManagedFieldsEntry {
  const fields: Record<string, unknown> = {};
  if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
    for (const key of Object.keys(config).sort()) {
      if (IDENTITY.has(key)) continue;
      const value = (config as Record<string, unknown>)[key];
      if (key === 'metadata' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const meta = fieldSet(value, METADATA_IDENTITY);
        if (Object.keys(meta).length > 0) fields['f:metadata'] = meta;
        continue;
      }
      fields[`f:${key}`] = fieldSet(value);
    }
  }
  return {
    manager,
    operation,
    apiVersion,
    time: `${now.toISOString().slice(0, 19)}Z`,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
  };
}

function fieldSet(value: unknown, skip?: ReadonlySet<string>): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (skip?.has(key)) continue;
    out[`f:${key}`] = fieldSet((value as Record<string, unknown>)[key]);
  }
  return out;
}
