/**
 * `@certloop/vault-signer/testing` internal: routes a path under a PKI mount to its handler.
 */

import { ok, type VaultReply } from './http.js';
import {
  configIssuers,
  generateIntermediate,
  generateRoot,
  roles,
  setSigned,
  signIntermediate,
  updateIssuer,
} from './pki-config.js';
import { certCaChain, issuerData, rawCa, readIssuer } from './pki-fetch.js';
import { issueWithRole, signVerbatim, signWithRole } from './pki-issue.js';
import { expectOperation, type RequestContext, unsupportedPath } from './router.js';
import type { PkiMount } from './state.js';

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
    case 'root':
      if (second === 'generate' && (third === 'internal' || third === 'exported') && parts.length === 3) {
        return generateRoot(ctx, mount, third === 'exported');
      }
      if (rest === 'root/sign-intermediate') return signIntermediate(ctx, mount);
      break;
    case 'intermediate':
      if (second === 'generate' && (third === 'internal' || third === 'exported') && parts.length === 3) {
        return generateIntermediate(ctx, mount, third === 'exported');
      }
      if (rest === 'intermediate/set-signed') return setSigned(ctx, mount);
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
        if (ctx.operation === 'WRITE')
          return ok(issuerData(mount, updateIssuer(ctx, mount, second)), { mountType: 'pki' });
        return readIssuer(ctx, mount, second, false);
      }
      if (parts.length === 3 && third === 'json') return readIssuer(ctx, mount, second, true);
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
