import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createChannelHttp } from '../../channels/http';
import { sandboxChannel } from '../../channels/sandbox/adapter';
import { SANDBOX_SIGNATURE_HEADER, SANDBOX_TIMESTAMP_HEADER, signNotification } from '../../channels/sandbox/wire';
import type { InboundCallback } from '../../channels/types';
import { dayOf } from '../../domain/reconciliation/days';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { MAX_NOTIFY_ATTEMPTS } from '../../sandbox/notifier';
import { sandboxRouter } from '../../sandbox/routes';
import { describeChannelConformance } from './conformance';
import { localEgress } from '../support/egress';

/** fetch refuses port 9 outright: notifications here are read from the provider's outbox, not sent. */
const NOWHERE = 'http://127.0.0.1:9/v1/callbacks/sandbox';
/** The conformance account's callback URL: the provider's statement of an account lists the payments notified there. */
const CONFORMANCE_NOWHERE = 'http://127.0.0.1:9/v1/callbacks/sandbox-conformance';
const now = () => Math.floor(Date.now() / 1000);
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const signed = (rawBody: string, timestamp: number, key: string): InboundCallback => ({
  headers: {
    'content-type': 'application/json',
    [SANDBOX_TIMESTAMP_HEADER.toLowerCase()]: String(timestamp),
    [SANDBOX_SIGNATURE_HEADER.toLowerCase()]: signNotification(key, rawBody, timestamp),
  },
  rawBody: Buffer.from(rawBody),
});

describeChannelConformance('sandbox', async () => {
  // The provider notifies only this deployment's callback route: here, the suite's nowhere.
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', PUBLIC_BASE_URL: new URL(CONFORMANCE_NOWHERE).origin });
  const database: Database = openDatabase(config.DATABASE_URL, 3);
  const app = express().use('/sandbox', sandboxRouter({ database, config }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys = { publicKeyPem: config.SANDBOX_PUBLIC_KEY!, privateKeyPem: config.SANDBOX_PRIVATE_KEY! };
  const adapter = sandboxChannel({ publicKeyPem: keys.publicKeyPem, adminToken: config.ADMIN_TOKEN }).createAdapter(
    { channelId: 'sandbox-conformance', type: 'sandbox', credentials: {} },
    { http: createChannelHttp({ timeoutMs: 5_000, egress: localEgress }), callbackUrl: CONFORMANCE_NOWHERE, publicBaseUrl: base },
  );
  const payments: string[] = [];

  return {
    adapter,
    newRequest: () => ({
      orderId: randomUUID(),
      amount: { currency: 'JPY', value: 160 },
      subject: '60 Gems',
      notifyUrl: CONFORMANCE_NOWHERE,
      expiresAt: new Date(Date.now() + 60_000),
      userId: 'player-1',
    }),
    async pay(created) {
      payments.push(created.channelPaymentId);
      const res = await fetch(`${base}/sandbox/payments/${created.channelPaymentId}/complete`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${config.ADMIN_TOKEN}` },
        body: JSON.stringify({ result: 'SUCCESS' }),
      });
      expect(res.status).toBe(202);
      const [row] = await database.db.sandboxNotification.findMany({ where: { paymentId: created.channelPaymentId } });
      return signed(row!.body, now(), keys.privateKeyPem);
    },
    signWithWrongKey: (cb) => signed(cb.rawBody.toString(), now(), otherKey),
    tamper: (cb) => ({ ...cb, rawBody: Buffer.from(cb.rawBody.toString().replace(/"amount":\d+/, '"amount":1')) }),
    stale: (cb) => signed(cb.rawBody.toString(), now() - 305, keys.privateKeyPem),
    // The provider's days are calendar days in the reconciliation time zone.
    statementDate: () => dayOf(new Date(), config.RECON_TIME_ZONE),
    async close() {
      // Retire this file's undelivered notifications so other suites' notifiers do not chase them.
      await database.db.sandboxNotification.updateMany({
        where: { paymentId: { in: payments }, deliveredAt: null },
        data: { attempts: MAX_NOTIFY_ATTEMPTS },
      });
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
});

describe('sandbox notifications, beyond the suite', () => {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const keys = { publicKeyPem: config.SANDBOX_PUBLIC_KEY!, privateKeyPem: config.SANDBOX_PRIVATE_KEY! };
  const adapter = sandboxChannel({ publicKeyPem: keys.publicKeyPem, adminToken: config.ADMIN_TOKEN }).createAdapter(
    { channelId: 'sandbox', type: 'sandbox', credentials: {} },
    { http: createChannelHttp({ timeoutMs: 1_000, egress: localEgress }), callbackUrl: NOWHERE, publicBaseUrl: 'http://127.0.0.1:9' },
  );
  const body = (fields: Record<string, unknown> = {}) =>
    JSON.stringify({
      notifyId: `ntf_${randomUUID()}`,
      event: 'PAYMENT_RESULT',
      paymentId: 'sbx_1',
      merchantOrderId: randomUUID(),
      result: 'SUCCESS',
      txnId: 'sbxtxn_1',
      amount: 2500,
      currency: 'JPY',
      paidAt: new Date().toISOString(),
      ...fields,
    });
  const rejection = (cb: InboundCallback) =>
    adapter.verifyNotification(cb).then(
      () => 'accepted',
      (err: { code?: string }) => err.code,
    );

  it('reads header names case-insensitively and reports no amount for a failed attempt', async () => {
    const cb = signed(body(), now(), keys.privateKeyPem);
    const upper = Object.fromEntries(Object.entries(cb.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect((await adapter.verifyNotification({ ...cb, headers: upper })).events[0]!.kind).toBe('PAYMENT_SUCCEEDED');
    const failed = signed(body({ result: 'FAILED', txnId: undefined, paidAt: undefined }), now(), keys.privateKeyPem);
    const [event] = (await adapter.verifyNotification(failed)).events;
    expect(event).toMatchObject({ kind: 'PAYMENT_FAILED' });
    expect(event!.amount).toBeUndefined();
    expect(event!.channelTradeNo).toBeUndefined();
  });

  it('authenticates the exact bytes received, within ±300 s, before reading them', async () => {
    const raw = body();
    const genuine = signed(raw, now(), keys.privateKeyPem);
    expect(await rejection({ ...genuine, rawBody: Buffer.from(JSON.stringify(JSON.parse(raw), null, 2)) })).toBe('INVALID_SIGNATURE');
    const { [SANDBOX_SIGNATURE_HEADER.toLowerCase()]: _omitted, ...unsigned } = genuine.headers;
    expect(await rejection({ ...genuine, headers: unsigned })).toBe('INVALID_SIGNATURE');
    expect(await rejection(signed(raw, now() + 305, keys.privateKeyPem))).toBe('STALE_NOTIFICATION');
    expect(await rejection(signed(raw, now() - 250, keys.privateKeyPem))).toBe('accepted');
    expect(await rejection(signed('{"notifyId":', now(), keys.privateKeyPem))).toBe('MALFORMED_NOTIFICATION');
    expect(await rejection(signed(body({ merchantOrderId: undefined }), now(), keys.privateKeyPem))).toBe('MALFORMED_NOTIFICATION');
  });
});
