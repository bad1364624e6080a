/**
 * loadKubeConfig without client-node's entry point: every auth form a kubeconfig allows gives the same request
 * options as client-node's own `KubeConfig` (a differential test against the real client-node), and the common ones
 * (token, token file with a CA file as in a pod, exec plugin, CA data, insecure-skip-tls-verify) work end to end
 * against the emulator over HTTP and HTTPS.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rejectionCode } from '@certloop/core/testing';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadedKubeConfig, loadKubeConfig } from './kubeconfig.js';
import { KubernetesSecretStore } from './secret-store.js';
import { type KubernetesApiEmulator, startKubernetesApiEmulator } from './testing/index.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
let dir: string;
let plain: KubernetesApiEmulator;
let secure: KubernetesApiEmulator;
let caPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-kubeconfig-'));
  const tokens = { 'plain-token': {}, 'exec-token': {}, 'file-token': {} };
  [plain, secure] = await Promise.all([
    startKubernetesApiEmulator({ namespace: 'gloo-mesh', auth: { tokens }, token: 'plain-token' }),
    startKubernetesApiEmulator({ namespace: 'gloo-mesh', auth: { tokens }, token: 'plain-token', https: true }),
  ]);
  const doc = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(secure.kubeconfigPath, 'utf8'))) as {
    clusters: [{ cluster: Record<string, string> }];
  };
  caPem = Buffer.from(doc.clusters[0].cluster['certificate-authority-data']!, 'base64').toString();
});
afterAll(async () => {
  await Promise.all([plain.close(), secure.close()]);
});

/** A kubeconfig file of one cluster, one user and one context. */
async function kubeconfigFile(
  name: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
): Promise<string> {
  const file = join(dir, name);
  await writeFile(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: c',
      'clusters:',
      `- name: k`,
      `  cluster: ${JSON.stringify(cluster)}`,
      'users:',
      `- name: u`,
      `  user: ${JSON.stringify(user)}`,
      'contexts:',
      '- name: c',
      '  context: { cluster: k, user: u, namespace: gloo-mesh }',
      '',
    ].join('\n'),
  );
  return file;
}

/** The request options each applies (the agent apart: client-node makes one per call, certloop keeps its own). */
async function applied(kc: { applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> }) {
  const opts: https.RequestOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const { agent, ...rest } = opts;
  return { ...rest, agent: agent ? (agent as object).constructor.name : undefined };
}

async function roundTrip(kubeConfig: ConstructorParameters<typeof KubernetesSecretStore>[0]['kubeConfig']) {
  const store = new KubernetesSecretStore({ kubeConfig, namespace: 'gloo-mesh', retry: { attempts: 1 } });
  try {
    const put = await store.put('probe', { data: { k: new Uint8Array([1, 2, 3]) } });
    return (await store.get('probe'))?.version === put.version;
  } finally {
    await store.close();
  }
}

describe('loadKubeConfig applies credentials as client-node does', () => {
  const forms: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
    ['token and CA data', { server: 'https://127.0.0.1:1', 'certificate-authority-data': b64('ca') }, { token: 't' }],
    [
      'client certificate and key data, tls-server-name',
      { server: 'https://127.0.0.1:1', 'tls-server-name': 'api.example' },
      { 'client-certificate-data': b64('cert'), 'client-key-data': b64('key') },
    ],
    [
      'client certificate, key and CA files (relative to the kubeconfig)',
      { server: 'https://127.0.0.1:1', 'certificate-authority': 'ca.pem' },
      { 'client-certificate': 'cert.pem', 'client-key': 'key.pem' },
    ],
    ['insecure-skip-tls-verify', { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true }, { token: 't' }],
    [
      'basic auth and impersonation',
      { server: 'https://127.0.0.1:1' },
      { username: 'alice', password: 'pw', as: 'bob' },
    ],
    [
      'a token file',
      { server: 'https://127.0.0.1:1' },
      { 'auth-provider': { name: 'tokenFile', config: { tokenFile: join('__dir__', 'token') } } },
    ],
    [
      'an exec plugin',
      { server: 'https://127.0.0.1:1' },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: process.execPath,
          args: ['-e', `process.stdout.write(JSON.stringify({ status: { token: 'from-exec' } }))`],
        },
      },
    ],
    ['a proxy (handed to client-node)', { server: 'https://127.0.0.1:1', 'proxy-url': 'http://127.0.0.1:3128' }, {}],
  ];
  beforeAll(async () => {
    await writeFile(join(dir, 'ca.pem'), 'ca-file');
    await writeFile(join(dir, 'cert.pem'), 'cert-file');
    await writeFile(join(dir, 'key.pem'), 'key-file');
    await writeFile(join(dir, 'token'), 'file-token');
  });
  it.each(forms)('%s', async (name, cluster, user) => {
    const withDir = JSON.parse(JSON.stringify(user).replaceAll('__dir__', dir)) as Record<string, unknown>;
    const file = await kubeconfigFile(`${name.replaceAll(/\W+/g, '-')}.yaml`, cluster, withDir);
    const ours = loadKubeConfig({ kubeconfig: file });
    const theirs = new KubeConfig();
    theirs.loadFromFile(file);
    const expected = await applied(theirs);
    const got = await applied(ours);
    // certloop makes no agent of its own except through client-node (a proxy)
    expect({ ...got, agent: undefined }).toEqual({ ...expected, agent: undefined });
    if (cluster['proxy-url']) expect(got.agent).toBe(expected.agent);
    else expect(got.agent).toBeUndefined();
    expect(ours.getCurrentContext()).toBe(theirs.getCurrentContext());
    expect(ours.getCurrentCluster()).toEqual(theirs.getCurrentCluster());
  });

  it('a plain-HTTP server without insecure-skip-tls-verify is CERTLOOP_INVALID_CONFIG, as client-node refuses it', async () => {
    const file = await kubeconfigFile('http.yaml', { server: 'http://127.0.0.1:1' }, { token: 't' });
    expect(await rejectionCode(loadKubeConfig({ kubeconfig: file }).applyToHTTPSOptions({}))).toBe(
      'CERTLOOP_INVALID_CONFIG',
    );
  });

  it('toClientNode() gives a client-node KubeConfig with the same entries', async () => {
    const kc = await loadKubeConfig({ kubeconfig: secure.kubeconfigPath }).toClientNode();
    expect(kc).toBeInstanceOf(KubeConfig);
    expect(kc.getCurrentCluster()?.server).toBe(secure.url);
  });
});

