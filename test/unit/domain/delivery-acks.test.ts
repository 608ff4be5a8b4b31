import { decideAck, decideRevocationAck, type DeliveryAckState } from '../../../domain/fulfillment/acks';

const row: DeliveryAckState = { orderId: 'o1', gameId: 'g1', mode: 'NATS', ackResult: null, closed: false };
const granted = { gameId: 'g1', orderId: 'o1', result: 'GRANTED' as const };

describe('the decision on a delivery ack', () => {
  it('records the first ack of an open broker delivery', () => {
    expect(decideAck(row, granted)).toBe('RECORD');
    expect(decideAck({ ...row, mode: 'RABBITMQ' }, { ...granted, result: 'REJECTED' })).toBe('RECORD');
  });

  it('signals again for the same ack, refuses another result with the recorded one', () => {
    expect(decideAck({ ...row, ackResult: 'GRANTED' }, granted)).toBe('SIGNAL');
    expect(decideAck({ ...row, ackResult: 'REJECTED' }, granted)).toEqual({ code: 'DELIVERY_ALREADY_ACKNOWLEDGED', result: 'REJECTED' });
  });

  it('answers not found for no delivery, another game\'s, or another order\'s', () => {
    expect(decideAck(undefined, granted)).toEqual({ code: 'DELIVERY_NOT_FOUND' });
    expect(decideAck(row, { ...granted, gameId: 'g2' })).toEqual({ code: 'DELIVERY_NOT_FOUND' });
    expect(decideAck(row, { ...granted, orderId: 'o2' })).toEqual({ code: 'DELIVERY_NOT_FOUND' });
    // Another game learns nothing about the delivery's state.
    expect(decideAck({ ...row, mode: 'HTTP', closed: true }, { ...granted, gameId: 'g2' })).toEqual({ code: 'DELIVERY_NOT_FOUND' });
  });

  it('refuses an HTTP delivery and one closed without an ack; an ack written before the close still wins', () => {
    expect(decideAck({ ...row, mode: 'HTTP' }, granted)).toEqual({ code: 'DELIVERY_NOT_AWAITING_ACK' });
    expect(decideAck({ ...row, closed: true }, granted)).toEqual({ code: 'DELIVERY_CLOSED' });
    expect(decideAck({ ...row, ackResult: 'GRANTED', closed: true }, granted)).toBe('SIGNAL');
  });
});

describe('the decision on a revocation ack', () => {
  const revocation = { orderId: 'o1', gameId: 'g1', mode: 'RABBITMQ', acknowledged: false };
  const asked = { gameId: 'g1', orderId: 'o1' };

  it('records the first ack of a broker revocation, signals again on a repeat', () => {
    expect(decideRevocationAck(revocation, asked)).toBe('RECORD');
    expect(decideRevocationAck({ ...revocation, acknowledged: true }, asked)).toBe('SIGNAL');
  });

  it("answers not found for no revocation, another game's or another order's; refuses an HTTP revocation", () => {
    expect(decideRevocationAck(undefined, asked)).toEqual({ code: 'REVOCATION_NOT_FOUND' });
    expect(decideRevocationAck(revocation, { ...asked, gameId: 'g2' })).toEqual({ code: 'REVOCATION_NOT_FOUND' });
    expect(decideRevocationAck(revocation, { ...asked, orderId: 'o2' })).toEqual({ code: 'REVOCATION_NOT_FOUND' });
    expect(decideRevocationAck({ ...revocation, mode: 'HTTP' }, asked)).toEqual({ code: 'REVOCATION_NOT_AWAITING_ACK' });
  });
});
