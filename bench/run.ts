/**
 * `npm run bench`: every performance figure DESIGN.md names, measured in one run on this machine and printed
 * as rates and ratios against a bound or peer measured in the same run. Never asserted in tests.
 */
import { benchFileWatchScale } from './file-watch-scale.js';
import { benchIssuance } from './issuance.js';
import { benchK8s } from './k8s.js';
import { benchImportCost } from './k8s-import-cost.js';
import { benchWatchChaos } from './k8s-watch-chaos.js';
import { benchPathValidation } from './path-validation.js';
import { benchPkcs11 } from './pkcs11.js';
import { benchRelayFleet } from './relay-fleet.js';
import { benchRelayResumption } from './relay-resumption.js';
import { benchReload } from './reload.js';
import { formatResults } from './types.js';
import { benchVault } from './vault.js';
import { benchVaultClientCpu } from './vault-client-cpu.js';
import { benchWatchRss } from './watch-rss.js';

const started = performance.now();
const results = [
  ...(await benchIssuance()),
  ...(await benchPathValidation()),
  ...(await benchReload()),
  ...(await benchWatchRss()),
  ...(await benchVault()),
  ...(await benchPkcs11()),
  ...(await benchVaultClientCpu()),
  ...(await benchRelayFleet()),
  // issue 16 target 4: the renewal and reconnect storms of 10,000 agents across two replicas
  ...(await benchRelayFleet((process.env.CERTLOOP_BENCH_FLEET_REPLICA_SIZES ?? '10000').split(',').map(Number), {
    replicas: 2,
    idleRss: false,
  })),
  ...(await benchRelayResumption()),
  ...(await benchK8s()),
  ...(await benchWatchChaos()),
  ...(await benchImportCost()),
  ...(await benchFileWatchScale()),
];
console.log(formatResults(results));
const missed = results.filter((r) => r.ok === false).map((r) => r.name);
console.log(
  `\n${results.length} figures in ${((performance.now() - started) / 1000).toFixed(1)} s; targets missed: ${missed.length ? missed.join(', ') : 'none'}`,
);
