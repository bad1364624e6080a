/**
 * `certloop` certificate profile flag (`--profile server|client|server+client`) and lifetimes.
 */
import type { CertificateProfile } from '@certloop/core';
import { Option } from 'commander';

export const LEAF_PROFILES = ['server', 'client', 'server+client'] as const;

export function profileOption(defaultProfile: CertificateProfile): Option {
  return new Option('--profile <profile>', 'what the certificate is for')
    .choices(LEAF_PROFILES)
    .default(defaultProfile);
}
