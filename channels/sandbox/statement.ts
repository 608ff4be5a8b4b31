import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { AmountError, currencyExponent, parseDecimal } from '../amounts';
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
  let index: Record<Column, number> | undefined;
  let lineNo = 0;
  for await (const lines of linesOf(input)) {
    for (const line of lines) {
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
  }
  if (!index) throw malformed('the statement has no header');
  // Every statement ends with its summary: without it, the download was cut short (try again).
  throw transientError('STATEMENT_TRUNCATED', `sandbox statement: it ends after line ${lineNo}, before its summary`);
}

/** The stream's lines (LF or CRLF), a chunk's worth at a time, decoded as UTF-8 across chunk boundaries. */
async function* linesOf(input: Readable): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const trimmed = (lines: string[]) => lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  for await (const chunk of input) {
    const lines = (rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer))).split('\n');
    rest = lines.pop()!;
    yield trimmed(lines);
  }
  rest += decoder.end();
  if (rest) yield trimmed([rest]);
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

/** A cell's trimmed text, undefined when empty. */
function cellAt(cells: string[], index: number): string | undefined {
  const value = cells[index]?.trim();
  return value === '' ? undefined : value;
}

// Written without closures or object spreads: a statement of a million lines goes through here.
function statementRow(cells: string[], at: Record<Column, number>, lineNo: number): StatementRow | undefined {
  const state = cellAt(cells, at.state);
  // A refund counts once the money went back; other states (closed, revoked) moved no money.
  const kind = state === 'SUCCESS' ? 'PAYMENT' : state === 'REFUND' && cellAt(cells, at.refundState) === 'SUCCESS' ? 'REFUND' : undefined;
  if (!kind) return undefined;

  const channelTradeNo = cellAt(cells, at.tradeNo);
  const currency = cellAt(cells, at.currency);
  const time = cellAt(cells, at.time);
  if (!channelTradeNo || !currency || !time) throw malformed(`line ${lineNo} lacks the trade number, currency or time`);
  const occurredAt = localTime(time);
  if (!occurredAt) throw malformed(`line ${lineNo}: ${JSON.stringify(time)} is not a time with its UTC offset`);
  const amountText = cellAt(cells, kind === 'PAYMENT' ? at.orderAmount : at.refundAmount);
  if (amountText === undefined) throw malformed(`line ${lineNo} has no amount`);
  try {
    const row: StatementRow = { channelTradeNo, kind, amount: { currency, value: Math.abs(minorUnits(amountText, currency)) }, occurredAt };
    const feeText = cellAt(cells, at.fee);
    if (feeText !== undefined) row.fee = { currency, value: Math.abs(minorUnits(feeText, currency)) };
    const merchantOrderId = ourOrderId(cellAt(cells, at.merchantOrderNo));
    if (merchantOrderId !== undefined) row.merchantOrderId = merchantOrderId;
    // '0' stands for "no refund number" in the bill's refund columns.
    const refundId = kind === 'REFUND' ? cellAt(cells, at.merchantRefundNo) : undefined;
    if (refundId !== undefined && refundId !== '0') row.refundId = refundId;
    return row;
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

/** `2026-11-01 08:05:00+08:00` → ISO 8601 UTC (lines come in time order: the last one is remembered). */
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;
let lastLocal = '';
let lastIso: string | undefined;
function localTime(text: string): string | undefined {
  if (text === lastLocal) return lastIso;
  const m = LOCAL_TIME.exec(text);
  let iso: string | undefined;
  if (m) {
    const [year, month, day, hour, minute, second] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!];
    const offsetMinutes = (m[7] === '-' ? -1 : 1) * (+m[8]! * 60 + +m[9]!);
    const local = Date.UTC(year, month - 1, day, hour, minute, second);
    // Date.UTC rolls 2026-02-30 over into March: such a time is not one.
    const valid = new Date(local);
    if (valid.getUTCMonth() === month - 1 && valid.getUTCDate() === day && hour < 24 && minute < 60 && second < 60) {
      iso = new Date(local - offsetMinutes * 60_000).toISOString();
    }
  }
  lastLocal = text;
  lastIso = iso;
  return iso;
}

/** Decimals as the bill writes them, in minor units: digits fast, anything else through parseDecimal. */
const exponents = new Map<string, number>();
function minorUnits(text: string, currency: string): number {
  const dot = text.indexOf('.');
  let exponent = exponents.get(currency);
  if (exponent === undefined) exponents.set(currency, (exponent = currencyExponent(currency)));
  const whole = dot < 0 ? text : text.slice(0, dot);
  const fraction = dot < 0 ? '' : text.slice(dot + 1);
  if (whole.length > 0 && whole.length <= 12 && fraction.length <= exponent && DIGITS.test(whole) && (fraction === '' || DIGITS.test(fraction))) {
    return Number(whole) * 10 ** exponent + Number(fraction.padEnd(exponent, '0') || 0);
  }
  return parseDecimal(text, currency).value;
}
const DIGITS = /^\d+$/;

/** A statement that does not parse will not parse on the next download either. */
const malformed = (why: string) => finalError('MALFORMED_STATEMENT', `sandbox statement: ${why}`);
