import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { AmountError, parseDecimal } from '../amounts';
import { finalError, transientError } from '../http';
import { orderIdOf } from '../ids';
import type { StatementRow } from '../types';

/**
 * The sandbox provider's daily statement, in the shape of WeChat Pay's trade bill: a UTF-8 BOM and
 * one header row, data rows whose every cell starts with a backtick, then a summary header
 * (`总交易单数,…`) and its rows. Amounts are decimals in the currency's unit (yuan for CNY, whole yen
 * for JPY); times are the provider's local time with their UTC offset. Columns are read by name.
 */
export const SANDBOX_STATEMENT_COLUMNS = {
  time: '交易时间',
  tradeNo: '微信订单号',
  merchantOrderNo: '商户订单号',
  state: '交易状态',
  currency: '货币种类',
  orderAmount: '订单金额',
  merchantRefundNo: '商户退款单号',
  refundAmount: '退款金额',
  refundState: '退款状态',
  /** Negative on refund rows: the fee the channel returns. */
  fee: '手续费',
} as const;

const SUMMARY_HEADER_FIRST_COLUMN = '总交易单数';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Column = keyof typeof SANDBOX_STATEMENT_COLUMNS;

/** Reads the statement line by line as it streams; payments and refunds alike signed positive. */
export async function* parseSandboxStatement(statement: Readable | Buffer | string): AsyncGenerator<StatementRow> {
  const input = typeof statement === 'string' || Buffer.isBuffer(statement) ? Readable.from([Buffer.from(statement)]) : statement;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let index: Record<Column, number> | undefined;
  let lineNo = 0;
  try {
    for await (const line of lines) {
      lineNo += 1;
      if (line.trim() === '') continue;
      if (!index) {
        index = columnIndex(line.replace(/^\uFEFF/, '').split(',').map((name) => name.trim()));
        continue;
      }
      if (line.startsWith(SUMMARY_HEADER_FIRST_COLUMN)) return; // the day's totals follow, not rows
      const row = statementRow(cellsOf(line, lineNo), index, lineNo);
      if (row) yield row;
    }
    if (!index) throw malformed('the statement has no header');
    // Every statement ends with its summary: without it, the download was cut short (try again).
    throw transientError('STATEMENT_TRUNCATED', `sandbox statement: it ends after line ${lineNo}, before its summary`);
  } finally {
    lines.close();
  }
}

function columnIndex(names: string[]): Record<Column, number> {
  const entries = Object.entries(SANDBOX_STATEMENT_COLUMNS).map(([key, name]) => [key, names.indexOf(name)] as const);
  const missing = entries.filter(([, at]) => at < 0).map(([key]) => SANDBOX_STATEMENT_COLUMNS[key as Column]);
  if (missing.length > 0) throw malformed(`the header lacks ${missing.join(', ')}`);
  return Object.fromEntries(entries) as Record<Column, number>;
}

/** "`a,`b,`c" → [a, b, c]: cells are told apart by the backtick that starts each (a cell may hold a comma). */
function cellsOf(line: string, lineNo: number): string[] {
  if (!line.startsWith('`')) throw malformed(`line ${lineNo} is not a row of backtick cells`);
  return line.slice(1).split(',`');
}

function statementRow(cells: string[], at: Record<Column, number>, lineNo: number): StatementRow | undefined {
  const cell = (column: Column) => {
    const value = cells[at[column]]?.trim();
    return value === '' || value === undefined ? undefined : value;
  };
  const state = cell('state');
  // A refund counts once the money went back; other states (closed, revoked) moved no money.
  const kind = state === 'SUCCESS' ? 'PAYMENT' : state === 'REFUND' && cell('refundState') === 'SUCCESS' ? 'REFUND' : undefined;
  if (!kind) return undefined;

  const channelTradeNo = cell('tradeNo');
  const currency = cell('currency');
  const time = cell('time');
  if (!channelTradeNo || !currency || !time) throw malformed(`line ${lineNo} lacks the trade number, currency or time`);
  const occurredAt = localTime(time);
  if (!occurredAt) throw malformed(`line ${lineNo}: ${JSON.stringify(time)} is not a time with its UTC offset`);
  const amountText = kind === 'PAYMENT' ? cell('orderAmount') : cell('refundAmount');
  if (amountText === undefined) throw malformed(`line ${lineNo} has no amount`);
  try {
    const amount = parseDecimal(amountText, currency);
    const feeText = cell('fee');
    const fee = feeText === undefined ? undefined : parseDecimal(feeText, currency);
    const merchantOrderId = ourOrderId(cell('merchantOrderNo'));
    const refundId = kind === 'REFUND' ? cell('merchantRefundNo') : undefined;
    return {
      channelTradeNo,
      ...(merchantOrderId !== undefined && { merchantOrderId }),
      kind,
      amount: { currency, value: Math.abs(amount.value) },
      ...(fee !== undefined && { fee: { currency, value: Math.abs(fee.value) } }),
      occurredAt,
      // '0' stands for "no refund number" in the bill's refund columns.
      ...(refundId !== undefined && refundId !== '0' && { refundId }),
    };
  } catch (err) {
    if (err instanceof AmountError) throw malformed(`line ${lineNo}: ${err.message}`);
    throw err;
  }
}

/** Our order ids come back as given (a UUID) or as 32 hex digits; anything else is not ours. */
function ourOrderId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  return UUID.test(lower) ? lower : orderIdOf(lower);
}

/** `2026-11-01 08:05:00+08:00` → ISO 8601 UTC. */
function localTime(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})([+-]\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const time = new Date(`${match[1]}T${match[2]}${match[3]}`);
  return Number.isNaN(time.getTime()) ? undefined : time.toISOString();
}

/** A statement that does not parse will not parse on the next download either. */
const malformed = (why: string) => finalError('MALFORMED_STATEMENT', `sandbox statement: ${why}`);
