/**
 * `@certloop/agent-rotator` server certificate renewal (opt-in): core's `Rotator` on `relay-server-tls-secret`, signed
 * by the CA the server signs agents with (the signing secret's intermediate, or the injected CA), so the server
 * certificate the relay's documentation says is never rotated is renewed at a grace ratio and taken by the server's
 * hot reload (new handshakes get it; open streams stay). Only the elected replica renews (any `LeaderElector`); the
 * write is a compare-and-swap, so two replicas without an elector cost at most one superseded certificate. During a
 * CA rotation the new certificate comes from whichever CA signs then, with that CA's trust bundle in `ca.crt`.
 */
import {
  type CertificateAuthority,
  CertloopError,
  type Clock,
  type CryptoEngine,
  type InspectedCertificate,
  type LeaderElector,
  Rotator,
  type RotatorEvent,
  type SecretStore,
} from '@certloop/core';

export interface ServerCertificateRenewalOptions {
  /** Share of the lifetime left when the certificate is renewed, in (0, 1) (e.g. 0.1). */
  readonly ratio: number;
  /** Only the leader renews; without one this replica always does. */
  readonly leader?: LeaderElector;
  /** Lifetime of a new certificate (default: that of the current one). */
  readonly lifetimeSeconds?: number;
  /** How often an idle rotator re-reads the secret (default 60 s). */
  readonly recheckIntervalMs?: number;
}

/** The rotator for the server secret, with the identity of the certificate served now. */
export function serverCertificateRotator(input: {
  readonly options: ServerCertificateRenewalOptions;
  readonly store: SecretStore;
  readonly name: string;
  readonly current: InspectedCertificate;
  /** The CA in force at the time of each renewal. */
  readonly authority: () => CertificateAuthority;
  readonly clock: Clock;
  readonly engine?: CryptoEngine | undefined;
  readonly onEvent: (event: RotatorEvent) => void;
}): Rotator {
  const { current, options } = input;
  const commonName = current.subject.commonName;
  if (!commonName) {
    throw new CertloopError('CERTLOOP_INVALID_CONFIG', 'the server certificate has no commonName to renew it for');
  }
  // a CA that is looked up at each call: a CA rotation's activate changes it under a running rotator
  const ca: CertificateAuthority = {
    sign: (request, callOptions) => input.authority().sign(request, callOptions),
    trustBundle: (callOptions) => input.authority().trustBundle(callOptions),
  };
  const lifetime =
    options.lifetimeSeconds ?? Math.round((current.notAfter.getTime() - current.notBefore.getTime()) / 1000);
  const rotator = new Rotator({
    store: input.store,
    name: input.name,
    ca,
    ratio: options.ratio,
    lifetimeSeconds: lifetime,
    profile: 'server',
    role: 'server',
    subject: { commonName },
    dnsNames: current.sans.dnsNames,
    ipAddresses: current.sans.ipAddresses,
    createIfMissing: false,
    clock: input.clock,
    ...(options.leader ? { leader: options.leader } : {}),
    ...(options.recheckIntervalMs ? { recheckIntervalMs: options.recheckIntervalMs } : {}),
    ...(input.engine ? { engine: input.engine } : {}),
  });
  rotator.subscribe(input.onEvent);
  return rotator;
}
