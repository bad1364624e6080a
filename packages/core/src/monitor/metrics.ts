/**
 * `@certloop/core` expiry metrics: Prometheus gauges and counters for an {@link ExpiryMonitor}, registered in a
 * registry the caller owns (opt-in; `prom-client` is an optional peer dependency, loaded only here).
 *
 * Metrics (prefix `certloop_` by default), labelled by `secret`:
 * `certificate_not_before_seconds`, `certificate_not_after_seconds`, `certificate_renewal_time_seconds`,
 * `certificate_seconds_left`, `certificate_ready` (1/0), `certificate_managed` (1/0), and
 * `rotations_total{secret,result}`. Gauges are computed at scrape time from the monitor's current state.
 */
import type { Registry } from 'prom-client';
import { CertloopError } from '../errors.js';
import type { ExpiryMonitor } from './expiry-monitor.js';

export interface ExpiryMetricsOptions {
  readonly monitor: ExpiryMonitor;
  readonly registry: Registry;
  readonly prefix?: string;
}

const seconds = (d: Date | undefined) => (d ? Math.floor(d.getTime() / 1000) : undefined);

/** Registers the monitor's metrics in `registry`. Returns a function that unregisters them. */
export async function registerExpiryMetrics(options: ExpiryMetricsOptions): Promise<() => void> {
  let prom: typeof import('prom-client');
  try {
    prom = await import('prom-client');
  } catch (cause) {
    throw new CertloopError('CERTLOOP_NOT_IMPLEMENTED', 'install prom-client to export metrics', { cause });
  }
  const { monitor, registry } = options;
  const prefix = options.prefix ?? 'certloop_';
  const names: string[] = [];
  const gauge = (
    name: string,
    help: string,
    pick: (s: ReturnType<ExpiryMonitor['snapshot']>[number]) => number | undefined,
  ) => {
    names.push(prefix + name);
    return new prom.Gauge({
      name: prefix + name,
      help,
      labelNames: ['secret'],
      registers: [registry],
      collect() {
        this.reset();
        for (const status of monitor.snapshot()) {
          const value = pick(status);
          if (value !== undefined) this.set({ secret: status.name }, value);
        }
      },
    });
  };
  gauge('certificate_not_before_seconds', 'Certificate notBefore, unix seconds.', (s) => seconds(s.notBefore));
  gauge('certificate_not_after_seconds', 'Certificate notAfter, unix seconds.', (s) => seconds(s.notAfter));
  gauge('certificate_renewal_time_seconds', 'When rotation starts by the grace ratio, unix seconds.', (s) =>
    seconds(s.renewAt),
  );
  gauge('certificate_seconds_left', 'Seconds until the certificate expires.', (s) => s.secondsLeft);
  gauge('certificate_ready', '1 when the certificate can serve now.', (s) => (s.ready ? 1 : 0));
  gauge('certificate_managed', '1 when certloop manages the secret, 0 for bring-your-own.', (s) => (s.managed ? 1 : 0));
  names.push(`${prefix}rotations_total`);
  new prom.Counter({
    name: `${prefix}rotations_total`,
    help: 'Rotations by secret and result.',
    labelNames: ['secret', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [secret, counts] of monitor.rotationCounts()) {
        this.inc({ secret, result: 'succeeded' }, counts.succeeded);
        this.inc({ secret, result: 'failed' }, counts.failed);
      }
    },
  });
  return () => {
    for (const name of names) registry.removeSingleMetric(name);
  };
}