describe('loadKubeConfig against the emulator', () => {
  it('a token over plain HTTP (insecure-skip-tls-verify) and over HTTPS with CA data', async () => {
    expect(await roundTrip(loadKubeConfig({ kubeconfig: plain.kubeconfigPath }))).toBe(true);
    expect(await roundTrip(loadKubeConfig({ kubeconfig: secure.kubeconfigPath }))).toBe(true);
  });

  it('an unknown token is CERTLOOP_UNAUTHENTICATED', async () => {
    const file = await kubeconfigFile(
      'bad-token.yaml',
      { server: plain.url, 'insecure-skip-tls-verify': true },
      {
        token: 'nope',
      },
    );
    const store = new KubernetesSecretStore({
      kubeConfig: loadKubeConfig({ kubeconfig: file }),
      namespace: 'gloo-mesh',
    });
    expect(await rejectionCode(store.get('probe'))).toBe('CERTLOOP_UNAUTHENTICATED');
    await store.close();
  });

  it('an exec plugin (client.authentication.k8s.io) over HTTPS', async () => {
    const plugin = join(dir, 'plugin.mjs');
    await writeFile(
      plugin,
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token: 'exec-token' } }));\n`,
    );
    const file = await kubeconfigFile(
      'exec.yaml',
      { server: secure.url, 'certificate-authority-data': b64(caPem) },
      { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin] } },
    );
    expect(await roundTrip(loadKubeConfig({ kubeconfig: file }))).toBe(true);
  });

  it("a pod's service account: token file and CA file, as loadFromCluster reads them", async () => {
    const root = join(dir, 'pod');
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await import('node:fs/promises').then((fs) => fs.mkdir(sa, { recursive: true }));
    await writeFile(join(sa, 'token'), 'file-token');
    await writeFile(join(sa, 'ca.crt'), caPem);
    await writeFile(join(sa, 'namespace'), 'gloo-mesh');
    const url = new URL(secure.url);
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = url.hostname;
    process.env.KUBERNETES_SERVICE_PORT = url.port;
    try {
      const kc = new LoadedKubeConfig();
      kc.loadFromCluster(root);
      expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('gloo-mesh');
      expect(await roundTrip(kc)).toBe(true);
    } finally {
      for (const [key, value] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('insecure-skip-tls-verify over HTTPS without a CA', async () => {
    const file = await kubeconfigFile(
      'skip.yaml',
      { server: secure.url, 'insecure-skip-tls-verify': true },
      {
        token: 'plain-token',
      },
    );
    expect(await roundTrip(loadKubeConfig({ kubeconfig: file }))).toBe(true);
  });

  it('without the CA, HTTPS to the emulator is refused (no silent trust)', async () => {
    const file = await kubeconfigFile('no-ca.yaml', { server: secure.url }, { token: 'plain-token' });
    const store = new KubernetesSecretStore({
      kubeConfig: loadKubeConfig({ kubeconfig: file }),
      namespace: 'gloo-mesh',
      retry: { attempts: 1 },
    });
    expect(await rejectionCode(store.get('probe'))).toBe('CERTLOOP_UNAVAILABLE');
    await store.close();
  });
});
