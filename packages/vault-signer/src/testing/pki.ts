/**
 * `@certloop/vault-signer/testing` internal: routes a path under a PKI mount to its handler.
 */

import type { VaultReply } from './http.js';
import {
  configIssuers,
  generateIntermediate,
  generateRoot,
  importBundle,
  type KeySource,
  roles,
  signIntermediate,
} from './pki-config.js';
import { certCaChain, fetchIssuer, listIssuers, rawCa, readIssuer } from './pki-fetch.js';
import { issueWithRole, signVerbatim, signWithRole } from './pki-issue.js';
import { keyEndpoint, listKeys, removeIssuer, updateIssuer } from './pki-manage.js';
import { expectOperation, type RequestContext, unsupportedPath } from './router.js';
import type { PkiMount } from './state.js';

const KEY_SOURCES: readonly string[] = ['internal', 'exported', 'existing'];
const keySource = (type: string | undefined): KeySource | undefined =>
  type !== undefined && KEY_SOURCES.includes(type) ? (type as KeySource) : undefined;

export async function routePki(ctx: RequestContext, mount: PkiMount, rest: string): Promise<VaultReply> {
  const parts = rest.split('/');
  const [head, second, third, fourth] = parts;
  const write = () => expectOperation(ctx, 'WRITE');
  switch (head) {
    case 'sign':
      write();
      if (parts.length === 2) return signWithRole(ctx, mount, second!);
      break;
    case 'issue':
      write();
      if (parts.length === 2) return issueWithRole(ctx, mount, second!);
      break;
    case 'sign-verbatim':
      write();
      if (parts.length <= 2) return signVerbatim(ctx, mount, second || undefined);
      break;
    case 'ca':
      if (rest === 'ca/pem') return rawCa(ctx, mount, false);
      break;
    case 'ca_chain':
      if (parts.length === 1) return rawCa(ctx, mount, true);
      break;
    case 'cert':
      if (rest === 'cert/ca_chain') return certCaChain(ctx, mount);
      break;
    case 'root': {
      const source = keySource(third);
      if ((second === 'generate' || second === 'rotate') && source && parts.length === 3) {
        if (second === 'rotate' && source === 'existing') break; // Vault has no root/rotate/existing
        return generateRoot(ctx, mount, source, second === 'rotate');
      }
      if (rest === 'root/sign-intermediate') return signIntermediate(ctx, mount);
      if (rest === 'root/replace') return configIssuers(ctx, mount, true);
      break;
    }
    case 'intermediate': {
      const source = keySource(third);
      if (second === 'generate' && source && parts.length === 3) return generateIntermediate(ctx, mount, source);
      if (rest === 'intermediate/cross-sign') return generateIntermediate(ctx, mount, 'existing');
      if (rest === 'intermediate/set-signed') return importBundle(ctx, mount, 'certificate', false);
      break;
    }
    case 'issuers': {
      if (parts.length === 1) return listIssuers(ctx, mount);
      const source = keySource(fourth);
      if (second === 'generate' && third === 'root' && source && parts.length === 4) {
        return generateRoot(ctx, mount, source, false);
      }
      if (second === 'generate' && third === 'intermediate' && source && parts.length === 4) {
        return generateIntermediate(ctx, mount, source);
      }
      if (second === 'import' && (third === 'cert' || third === 'bundle') && parts.length === 3) {
        return importBundle(ctx, mount, 'pem_bundle', third === 'bundle');
      }
      break;
    }
    case 'keys':
      if (parts.length === 1) return listKeys(ctx, mount);
      break;
    case 'key':
      if (parts.length === 2 && second) return keyEndpoint(ctx, mount, second);
      break;
    case 'config':
      if (rest === 'config/issuers') return configIssuers(ctx, mount);
      break;
    case 'roles':
      if (parts.length === 1) return roles(ctx, mount, undefined);
      if (parts.length === 2 && second) return roles(ctx, mount, second);
      break;
    case 'issuer':
      if (!second) break;
      if (parts.length === 2) {
        if (ctx.operation === 'WRITE' || ctx.operation === 'PATCH') return updateIssuer(ctx, mount, second);
        if (ctx.operation === 'DELETE') return removeIssuer(ctx, mount, second);
        return readIssuer(ctx, mount, second);
      }
      if (parts.length === 3 && (third === 'json' || third === 'pem' || third === 'der')) {
        return fetchIssuer(ctx, mount, second, third);
      }
      if (parts.length === 3 && third === 'sign-intermediate') return signIntermediate(ctx, mount, second);
      if (parts.length === 4 && (third === 'sign' || third === 'issue')) {
        write();
        return third === 'sign'
          ? signWithRole(ctx, mount, fourth!, second)
          : issueWithRole(ctx, mount, fourth!, second);
      }
      break;
  }
  throw unsupportedPath();
}
