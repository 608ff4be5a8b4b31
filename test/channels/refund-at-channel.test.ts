import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { refundAtChannel } from '../../activities/payments';
import { alipayChannel, alipayCredentials } from '../../channels/alipay/adapter';
import { ChannelError, createChannelHttp } from '../../channels/http';
import type { ChannelRegistry } from '../../channels/registry';
import type { ChannelAdapter } from '../../channels/types';
import { AlipayFake } from '../../testkit/fakes/alipay';
import { FAILURE } from '../../workflows/contract';
import { localEgress } from '../support/egress';

/**
 * refundAtChannel, the one refund call of the purchase's refund and of an operator's reversal, against
 * Alipay's fake gateway: a final refusal is a non-retryable REFUND_REFUSED, an outage stays retryable.
 */
const APP_ID = '2021000000000001';
const SELLER_ID = '2088000000000001';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

let fake: AlipayFake;
let adapter: ChannelAdapter;
beforeAll(async () => {
  fake = await new AlipayFake({ appId: APP_ID, appPublicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(), sellerId: SELLER_ID }).start();
  adapter = alipayAt(fake.url);
});
afterAll(() => fake?.stop());

/** Our Alipay adapter, talking to the gateway at `gateway`. */
function alipayAt(gateway: string): ChannelAdapter {
  const credentials = alipayCredentials.parse({
    appId: APP_ID,
    appPrivateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    alipayPublicKey: fake.alipayPublicKey,
    sellerId: SELLER_ID,
    gateway,
  });
  return alipayChannel().createAdapter(
    { channelId: 'alipay-test', type: 'alipay', credentials },
    { http: createChannelHttp({ timeoutMs: 2_000, egress: localEgress }), callbackUrl: 'http://127.0.0.1:9/v1/callbacks/alipay', publicBaseUrl: 'http://127.0.0.1:9' },
  );
}

const registryOf = (found: ChannelAdapter): ChannelRegistry => ({
  get: (channelId) => (channelId === found.channelId ? found : undefined),
  names: () => [found.channelId],
  accounts: () => [],
  refresh: async () => undefined,
});

/** An order of 6.00 CNY paid at the fake; `finished` ends its refund window (TRADE_FINISHED). */
async function paidOrder({ finished }: { finished: boolean }) {
  const id = randomUUID();
  const amount = { currency: 'CNY', value: 600 };
  const created = await adapter.createPayment({
    orderId: id,
    amount,
    subject: '60 Gems',
    notifyUrl: 'http://127.0.0.1:9/v1/callbacks/alipay',
    expiresAt: new Date(Date.now() + 15 * 60_000),
    userId: 'player-1',
  });
  fake.pay(created.payment);
  if (finished) fake.finish(created.channelPaymentId);
  const order = { id, channel: adapter.channelId, amount: { currency: 'CNY', value: 600 }, channelTxnId: null, storeProductId: null };
  const refund = { refundId: `rf${id.replace(/-/g, '')}`, reason: 'OPS_REFUND', paid: amount, channelPaymentId: created.channelPaymentId };
  return { order, refund };
}

describe('a refund at the channel', () => {
  it('returns the money of a refundable payment', async () => {
    const { order, refund } = await paidOrder({ finished: false });
    await expect(refundAtChannel(registryOf(adapter), order, refund)).resolves.toMatchObject({ state: 'SUCCEEDED' });
  });

  it("ends with a non-retryable REFUND_REFUSED carrying the channel's code when the channel refuses for good", async () => {
    const { order, refund } = await paidOrder({ finished: true });
    const refused = await refundAtChannel(registryOf(adapter), order, refund).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ApplicationFailure);
    expect(refused).toMatchObject({ type: FAILURE.refundRefused, nonRetryable: true, message: expect.stringContaining('ACQ.TRADE_HAS_FINISHED') });
  });

  it('leaves an outage retryable', async () => {
    const { order, refund } = await paidOrder({ finished: false });
    // fetch refuses port 9 outright: the gateway is unreachable.
    const unreachable = alipayAt('http://127.0.0.1:9/gateway.do');
    const failed = await refundAtChannel(registryOf(unreachable), order, refund).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ChannelError);
    expect((failed as ChannelError).transient).toBe(true);
  });

  it('refuses at once, without retry, on a channel that cannot refund', async () => {
    const { order, refund } = await paidOrder({ finished: false });
    const noRefunds = { ...adapter, channelId: adapter.channelId, type: adapter.type, supports: { ...adapter.supports, refund: false } } as ChannelAdapter;
    await expect(refundAtChannel(registryOf(noRefunds), order, refund)).rejects.toMatchObject({ type: FAILURE.refundRefused, nonRetryable: true });
  });
});
