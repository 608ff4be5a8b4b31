import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { PII_KINDS, openPii, piiDigest, piiKeyring } from '../../infra/pii';
import { raw, sql } from '../../store/sql';
import { sealLegacyOrderPii } from '../../store/orders';
import { Harness, type TestGame } from '../support/harness';

let h: Harness;
let game: TestGame;
let sku: string;
beforeAll(async () => ({ h, game, sku } = await Harness.startWithGame()));
afterAll(() => h?.close());

const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}`;

/** Every row of every table of ours, as text: what a raw read (a dump, a leaked backup) would show. */
async function everyRowAsText(): Promise<string> {
  const tables = await h.sql<{ table_name: string }>(sql`
    SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`);
  expect(tables.length).toBeGreaterThan(20);
  const parts: string[] = [];
  for (const { table_name } of tables) {
    const rows = await h.sql<{ row: string }>(sql`SELECT t::text AS row FROM ${raw(`"${table_name.replace(/"/g, '""')}"`)} t`);
    parts.push(...rows.map((r) => r.row));
  }
  return parts.join('\n');
}

/** The order's workflow history with its payloads decoded (Temporal keeps it, and shows it in its UI). */
async function historyText(orderId: string): Promise<string> {
  const history = await h.client.workflow.getHandle(purchaseWorkflowId(orderId)).fetchHistory();
  return JSON.stringify(history, (_key, value) => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value));
}

describe('personal data of orders at rest', () => {
  it('keeps a client IP and device id only sealed with digests: no table and no workflow history holds them in the clear', async () => {
    const clientIp = uniqueIp();
    const deviceId = `device-${randomUUID()}`;
    const created = await h.createOrder(game, { userId: `u-${randomUUID().slice(0, 8)}`, sku, region: 'CN', clientIp, deviceId });
    expect(created.status).toBe(201);
    await h.pay(created.body.payment.channelPaymentId);
    await h.waitForStatus(created.body.orderId, 'DELIVERED');

    const order = await h.db.order.findUniqueOrThrow({ where: { id: created.body.orderId } });
    const keyring = piiKeyring(h.config);
    expect(order.clientIp).toBeNull();
    expect(order.deviceId).toBeNull();
    expect(openPii(keyring, order.clientIpSealed!)).toBe(clientIp);
    expect(openPii(keyring, order.deviceIdSealed!)).toBe(deviceId);
    expect(order.clientIpDigest).toBe(piiDigest(keyring, PII_KINDS.clientIp, clientIp));
    expect(order.deviceIdDigest).toBe(piiDigest(keyring, PII_KINDS.deviceId, deviceId));

    const dump = await everyRowAsText();
    expect(dump).toContain(created.body.orderId); // the read did see the order
    expect(dump).not.toContain(clientIp);
    expect(dump).not.toContain(deviceId);
    const history = await historyText(created.body.orderId);
    expect(history).toContain(created.body.orderId);
    expect(history).not.toContain(clientIp);
    expect(history).not.toContain(deviceId);
  });

  it('seals the rows written before (the one-off script), once, and leaves them readable', async () => {
    const created = await h.createOrder(game, { userId: `u-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
    expect(created.status).toBe(201);
    const [legacyIp, legacyDevice] = [uniqueIp(), `legacy-${randomUUID()}`];
    // As an order was written before: plaintext columns, no sealed forms.
    await h.db.order.update({ where: { id: created.body.orderId }, data: { clientIp: legacyIp, deviceId: legacyDevice } });

    expect(await sealLegacyOrderPii(h.sql, piiKeyring(h.config), 2)).toBeGreaterThanOrEqual(1);
    const order = await h.db.order.findUniqueOrThrow({ where: { id: created.body.orderId } });
    expect([order.clientIp, order.deviceId]).toEqual([null, null]);
    expect(openPii(piiKeyring(h.config), order.clientIpSealed!)).toBe(legacyIp);
    expect(openPii(piiKeyring(h.config), order.deviceIdSealed!)).toBe(legacyDevice);
    expect(order.deviceIdDigest).toBe(piiDigest(piiKeyring(h.config), PII_KINDS.deviceId, legacyDevice));
    expect(await sealLegacyOrderPii(h.sql, piiKeyring(h.config))).toBe(0);
    expect(await everyRowAsText()).not.toContain(legacyIp);
  });
});
