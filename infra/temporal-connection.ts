import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

/** How every process reaches Temporal: a local server in plain text, a cluster over (m)TLS, or Temporal Cloud with an API key. */
export interface TemporalConnectionSettings {
  TEMPORAL_ADDRESS: string;
  /** PEM files: the client certificate and its key (mTLS), the CA that signed the server's certificate. */
  TEMPORAL_TLS_CERT?: string;
  TEMPORAL_TLS_KEY?: string;
  TEMPORAL_TLS_CA?: string;
  /** The name the server's certificate is checked against, when it differs from the address's host. */
  TEMPORAL_TLS_SERVER_NAME?: string;
  TEMPORAL_API_KEY?: string;
}

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

const pem = (file: string, what: string): Buffer => {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`${what} ${file} cannot be read: ${(err as Error).message}`);
  }
};

/**
 * The options of `Connection.connect` (API, scripts) and `NativeConnection.connect` (worker) alike.
 * TLS is on when any TLS file or an API key is given (Temporal Cloud takes API keys over TLS only).
 */
export function temporalConnectionOptions(settings: TemporalConnectionSettings): TemporalConnectionOptions {
  const { TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: serverName, TEMPORAL_API_KEY: apiKey } = settings;
  if (Boolean(cert) !== Boolean(key)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (mTLS needs both)');
  const tlsWanted = Boolean(cert || ca || serverName || apiKey);
  if (!tlsWanted) return { address: settings.TEMPORAL_ADDRESS };
  const tls: TLSConfig = {
    ...(cert && key && { clientCertPair: { crt: pem(cert, 'TEMPORAL_TLS_CERT'), key: pem(key, 'TEMPORAL_TLS_KEY') } }),
    ...(ca && { serverRootCACertificate: pem(ca, 'TEMPORAL_TLS_CA') }),
    ...(serverName && { serverNameOverride: serverName }),
  };
  return { address: settings.TEMPORAL_ADDRESS, tls, ...(apiKey && { apiKey }) };
}
