import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { Formatter } from 'wechatpay-axios-plugin';
import { AmountError, parseDecimal } from '../amounts';
import { finalError } from '../http';
import { orderIdOf } from '../ids';
import type { StatementRow } from '../types';

/**
 * WeChat Pay's trade bill (bill_type ALL), as downloaded and unzipped: UTF-8 with a BOM, one header
 * row, data rows in which every cell starts with a backtick (so that spreadsheets keep long numbers
 * as text), then a summary header (`总交易单数,…`) and one summary row. Amounts are yuan; times are
 * Beijing time without a zone. Columns are read by name: WeChat adds columns over the years.
 */
export const TRADE_BILL_COLUMNS = {
  time: '交易时间',
  tradeNo: '微信订单号',
  merchantOrderNo: '商户订单号',
  state: '交易状态',
  currency: '货币种类',
  /** What the merchant is settled: the order amount less coupons WeChat does not fund. */
  settlementAmount: '应结订单金额',
  merchantRefundNo: '商户退款单号',
  /** The refund as settled (less non-funded coupons). */
  refundAmount: '退款金额',
  refundStatus: '退款状态',
  /** Yuan, negative on refund rows (the fee WeChat returns). */
  fee: '手续费',
  /** What the order asked for: what the payment's notification reports. */
  orderAmount: '订单金额',
  /** What the refund asked for: what the refund's notification reports. */
  requestedRefundAmount: '申请退款金额',
} as const;

const SUMMARY_HEADER_FIRST_COLUMN = '总交易单数';
const REQUIRED_COLUMNS = [
  TRADE_BILL_COLUMNS.time,
  TRADE_BILL_COLUMNS.tradeNo,
  TRADE_BILL_COLUMNS.merchantOrderNo,
  TRADE_BILL_COLUMNS.state,
  TRADE_BILL_COLUMNS.currency,
  TRADE_BILL_COLUMNS.fee,
];

/** Parses a trade bill row by row, as it streams; refunds and payments alike signed positive. */
export async function* parseTradeBill(bill: Readable | Buffer | string): AsyncGenerator<StatementRow> {
  const input = typeof bill === 'string' || Buffer.isBuffer(bill) ? Readable.from([Buffer.from(bill)]) : bill;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let columns: string[] | undefined;
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      if (!columns) {
        columns = line.replace(/^\uFEFF/, '').split(',').map((name) => name.trim());
        const missing = REQUIRED_COLUMNS.filter((name) => !columns!.includes(name));
        if (missing.length > 0) throw malformed(`the header lacks ${missing.join(', ')}`);
        if (!columns.includes(TRADE_BILL_COLUMNS.orderAmount) && !columns.includes(TRADE_BILL_COLUMNS.settlementAmount)) {
          throw malformed('the header has no order amount column');
        }
        continue;
      }
      if (line.startsWith(SUMMARY_HEADER_FIRST_COLUMN)) return; // the day's totals follow, not rows
      const row = statementRow(Formatter.castCsvLine(line, columns) as Record<string, string | undefined>, lineNo);
      if (row) yield row;
    }
  } finally {
    lines.close();
  }
}

function statementRow(cells: Record<string, string | undefined>, lineNo: number): StatementRow | undefined {
  const cell = (name: string) => {
    const value = cells[name]?.trim();
    return value === '' ? undefined : value;
  };
  const state = cell(TRADE_BILL_COLUMNS.state);
  // Refunds count once WeChat returned the money; REVOKED (payment-code trades) moved none.
  const kind = state === 'SUCCESS' ? 'PAYMENT' : state === 'REFUND' && cell(TRADE_BILL_COLUMNS.refundStatus) === 'SUCCESS' ? 'REFUND' : undefined;
  if (!kind) return undefined;

  const channelTradeNo = cell(TRADE_BILL_COLUMNS.tradeNo);
  const currency = cell(TRADE_BILL_COLUMNS.currency);
  const time = cell(TRADE_BILL_COLUMNS.time);
  if (!channelTradeNo || !currency || !time) throw malformed(`line ${lineNo} lacks the trade number, currency or time`);
  const occurredAt = beijingTime(time);
  if (!occurredAt) throw malformed(`line ${lineNo}: ${JSON.stringify(time)} is not a time`);

  const amountText =
    kind === 'PAYMENT'
      ? (cell(TRADE_BILL_COLUMNS.orderAmount) ?? cell(TRADE_BILL_COLUMNS.settlementAmount))
      : (cell(TRADE_BILL_COLUMNS.requestedRefundAmount) ?? cell(TRADE_BILL_COLUMNS.refundAmount));
  const feeText = cell(TRADE_BILL_COLUMNS.fee);
  if (amountText === undefined) throw malformed(`line ${lineNo} has no amount`);
  try {
    const amount = parseDecimal(amountText, currency);
    const fee = feeText === undefined ? undefined : parseDecimal(feeText, currency);
    const merchantOrderId = orderIdOf(cell(TRADE_BILL_COLUMNS.merchantOrderNo) ?? '');
    const refundId = kind === 'REFUND' ? cell(TRADE_BILL_COLUMNS.merchantRefundNo) : undefined;
    return {
      channelTradeNo,
      ...(merchantOrderId !== undefined && { merchantOrderId }),
      kind,
      amount: { currency, value: Math.abs(amount.value) },
      ...(fee !== undefined && { fee: { currency, value: Math.abs(fee.value) } }),
      occurredAt,
      ...(refundId !== undefined && { refundId }),
    };
  } catch (err) {
    if (err instanceof AmountError) throw malformed(`line ${lineNo}: ${err.message}`);
    throw err;
  }
}

/** `2026-01-15 20:00:00` Beijing time → ISO 8601 UTC. */
function beijingTime(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const time = new Date(`${match[1]}T${match[2]}+08:00`);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** A bill that does not parse will not parse on the next download either. */
const malformed = (why: string) => finalError('MALFORMED_BILL', `wechatpay trade bill: ${why}`);
