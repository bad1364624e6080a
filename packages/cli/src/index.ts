/**
 * `certloop`: the command, as a library: run it in-process, add commands, or reuse its store and CA factories.
 *
 * ```ts
 * import { runCli, processContext } from 'certloop';
 * process.exitCode = await runCli(['status', '--dir', './secrets'], processContext());
 * ```
 */
export {
  CA_KINDS,
  CA_OPENERS,
  type CaFlags,
  type CaKind,
  type CaOpener,
  type OpenCaRequest,
  type OpenedCa,
  openCertificateAuthority,
} from './ca-factory.js';
export { COMMANDS } from './commands/index.js';
export type { CliCommand } from './lib/command.js';
export { type CliContext, type OutputStream, processContext } from './lib/context.js';
export { EXIT, type ExitStatus, exitStatusOf, formatError } from './lib/errors.js';
export { cliVersion, createProgram, runCli } from './program.js';
export { type SecretStatus, StatusBoard, type StatusBoardOptions, UNHEALTHY_STATES } from './status/board.js';
export { RELAY_ROLES, type RelayRole } from './status/roles.js';
export { type StatusServer, type StatusServerOptions, startStatusServer } from './status/serve.js';
export {
  type OpenedStore,
  type OpenStoreRequest,
  openStore,
  STORE_KINDS,
  STORE_OPENERS,
  type StoreFlags,
  type StoreKind,
  type StoreOpener,
} from './store-factory.js';
