/**
 * `@certloop/k8s-store` label selectors: `{ a: 'b', c: 'd' }` as the API's `a=b,c=d`. Internal.
 */
export function labelSelectorText(selector: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!selector) return undefined;
  const entries = Object.entries(selector);
  return entries.length === 0 ? undefined : entries.map(([k, v]) => `${k}=${v}`).join(',');
}
