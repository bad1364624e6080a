/**
 * `certloop` config files for the long-running commands (`server`, `agent`): a YAML or JSON object whose keys are
 * the commands' long flags in camelCase (`serverAddress`, `clientTlsSecretRotationGracePeriodRatio`). Precedence:
 * a flag on the command line, then its `CERTLOOP_*` environment variable, then the config file, then the default.
 * An unknown key or a file that is not an object is `CERTLOOP_INVALID_CONFIG` (exit status 2), before anything runs.
 */
import type { Command } from 'commander';
import { parse } from 'yaml';
import type { CliContext } from './context.js';
import { cliError } from './errors.js';
import { readTextInput } from './io.js';

/** Reads `--config FILE` (if given) into the command's option values that the command line and environment left unset. */
export async function applyConfigFile(command: Command, context: CliContext): Promise<void> {
  const file = command.opts().config as string | undefined;
  if (!file) return;
  const text = await readTextInput(file, context);
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw cliError('CERTLOOP_INVALID_CONFIG', `${file} is not YAML or JSON`, 'fix the syntax', err);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw cliError('CERTLOOP_INVALID_CONFIG', `${file} holds no object of settings`, 'write `key: value` lines');
  }
  const known = new Map(command.options.map((o) => [o.attributeName(), o]));
  for (const [key, value] of Object.entries(config)) {
    const option = known.get(key);
    if (!option || key === 'config') {
      throw cliError(
        'CERTLOOP_INVALID_CONFIG',
        `${file}: unknown setting ${JSON.stringify(key)}`,
        `known settings: ${[...known.keys()].filter((k) => k !== 'config').join(', ')}`,
      );
    }
    const source = command.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    const text = Array.isArray(value) ? value.map(String) : typeof value === 'boolean' ? value : String(value);
    if (option.argChoices && !option.argChoices.includes(String(text))) {
      throw cliError(
        'CERTLOOP_INVALID_CONFIG',
        `${file}: ${key} must be one of ${option.argChoices.join(', ')}`,
        undefined,
      );
    }
    command.setOptionValueWithSource(key, text, 'config');
  }
}

/** A number in an open or closed range, from a flag or setting. */
export function parseNumber(
  value: unknown,
  flag: string,
  range: { min: number; max: number; exclusive?: boolean },
): number {
  const n = Number(value);
  const inside = range.exclusive ? n > range.min && n < range.max : n >= range.min && n <= range.max;
  if (!Number.isFinite(n) || !inside) {
    throw cliError(
      'CERTLOOP_USAGE',
      `${flag} ${String(value)} is not a number in ${range.exclusive ? '(' : '['}${range.min}, ${range.max}${range.exclusive ? ')' : ']'}`,
    );
  }
  return n;
}
