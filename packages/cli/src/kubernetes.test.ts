/**
 * `--store kubernetes`: the binary on the Kubernetes API emulator of `@certloop/k8s-store/testing` (started in the
 * test process), with the kubeconfig file it writes, as `kubectl` would use it. init creates the relay Secrets in
 * gloo-mesh (kubectl sees them), status reads them back; a missing context is a usage error, a forbidden token
 * and an unreachable API server are exit status 4, and nothing is written.
 */
import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startKubernetesApiEmulator } from '@certloop/k8s-store/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCode, runCertloop } from './testing/spawn.js';
import { type Scratch, scratch } from './testing/workspace.js';

let s: Scratch;
let emulator: Awaited<ReturnType<typeof startKubernetesApiEmulator>> | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  await s?.remove();
});

describe('certloop --store kubernetes', { timeout: 120_000 }, () => {
  it('init creates the relay Secrets in gloo-mesh, kubectl lists them, status reads them', async () => {
    s = await scratch();
    emulator = await startKubernetesApiEmulator({ namespace: 'gloo-mesh' });
    const k8s = ['--store', 'kubernetes', '--kubeconfig', emulator.kubeconfigPath];
    const init = await runCertloop(['init', ...k8s, '-o', 'json'], { cwd: s.dir });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(JSON.parse(init.stdout).store).toMatch(/^kubernetes gloo-mesh@/);
    const kubectl = await promisify(execFile)('/usr/bin/kubectl', [
      '--kubeconfig',
      emulator.kubeconfigPath,
      'get',
      'secrets',
      '-n',
      'gloo-mesh',
      '-o',
      'name',
    ]);
    expect(kubectl.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'secret/relay-identity-token-secret',
      'secret/relay-root-tls-secret',
      'secret/relay-server-tls-secret',
      'secret/relay-tls-signing-secret',
    ]);
    const status = await runCertloop(['status', ...k8s, '--secrets', 'root,signing,server,token', '-o', 'json'], {
      cwd: s.dir,
    });
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).secrets as { role: string; state: string }[];
    expect(rows.map((r) => [r.role, r.state])).toEqual([
      ['root', 'ok'],
      ['signing', 'ok'],
      ['server', 'ok'],
      ['token', 'ok'],
    ]);
    // the client secret does not exist yet: the full status says so and exits 1
    const full = await runCertloop(['status', ...k8s], { cwd: s.dir });
    expect(full.code).toBe(1);
  });

  it('a missing context is exit 2, a forbidden namespace and an unreachable API server exit 4', async () => {
    s = await scratch();
    emulator = await startKubernetesApiEmulator({
      namespace: 'gloo-mesh',
      auth: { tokens: { reader: { rules: [{ verbs: ['get', 'list', 'watch'], resources: ['leases'] }] } } },
    });
    const k8s = ['--store', 'kubernetes', '--kubeconfig', emulator.kubeconfigPath];
    const context = await runCertloop(['status', ...k8s, '--context', 'nope'], { cwd: s.dir });
    expect(errorCode(context.stderr)).toBe('CERTLOOP_INVALID_CONFIG');
    expect(context.code).toBe(2);
    const forbidden = await runCertloop(['init', ...k8s], { cwd: s.dir });
    expect(errorCode(forbidden.stderr)).toBe('CERTLOOP_FORBIDDEN');
    expect(forbidden.code).toBe(4);
    // a copy: the emulator removes its kubeconfig when it closes
    const path = join(s.dir, 'kubeconfig');
    await copyFile(emulator.kubeconfigPath, path);
    await emulator.close();
    emulator = undefined;
    const down = await runCertloop(['init', '--store', 'kubernetes', '--kubeconfig', path], {
      cwd: s.dir,
      timeoutMs: 60_000,
    });
    expect(errorCode(down.stderr)).toBe('CERTLOOP_UNAVAILABLE');
    expect(down.code).toBe(4);
  });
});
