import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../clock/manual-clock.js';
import { describeSecretStoreContract, describeWatcherContract } from '../testing/index.js';
import { FileSecretStore } from './file-store.js';

describeSecretStoreContract('FileSecretStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'certloop-file-store-'));
  return {
    store: new FileSecretStore({ directory: join(directory, 'secrets') }),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describeWatcherContract('FileSecretStore', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'certloop-file-watch-'));
  const store = new FileSecretStore({ directory: join(directory, 'secrets') });
  return { store, watcher: store, cleanup: () => rm(directory, { recursive: true, force: true }) };
});

// The clock never moves here, so polling never runs: every event must come from fs.watch, promptly.
describeWatcherContract('FileSecretStore, fs.watch alone', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'certloop-file-watch-'));
  const store = new FileSecretStore({ directory: join(directory, 'secrets'), clock: new ManualClock() });
  return { store, watcher: store, cleanup: () => rm(directory, { recursive: true, force: true }) };
});
