import {
  consumptionDeadline,
  CONSUMPTION_SETTINGS_OFF,
  decideConsumptionAnswer,
  type ConsumptionFacts,
  type ConsumptionSettings,
} from '../../../domain/stores/consumption';

const ON: ConsumptionSettings = { answers: 'ON', playerConsent: 'ALL', sampleContentProvided: true };
type Order = NonNullable<ConsumptionFacts['order']>;
const delivered: Order = {
  status: 'DELIVERED',
  statusReason: null,
  deliveredAt: '2026-12-07T10:00:00.000Z',
  failedDeliveryAttempts: 0,
  consumptionDataConsent: false,
  grantLog: { gameSendsLogs: false, granted: false, consumptionPercentage: null },
};
const decide = (order: Partial<Order> | undefined, settings: ConsumptionSettings = ON) =>
  decideConsumptionAnswer({ order: order && { ...delivered, ...order }, settings });

describe('the answer to a consumption request', () => {
  it('answers nothing for a transaction that is not our order, or when the game has answers off (the default)', () => {
    expect(decide(undefined)).toEqual({ outcome: 'NOT_OUR_ORDER' });
    expect(decide({}, CONSUMPTION_SETTINGS_OFF)).toEqual({ outcome: 'OFF' });
  });

  it('sends nothing without the player’s consent when the game asks per order', () => {
    const perOrder = { ...ON, playerConsent: 'PER_ORDER' as const };
    expect(decide({ consumptionDataConsent: false }, perOrder)).toEqual({ outcome: 'NO_CONSENT' });
    expect(decide({ consumptionDataConsent: true }, perOrder).outcome).toBe('SEND');
    // What the game reported changes nothing without consent: no body at all.
    const reported = { gameSendsLogs: true, granted: true, consumptionPercentage: 40_000 };
    expect(decide({ consumptionDataConsent: false, grantLog: reported }, { ...perOrder, refundPreference: 'GRANT_PRORATED' })).toEqual({ outcome: 'NO_CONSENT' });
    expect(decide({ consumptionDataConsent: true, grantLog: reported }, { ...perOrder, refundPreference: 'GRANT_PRORATED' }).body).toEqual({
      customerConsented: true,
      deliveryStatus: 'DELIVERED',
      sampleContentProvided: true,
      consumptionPercentage: 40_000,
      refundPreference: 'GRANT_PRORATED',
    });
    // A game that takes consent by its terms answers whatever the create call said.
    expect(decide({ consumptionDataConsent: false }).outcome).toBe('SEND');
  });

  it('maps the order’s facts to deliveryStatus', () => {
    const status = (order: Partial<Order>) => decide(order).body?.deliveryStatus;
    expect(status({})).toBe('DELIVERED');
    expect(status({ grantLog: { gameSendsLogs: true, granted: true, consumptionPercentage: null } })).toBe('DELIVERED');
    // Delivered by our books but missing from the game's own grant log.
    expect(status({ grantLog: { gameSendsLogs: true, granted: false, consumptionPercentage: null } })).toBe('UNDELIVERED_OTHER');
    expect(status({ status: 'REFUNDED', statusReason: 'DELIVERY_FAILED', deliveredAt: null })).toBe('UNDELIVERED_SERVER_OUTAGE');
    expect(status({ status: 'DELIVERING', deliveredAt: null, failedDeliveryAttempts: 2 })).toBe('UNDELIVERED_SERVER_OUTAGE');
    expect(status({ status: 'DELIVERING', deliveredAt: null, failedDeliveryAttempts: 0 })).toBe('UNDELIVERED_OTHER');
    expect(status({ status: 'MANUAL_REVIEW', statusReason: 'PRODUCT_MISMATCH', deliveredAt: null })).toBe('UNDELIVERED_WRONG_ITEM');
    expect(status({ status: 'PAID', deliveredAt: null })).toBe('UNDELIVERED_OTHER');
  });

  it('sends exactly the v2 body: consent, delivery, sample, the latest reported percentage and the game’s preference', () => {
    const body = decide(
      { grantLog: { gameSendsLogs: true, granted: true, consumptionPercentage: 25_000 } },
      { ...ON, refundPreference: 'GRANT_PRORATED' },
    ).body;
    expect(body).toEqual({ customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: true, consumptionPercentage: 25_000, refundPreference: 'GRANT_PRORATED' });
    // No percentage reported: the field is omitted; GRANT_PRORATED without one is not stated.
    expect(decide({}, { ...ON, refundPreference: 'GRANT_PRORATED' }).body).toEqual({ customerConsented: true, deliveryStatus: 'DELIVERED', sampleContentProvided: true });
    expect(decide({ grantLog: { gameSendsLogs: true, granted: true, consumptionPercentage: 0 } }, { ...ON, refundPreference: 'GRANT_PRORATED' }).body).not.toHaveProperty('refundPreference');
    expect(decide({}, { ...ON, refundPreference: 'DECLINE' }).body?.refundPreference).toBe('DECLINE');
    // A reported 0% is sent (the player used nothing); other preferences need no percentage.
    expect(decide({ grantLog: { gameSendsLogs: true, granted: true, consumptionPercentage: 0 } }, { ...ON, refundPreference: 'GRANT_FULL' }).body).toMatchObject({
      consumptionPercentage: 0,
      refundPreference: 'GRANT_FULL',
    });
    expect(decide({ grantLog: { gameSendsLogs: true, granted: true, consumptionPercentage: 1 } }, { ...ON, refundPreference: 'GRANT_PRORATED' }).body?.refundPreference).toBe('GRANT_PRORATED');
    expect(Object.keys(decide({})!.body!)).not.toEqual(expect.arrayContaining(['consumptionStatus', 'platform', 'playTime', 'userStatus']));
  });

  it('is due 12 hours after Apple signed the request', () => {
    expect(consumptionDeadline('2026-12-07T10:00:00.000Z').toISOString()).toBe('2026-12-07T22:00:00.000Z');
  });
});
