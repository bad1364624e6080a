/**
 * examples/vault-backed: an agent. Its Rotator renews the client certificate by sending CSRs to the management server
 * (first with the bootstrap token, then over mTLS with its current certificate); a CredentialProvider watching its
 * secret hot-reloads the certificate its requests present.
 */
import { request } from 'node:https';
import {
  type CaCallOptions,
  type CertificateAuthority,
  CertloopError,
  CredentialProvider,
  type MemorySecretStore,
  Rotator,
  type RotatorEvent,
  type SignRequest,
  type SignResult,
} from '@certloop/core';

export interface AgentOptions {
  readonly name: string;
  readonly store: MemorySecretStore;
  readonly serverPort: number;
  readonly token: string;
  readonly trustBundlePem: string;
  readonly lifetimeSeconds: number;
  readonly onRotation: (event: RotatorEvent) => void;
}

function post(
  port: number,
  path: string,
  body: unknown,
  tls: { secureContext?: import('node:tls').SecureContext; ca?: string; token?: string },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        servername: 'localhost',
        agent: false,
        ...(tls.secureContext ? { secureContext: tls.secureContext } : { ca: tls.ca }),
        headers: tls.token ? { authorization: `Bearer ${tls.token}` } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** The management server as the agent's CA: `/sign` with the current certificate, else `/bootstrap` with the token. */
class RelayCa implements CertificateAuthority {
  constructor(
    private readonly agent: AgentOptions,
    private readonly provider: CredentialProvider,
  ) {}

  async sign(req: SignRequest, _options?: CaCallOptions): Promise<SignResult> {
    const current = this.provider.current();
    const { status, text } = current
      ? await post(this.agent.serverPort, '/sign', req, { secureContext: this.provider.secureContext() })
      : await post(
          this.agent.serverPort,
          '/bootstrap',
          { ...req, agent: this.agent.name },
          {
            ca: this.agent.trustBundlePem,
            token: this.agent.token,
          },
        );
    if (status !== 200)
      throw new CertloopError('CERTLOOP_UNAVAILABLE', `the management server answered ${status}: ${text}`);
    const result = JSON.parse(text) as SignResult & { notBefore: string; notAfter: string };
    return { ...result, notBefore: new Date(result.notBefore), notAfter: new Date(result.notAfter) };
  }

  async trustBundle(): Promise<string> {
    return this.agent.trustBundlePem;
  }
}

export class Agent {
  readonly provider: CredentialProvider;
  readonly rotator: Rotator;
  readonly stats = { ok: 0, failed: 0, reloads: 0 };
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly options: AgentOptions) {
    const secret = `relay-client-tls-secret-${options.name}`;
    this.provider = new CredentialProvider({ name: secret, watcher: options.store, usage: 'clientAuth' });
    this.provider.subscribe((e) => {
      if (e.type === 'updated' && e.previous) this.stats.reloads++;
    });
    this.rotator = new Rotator({
      store: options.store,
      name: secret,
      ca: new RelayCa(options, this.provider),
      ratio: 0.5,
      jitter: 0,
      lifetimeSeconds: options.lifetimeSeconds,
      subject: { commonName: options.name },
      dnsNames: [options.name],
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    this.rotator.subscribe(options.onRotation);
  }

  async start(): Promise<void> {
    await this.provider.start();
    this.rotator.start();
    await this.provider.ready();
    // keep requests flowing, each presenting the current certificate
    this.#timer = setInterval(() => {
      post(this.options.serverPort, '/hello', undefined, { secureContext: this.provider.secureContext() }).then(
        (r) => (r.status === 200 ? this.stats.ok++ : this.stats.failed++),
        () => this.stats.failed++,
      );
    }, 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.rotator.stop();
    this.provider.close();
  }
}
