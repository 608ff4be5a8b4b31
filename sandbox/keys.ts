import { generateKeyPairSync } from 'node:crypto';
import type { Config } from '../infra/config';

/** The sandbox provider's RSA key pair, PEM encoded. */
export interface SandboxKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

let generated: SandboxKeys | undefined;

/**
 * Configured keys win; otherwise one pair is generated per process, so the signer (notifier)
 * and the verifier (channel adapter) agree only when they run in the same process.
 */
export function sandboxKeys(config: Pick<Config, 'SANDBOX_PRIVATE_KEY' | 'SANDBOX_PUBLIC_KEY'>): SandboxKeys {
  if (config.SANDBOX_PRIVATE_KEY && config.SANDBOX_PUBLIC_KEY) {
    return { privateKeyPem: pem(config.SANDBOX_PRIVATE_KEY), publicKeyPem: pem(config.SANDBOX_PUBLIC_KEY) };
  }
  if (!generated) {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    generated = { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
  }
  return generated;
}

/** Env files and secret stores often carry PEMs on one line with literal "\n" escapes. */
function pem(value: string): string {
  return value.includes('\\n') ? value.replace(/\\n/g, '\n') : value;
}
