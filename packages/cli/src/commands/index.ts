/**
 * `certloop` registration list: the commands the program has, in the order `--help` lists them. A command is one
 * file in this folder exporting a `CliCommand`; adding one (`server`, `agent`, `demo` once the relay package is
 * there) is that file plus one line here.
 */
import type { CliCommand } from '../lib/command.js';
import { agentCommand } from './agent.js';
import { caCommand } from './ca.js';
import { contextCommand } from './context.js';
import { csrCommand } from './csr.js';
import { demoCommand } from './demo.js';
import { initCommand } from './init.js';
import { inspectCommand } from './inspect.js';
import { issueCommand } from './issue.js';
import { revokeCommand } from './revoke.js';
import { rotateCommand } from './rotate.js';
import { serverCommand } from './server.js';
import { signCommand } from './sign.js';
import { statusCommand } from './status.js';

export const COMMANDS: readonly CliCommand[] = [
  initCommand,
  statusCommand,
  inspectCommand,
  csrCommand,
  signCommand,
  issueCommand,
  rotateCommand,
  caCommand,
  revokeCommand,
  serverCommand,
  agentCommand,
  demoCommand,
  contextCommand,
];
