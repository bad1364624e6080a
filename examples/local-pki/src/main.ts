/**
 * examples/local-pki: a whole relay PKI in a temporary folder, in file mode.
 *
 * Creates a root CA, an intermediate (signing) CA, a management-server certificate and an agent's client
 * certificate from a CSR, stores them the way a Kubernetes Secret is mounted into a pod, validates both chains,
 * and prints a table with each certificate's renewal time at the grace ratio 0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bootstrapRelayPki,
  createCsr,
  DEFAULT_RELAY_SECRET_NAMES,
  FileSecretStore,
  generateKeyPair,
  inspectCertificate,
  issuedTlsSecret,
  joinPemBundle,
  readTlsMaterial,
  renewalTime,
  splitPemBundle,
  validateChain,
} from '@certloop/core';
import pc from 'picocolors';

const RATIO = 0.1;
const names = DEFAULT_RELAY_SECRET_NAMES;

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const directory = await mkdtemp(join(tmpdir(), 'certloop-local-pki-'));
  const store = new FileSecretStore({ directory });
  try {
    console.log(pc.bold('certloop local PKI'), pc.dim(`(file mode, ${directory})`));

    const pki = await bootstrapRelayPki({ store });
    console.log(`${pc.green('created')} ${pki.created.join(', ')}`);

    // An agent makes its own key and CSR; the management server's CA signs it. The key never leaves the agent.
    const agentKey = await generateKeyPair({ algorithm: 'ECDSA-P256' });
    const { csrPem } = await createCsr({
      privateKeyPem: agentKey.privateKeyPem,
      subject: { commonName: 'agent-cluster-1' },
      dnsNames: ['agent-cluster-1'],
    });
    const issued = await pki.signingCa.sign({
      csrPem,
      lifetimeSeconds: 365 * 24 * 3600,
      profile: 'client',
      identity: { commonName: 'agent-cluster-1', dnsNames: ['agent-cluster-1'] },
    });
    await store.put(
      names.client,
      issuedTlsSecret({ role: 'client', privateKeyPem: agentKey.privateKeyPem, result: issued }),
      { expectedVersion: null },
    );
    console.log(`${pc.green('issued')}  ${names.client} from a CSR`);

    // Validate both leaf chains against the root, for their usages.
    for (const [name, usage] of [
      [names.server, 'serverAuth'],
      [names.client, 'clientAuth'],
    ] as const) {
      const secret = await store.get(name);
      const m = readTlsMaterial(secret!);
      const [leafPem, ...chain] = splitPemBundle(m.certificatePem!);
      const result = await validateChain({
        leafPem: leafPem!,
        intermediatesPem: joinPemBundle(chain),
        trustBundlePem: m.trustBundlePem!,
        usage,
      });
      console.log(`${pc.green('valid')}   ${name}: chain of ${result.chain.length} reaches the root (${usage})`);
    }

    const rows = [] as string[][];
    for (const name of [names.root, names.signing, names.server, names.client]) {
      const secret = await store.get(name);
      const info = inspectCertificate(splitPemBundle(readTlsMaterial(secret!).certificatePem!)[0]!);
      const sans = [...info.sans.dnsNames, ...info.sans.ipAddresses, ...info.sans.uris].join(', ') || '-';
      const renewAt = renewalTime({ notBefore: info.notBefore, notAfter: info.notAfter, ratio: RATIO });
      const key = info.publicKey.curve ?? `${info.publicKey.size}`;
      rows.push([
        name,
        info.subjectText,
        info.issuerText,
        sans,
        info.notAfter.toISOString().slice(0, 10),
        `${info.publicKey.type} ${key}`,
        renewAt.toISOString().slice(0, 10),
      ]);
    }
    printTable(['secret', 'subject', 'issuer', 'SANs', 'not after', 'key', `renew at (${RATIO})`], rows);
    console.log(pc.dim(`\nLayout: ${directory}/<secret>/{tls.crt,tls.key,ca.crt} -> ..data/ (a mounted Secret)`));
  } finally {
    if (!keep) await rm(directory, { recursive: true, force: true });
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${pc.bold(line(header))}`);
  console.log(pc.dim(widths.map((w) => '─'.repeat(w)).join('  ')));
  for (const row of rows) console.log(line(row));
}

main().catch((err) => {
  console.error(pc.red(`local-pki failed: ${err?.code ?? ''} ${err?.message ?? err}`));
  process.exitCode = 1;
});
