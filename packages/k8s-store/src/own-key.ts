/**
 * Internal: `record[key] = value` as an own, enumerable data property for every key. A plain assignment with the
 * key `__proto__` (a valid Secret data key: `[-._a-zA-Z0-9]+`) would set the object's prototype instead, and the
 * key would be lost. (Core builds its records with `Object.fromEntries` for the same reason.)
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') {
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    record[key] = value;
  }
}
