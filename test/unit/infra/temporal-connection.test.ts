import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { temporalConnectionOptions } from '../../../infra/temporal-connection';

describe('the Temporal connection settings', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'temporal-conn-'));
  const file = (name: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, `-----BEGIN ${name}-----\n`);
    return at;
  };

  it('is plain text to a local server when nothing else is set', () => {
    expect(temporalConnectionOptions({ TEMPORAL_ADDRESS: '127.0.0.1:7233' })).toEqual({ address: '127.0.0.1:7233' });
  });

  it('sends an API key over TLS (Temporal Cloud)', () => {
    expect(temporalConnectionOptions({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-1' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {},
      apiKey: 'key-1',
    });
  });

  it('reads the client pair and the CA from their PEM files', () => {
    const options = temporalConnectionOptions({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_TLS_CERT: file('CERT'),
      TEMPORAL_TLS_KEY: file('KEY'),
      TEMPORAL_TLS_CA: file('CA'),
    });
    expect(options.tls).toMatchObject({ clientCertPair: { crt: Buffer.from('-----BEGIN CERT-----\n'), key: Buffer.from('-----BEGIN KEY-----\n') } });
    expect((options.tls as { serverRootCACertificate: Buffer }).serverRootCACertificate.toString()).toContain('CA');
  });

  it('refuses a certificate without its key, and a file it cannot read', () => {
    expect(() => temporalConnectionOptions({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CERT: file('CERT') })).toThrow(/go together/);
    expect(() => temporalConnectionOptions({ TEMPORAL_ADDRESS: 'x:1', TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toThrow(/TEMPORAL_TLS_CA .* cannot be read/);
  });
});
