import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import forge from 'node-forge';
import { temporalConnectionOptions } from '../../infra/temporal-connection';

/**
 * A Temporal cluster behind mTLS, as a self-hosted cluster or Temporal Cloud runs it: a TLS
 * terminator that demands a client certificate of our CA stands in front of the test's dev server
 * (which speaks plain gRPC). Keys and certificates are made here.
 */
interface Pem {
  cert: string;
  key: string;
}

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    keyPem,
    forgePublic: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    forgePrivate: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey,
  };
}

function certificate(commonName: string, options: { ca?: Pem & { forgeKey: forge.pki.rsa.PrivateKey }; server?: boolean }) {
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.forgePublic;
  cert.serialNumber = `0${Math.floor(Math.random() * 1e12).toString(16)}`;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(options.ca ? forge.pki.certificateFromPem(options.ca.cert).subject.attributes : subject);
  cert.setExtensions(
    options.ca
      ? [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: options.server === true, clientAuth: options.server !== true },
          ...(options.server ? [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }] : []),
        ]
      : [
          { name: 'basicConstraints', cA: true, critical: true },
          { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ],
  );
  cert.sign(options.ca?.forgeKey ?? keys.forgePrivate, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keys.keyPem, forgeKey: keys.forgePrivate };
}

describe('a Temporal cluster behind mutual TLS', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'temporal-tls-'));
  const ca = certificate('test temporal CA', {});
  const server = certificate('localhost', { ca, server: true });
  const client = certificate('payments-worker', { ca });
  const files = Object.fromEntries(
    Object.entries({ ca: ca.cert, clientCert: client.cert, clientKey: client.key }).map(([name, content]) => {
      const file = path.join(dir, `${name}.pem`);
      writeFileSync(file, content);
      return [name, file];
    }),
  ) as Record<'ca' | 'clientCert' | 'clientKey', string>;
  let terminator: tls.Server;
  let address: string;

  beforeAll(async () => {
    const [host, port] = process.env.TEMPORAL_ADDRESS!.split(':');
    terminator = tls.createServer(
      { cert: server.cert, key: server.key, ca: ca.cert, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
      (socket) => {
        const upstream = connect(Number(port), host);
        socket.pipe(upstream).pipe(socket);
        const close = () => {
          socket.destroy();
          upstream.destroy();
        };
        socket.on('error', close);
        upstream.on('error', close);
      },
    );
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(terminator.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => terminator.close(() => resolve())));

  const settings = () => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CERT: files.clientCert,
    TEMPORAL_TLS_KEY: files.clientKey,
    TEMPORAL_TLS_CA: files.ca,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
  });

  it('connects the API side (Connection) with the client certificate and the CA from the settings', async () => {
    const connection = await Connection.connect({ ...temporalConnectionOptions(settings()), connectTimeout: '5s' });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
  });

  it('connects the worker side (NativeConnection) the same way', async () => {
    const connection = await NativeConnection.connect(temporalConnectionOptions(settings()));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.serverVersion).toBeTruthy();
    } finally {
      await connection.close();
    }
  });

  it('is refused without the client certificate', async () => {
    const { TEMPORAL_TLS_CERT: _cert, TEMPORAL_TLS_KEY: _key, ...withoutClientCert } = settings();
    await expect(
      (async () => {
        const connection = await Connection.connect({ ...temporalConnectionOptions(withoutClientCert), connectTimeout: '3s' });
        try {
          await connection.workflowService.getSystemInfo({});
        } finally {
          await connection.close();
        }
      })(),
    ).rejects.toThrow();
  });
});
