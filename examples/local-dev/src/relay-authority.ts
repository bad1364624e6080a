/**
 * examples/local-dev: the agent's view of the management server's CA. Implements `CertificateAuthority` by
 * sending the CSR over mTLS with the agent's current client certificate, or with the bootstrap token when the
 * agent has no certificate yet. The private key never leaves the agent.
 */
import { request } from 'node:https';
import {
  type CaCallOptions,
  type CertificateAuthority,
  CertloopError,
  type CredentialProvider,
  type SignRequest,
  type SignResult,
} from '@certloop/core';

export interface RelayAuthorityOptions {
  readonly port: number;
  readonly trustBundlePem: string;
  readonly provider: CredentialProvider;
  readonly token: string;
  readonly agent: string;
}

export class RelayAuthority implements CertificateAuthority {
  constructor(private readonly options: RelayAuthorityOptions) {}

  async sign(req: SignRequest, call: CaCallOptions = {}): Promise<SignResult> {
    const material = this.options.provider.current();
    const useToken = !material || material.leaf.notAfter.getTime() <= Date.now();
    const body = JSON.stringify({
      csrPem: req.csrPem,
      lifetimeSeconds: req.lifetimeSeconds,
      agent: this.options.agent,
    });
    const raw = await new Promise<string>((resolve, reject) => {
      const r = request(
        {
          host: '127.0.0.1',
          port: this.options.port,
          servername: 'localhost',
          method: 'POST',
          path: useToken ? '/bootstrap' : '/sign',
          ca: this.options.trustBundlePem,
          ...(useToken ? {} : { key: material!.privateKeyPem, cert: material!.certificatePem }),
          headers: useToken ? { authorization: `Bearer ${this.options.token}` } : {},
          agent: false,
          signal: call.signal,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () =>
            res.statusCode === 200
              ? resolve(text)
              : reject(new CertloopError('CERTLOOP_CA_RESPONSE_INVALID', `server answered ${res.statusCode}: ${text}`)),
          );
        },
      );
      r.on('error', reject);
      r.end(body);
    });
    const parsed = JSON.parse(raw) as SignResult;
    return { ...parsed, notBefore: new Date(parsed.notBefore), notAfter: new Date(parsed.notAfter) };
  }

  async trustBundle(): Promise<string> {
    return this.options.trustBundlePem;
  }
}
