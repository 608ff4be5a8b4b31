/** What the game's ack of a broker delivery meets on the delivery row, and what follows. */

export type AckResult = 'GRANTED' | 'REJECTED';

export interface DeliveryAckState {
  orderId: string;
  gameId: string;
  mode: string;
  ackResult: AckResult | null;
  closed: boolean;
}

export type AckRefusal =
  | { code: 'DELIVERY_NOT_FOUND' }
  | { code: 'DELIVERY_NOT_AWAITING_ACK' }
  | { code: 'DELIVERY_ALREADY_ACKNOWLEDGED'; result: AckResult }
  | { code: 'DELIVERY_CLOSED' };

/**
 * RECORD: no ack yet, write it; SIGNAL: this very ack is recorded (a repeat, or a retry after the
 * signal failed), tell the workflow again; else the refusal. Another game's delivery, or one of another
 * order, is as unknown as a missing one.
 */
export function decideAck(
  row: DeliveryAckState | undefined,
  ack: { gameId: string; orderId: string; result: AckResult },
): 'RECORD' | 'SIGNAL' | AckRefusal {
  if (!row || row.gameId !== ack.gameId || row.orderId !== ack.orderId) return { code: 'DELIVERY_NOT_FOUND' };
  if (row.mode === 'HTTP') return { code: 'DELIVERY_NOT_AWAITING_ACK' };
  if (row.ackResult) return row.ackResult === ack.result ? 'SIGNAL' : { code: 'DELIVERY_ALREADY_ACKNOWLEDGED', result: row.ackResult };
  if (row.closed) return { code: 'DELIVERY_CLOSED' };
  return 'RECORD';
}

/** What the game's ack of a broker revocation meets on the revocation row. */
export interface RevocationAckState {
  orderId: string;
  gameId: string;
  mode: string;
  acknowledged: boolean;
}

export type RevocationAckRefusal = { code: 'REVOCATION_NOT_FOUND' } | { code: 'REVOCATION_NOT_AWAITING_ACK' };

/**
 * RECORD: no ack yet, write it (REVOKED); SIGNAL: acknowledged before (a repeat, or a retry after the
 * signal failed). A revocation has one result and no deadline that closes it: the goods the game took
 * back are taken back, however late it says so. Another game's revocation, or one of another order,
 * is as unknown as a missing one.
 */
export function decideRevocationAck(row: RevocationAckState | undefined, ack: { gameId: string; orderId: string }): 'RECORD' | 'SIGNAL' | RevocationAckRefusal {
  if (!row || row.gameId !== ack.gameId || row.orderId !== ack.orderId) return { code: 'REVOCATION_NOT_FOUND' };
  if (row.mode === 'HTTP') return { code: 'REVOCATION_NOT_AWAITING_ACK' };
  return row.acknowledged ? 'SIGNAL' : 'RECORD';
}
