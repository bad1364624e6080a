/**
 * `@certloop/vault-signer/testing` internal: a mount's issuers and keys as Vault 1.11+ keeps them (contract section 7):
 * keys as objects of their own, issuers that point at a key (or none), references by id, name or `default`, the
 * default issuer and key, and each issuer's `ca_chain` built the way Vault builds it (the issuer, then every mount
 * issuer whose key verifies it and its cross-signed twins, recursively, roots before cross-signs), or its
 * `manual_chain`.
 */
import { createPublicKey, randomUUID, X509Certificate } from 'node:crypto';
import { badRequest, VaultHttpError } from './http.js';
import type { Issuer, IssuerUsage, PkiKey, PkiMount } from './state.js';

export const ALL_USAGES: readonly IssuerUsage[] = ['crl-signing', 'issuing-certificates', 'ocsp-signing', 'read-only'];

/** `usage` as Vault renders it: one sorted comma string. */
export const usageText = (issuer: Issuer) => [...issuer.usage].sort().join(',');

/** One certificate PEM as Vault stores an issuer's: trimmed, then one newline. */
export const storedPem = (pem: string) => `${pem.trim()}\n`;

/** The issuer a ref names (`default`, an id or a name), or why there is none (Vault's text). */
export function lookupIssuer(mount: PkiMount, ref: string | undefined): Issuer | string {
  if (!ref || ref === 'default') {
    const issuer = mount.defaultIssuer ? mount.issuers.get(mount.defaultIssuer) : undefined;
    return issuer ?? 'no default issuer currently configured';
  }
  const issuer = mount.issuers.get(ref) ?? [...mount.issuers.values()].find((i) => i.name !== '' && i.name === ref);
  return issuer ?? `unable to find PKI issuer for reference: ${ref}`;
}

/** The issuer for issue/sign paths: 400 `could not fetch the CA certificate (was one set?): …` otherwise. */
export function issuerForSigning(mount: PkiMount, ref: string | undefined): Issuer {
  const found = lookupIssuer(mount, ref);
  if (typeof found === 'string') {
    throw badRequest(`1 error occurred:\n\t* could not fetch the CA certificate (was one set?): ${found}\n\n`);
  }
  if (!found.usage.has('issuing-certificates')) {
    throw badRequest(
      `1 error occurred:\n\t* could not fetch the CA certificate (was one set?): requested usage issuing-certificates for issuer ${found.id} but only had usage ${usageText(found)}\n\n`,
    );
  }
  return found;
}

/** The issuer for reads and updates: 500 `unable to find PKI issuer for reference: X`, as Vault answers. */
export function issuerForRead(mount: PkiMount, ref: string): Issuer {
  const found = lookupIssuer(mount, ref);
  if (typeof found === 'string') throw new VaultHttpError(500, [`1 error occurred:\n\t* ${found}\n\n`]);
  return found;
}

export function lookupKey(mount: PkiMount, ref: string | undefined): PkiKey | undefined {
  if (!ref || ref === 'default') return mount.defaultKey ? mount.keys.get(mount.defaultKey) : undefined;
  return mount.keys.get(ref) ?? [...mount.keys.values()].find((k) => k.name !== '' && k.name === ref);
}

function checkName(kind: 'issuer' | 'key', name: string, taken: boolean): void {
  if (name === 'default') throw badRequest(`reserved keyword 'default' can not be used as ${kind} name`);
  if (name !== '' && !/^[\w.-]+$/.test(name)) throw badRequest(`${kind} name contained invalid characters`);
  if (taken) throw badRequest(`${kind} name already in use`);
}

export function checkIssuerName(mount: PkiMount, name: string, self?: Issuer): void {
  checkName('issuer', name, name !== '' && [...mount.issuers.values()].some((i) => i !== self && i.name === name));
}

/** Stores a key (the same public key twice is the same key); the first key becomes the default key. */
export function addKey(
  mount: PkiMount,
  privateKeyPem: string,
  type: PkiKey['type'],
  name = '',
): { key: PkiKey; existing: boolean } {
  const spkiDer = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  const same = [...mount.keys.values()].find((k) => k.spkiDer.equals(spkiDer));
  if (same) return { key: same, existing: true };
  checkName('key', name, name !== '' && [...mount.keys.values()].some((k) => k.name === name));
  const key: PkiKey = { id: randomUUID(), name, privateKeyPem, type, spkiDer };
  mount.keys.set(key.id, key);
  mount.defaultKey ??= key.id;
  return { key, existing: false };
}

let creations = 0;

/**
 * Imports one CA certificate as an issuer (the same certificate twice is the same issuer), keyed when a stored key
 * matches its public key. The first keyed issuer becomes the default when none is set; with
 * `default_follows_latest_issuer`, every new keyed one does.
 */
export function importIssuer(mount: PkiMount, pem: string, name = ''): { issuer: Issuer; existing: boolean } {
  const x509 = new X509Certificate(pem);
  const same = [...mount.issuers.values()].find((i) => i.x509.raw.equals(x509.raw));
  if (same) return { issuer: same, existing: true };
  checkIssuerName(mount, name);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  const key = [...mount.keys.values()].find((k) => k.spkiDer.equals(spki));
  const issuer: Issuer = {
    id: randomUUID(),
    name,
    certificatePem: pem.trim(),
    x509,
    selfSigned: x509.checkIssued(x509) && x509.verify(x509.publicKey),
    keyId: key?.id,
    notAfter: new Date(x509.validTo),
    createdAt: ++creations,
    leafNotAfterBehavior: 'err',
    usage: new Set(ALL_USAGES),
    manualChain: undefined,
    signers: new Map(),
  };
  mount.issuers.set(issuer.id, issuer);
  if (key && (mount.defaultIssuer === undefined || mount.defaultFollowsLatestIssuer)) setDefaultIssuer(mount, issuer);
  chainsChanged(mount);
  return { issuer, existing: false };
}

/** Makes `issuer` the default; its key (if any) becomes the default key, as Vault does. */
export function setDefaultIssuer(mount: PkiMount, issuer: Issuer): void {
  mount.defaultIssuer = issuer.id;
  if (issuer.keyId) mount.defaultKey = issuer.keyId;
}

/** Forgets the built chains and the signers built over them. */
export function chainsChanged(mount: PkiMount): void {
  mount.chains.clear();
  for (const issuer of mount.issuers.values()) issuer.signers.clear();
}

/** Removes an issuer (its key stays); true when it was the default. */
export function deleteIssuer(mount: PkiMount, issuer: Issuer): boolean {
  mount.issuers.delete(issuer.id);
  const wasDefault = mount.defaultIssuer === issuer.id;
  if (wasDefault) mount.defaultIssuer = undefined;
  chainsChanged(mount);
  return wasDefault;
}

const verifies = (child: Issuer, parent: Issuer) =>
  child.x509.issuer === parent.x509.subject && child.x509.verify(parent.x509.publicKey);

const sameKey = (a: Issuer, b: Issuer) =>
  a.x509.subject === b.x509.subject && a.x509.publicKey.equals(b.x509.publicKey);

/**
 * The next certificates of `node`'s chain: the mount issuers whose key verifies it, and its reissued or cross-signed
 * twins (same subject and key, another issuer), which Vault's chain building treats as one clique; roots first, then
 * in creation order.
 */
function parentsOf(mount: PkiMount, node: Issuer): Issuer[] {
  return [...mount.issuers.values()]
    .filter((p) => p !== node && (verifies(node, p) || sameKey(node, p)))
    .sort((a, b) => Number(b.selfSigned) - Number(a.selfSigned) || a.createdAt - b.createdAt);
}

/** The issuer's `ca_chain` (PEMs, trimmed): its manual chain, else itself then its parents breadth-first. */
export function chainOf(mount: PkiMount, issuer: Issuer): readonly string[] {
  const cached = mount.chains.get(issuer.id);
  if (cached) return cached;
  let chain: string[];
  if (issuer.manualChain) {
    chain = issuer.manualChain.flatMap((id) => {
      const entry = mount.issuers.get(id);
      return entry ? [entry.certificatePem] : [];
    });
  } else {
    const seen = new Set([issuer.id]);
    const ordered = [issuer];
    for (let frontier = [issuer]; frontier.length > 0; ) {
      const next: Issuer[] = [];
      for (const node of frontier) {
        for (const parent of parentsOf(mount, node)) {
          if (seen.has(parent.id)) continue;
          seen.add(parent.id);
          ordered.push(parent);
          next.push(parent);
        }
      }
      frontier = next;
    }
    chain = ordered.map((i) => i.certificatePem);
  }
  mount.chains.set(issuer.id, chain);
  return chain;
}

/** Colon-separated lowercase hex of a certificate's serial, as Vault writes `serial_number`. */
export function issuerSerial(issuer: Issuer): string {
  const hex = issuer.x509.serialNumber.toLowerCase();
  const even = hex.length % 2 ? `0${hex}` : hex;
  return (even.match(/../g) ?? []).join(':');
}

/** `data` of `GET {m}/issuer/{ref}` (and of its updates). */
export function issuerData(mount: PkiMount, issuer: Issuer): Record<string, unknown> {
  return {
    issuer_id: issuer.id,
    issuer_name: issuer.name,
    key_id: issuer.keyId ?? '',
    certificate: storedPem(issuer.certificatePem),
    ca_chain: chainOf(mount, issuer).map(storedPem),
    manual_chain: issuer.manualChain ? [...issuer.manualChain] : null,
    leaf_not_after_behavior: issuer.leafNotAfterBehavior,
    usage: usageText(issuer),
    revocation_signature_algorithm: '',
    revoked: false,
    issuing_certificates: [],
    crl_distribution_points: [],
    delta_crl_distribution_points: [],
    ocsp_servers: [],
    enable_aia_url_templating: false,
  };
}
