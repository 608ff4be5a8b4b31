import iconv from 'iconv-lite';
import JSZip from 'jszip';
import type { Money } from '../../domain/money';
import { parseDecimal } from '../amounts';
import { finalError } from '../http';
import { orderIdOf } from '../ids';
import type { StatementRow } from '../types';
import { ALIPAY_CURRENCY, beijingToIso } from './wire';

/**
 * Alipay's trade bill (bill_type `trade`): a ZIP holding `<account>_<yyyyMMdd>_业务明细.csv` and its
 * `…_业务明细(汇总).csv` summary, both GBK. The detail file is `#` comment lines, the column row,
 * one row per payment (交易) or refund (退款) — cells tab-padded, refund amounts negative — then
 * `#…业务明细列表结束…` and `#` footer lines (totals, export time).
 */

/** The columns read, by name: their order differs between bill versions. */
const COLUMN = {
  tradeNo: '支付宝交易号',
  outTradeNo: '商户订单号',
  businessType: '业务类型',
  finishedAt: '完成时间',
  orderAmount: '订单金额（元）',
  refundRequestNo: '退款批次号/请求号',
  fee: '服务费（元）',
} as const;

const malformed = (message: string) => finalError('BILL_MALFORMED', `alipay bill: ${message}`);

/** The rows of a downloaded bill archive, one at a time (the detail file is inflated as a stream). */
export async function* readBillArchive(zip: Uint8Array): AsyncGenerator<StatementRow> {
  let archive: JSZip;
  try {
    archive = await JSZip.loadAsync(zip, { decodeFileName: zipEntryName });
  } catch {
    throw malformed('not a ZIP archive');
  }
  const entries = Object.values(archive.files).filter((entry) => !entry.dir);
  const details = entries.find((entry) => entry.name.endsWith('业务明细.csv'));
  if (!details) throw malformed(`no 业务明细.csv among ${JSON.stringify(entries.map((e) => e.name))}`);
  const decoded = details.nodeStream('nodebuffer').pipe(iconv.decodeStream('gbk'));
  yield* parseBusinessDetails(lines(decoded));
}

/** Alipay writes entry names in GBK without the ZIP UTF-8 flag; a name that is valid UTF-8 is taken as such. */
function zipEntryName(bytes: string[] | Uint8Array | Buffer): string {
  const buffer = Array.isArray(bytes) ? Buffer.from(bytes.map((b) => b.charCodeAt(0))) : Buffer.from(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buffer);
  } catch {
    return iconv.decode(buffer, 'gbk');
  }
}

async function* lines(chunks: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of chunks) {
    pending += chunk.toString();
    const parts = pending.split(/\r?\n/);
    pending = parts.pop()!;
    yield* parts;
  }
  if (pending !== '') yield pending;
}

/** The rows of a 业务明细 file's text, line by line. */
export async function* parseBusinessDetails(textLines: AsyncIterable<string>): AsyncGenerator<StatementRow> {
  let columns: Map<string, number> | undefined;
  let listEnded = false;
  let lineNo = 0;
  for await (const raw of textLines) {
    lineNo += 1;
    const line = raw.replace(/^\uFEFF/, '');
    if (listEnded || line.trim() === '') continue;
    if (line.startsWith('#')) {
      // Comments before the column row; after the rows, the first `#` line ends the list (footer follows).
      listEnded = columns !== undefined;
      continue;
    }
    const cells = splitCsvLine(line).map((cell) => cell.trim());
    if (!columns) {
      columns = columnIndex(cells);
      continue;
    }
    const row = statementRow(cells, columns, lineNo);
    if (row) yield row;
  }
  if (!columns) throw malformed('no column row');
}

function columnIndex(header: string[]): Map<string, number> {
  // Some exports use ASCII parentheses in the names.
  const names = header.map((name) => name.replace(/\(/g, '（').replace(/\)/g, '）'));
  const index = new Map(names.map((name, i) => [name, i]));
  const missing = Object.values(COLUMN).filter((name) => !index.has(name));
  if (missing.length > 0) throw malformed(`missing columns ${missing.join(', ')}`);
  return index;
}

/** Rows other than 交易 and 退款 (none expected in a trade bill) are not payments or refunds: skipped. */
function statementRow(cells: string[], columns: Map<string, number>, lineNo: number): StatementRow | undefined {
  const cell = (name: string) => cells[columns.get(name)!] ?? '';
  const type = cell(COLUMN.businessType);
  const kind = type === '交易' ? 'PAYMENT' : type === '退款' ? 'REFUND' : undefined;
  if (!kind) return undefined;
  try {
    const tradeNo = cell(COLUMN.tradeNo);
    if (tradeNo === '') throw new Error(`${COLUMN.tradeNo} is empty`);
    const merchantOrderId = orderIdOf(cell(COLUMN.outTradeNo));
    const refundId = cell(COLUMN.refundRequestNo);
    const fee = cell(COLUMN.fee);
    return {
      channelTradeNo: tradeNo,
      ...(merchantOrderId !== undefined && { merchantOrderId }),
      kind,
      amount: magnitude(cell(COLUMN.orderAmount)),
      // Charged on payments, given back on refunds: the statement row carries its size.
      ...(fee !== '' && { fee: magnitude(fee) }),
      occurredAt: beijingToIso(cell(COLUMN.finishedAt)),
      ...(kind === 'REFUND' && refundId !== '' && { refundId }),
    };
  } catch (err) {
    throw malformed(`line ${lineNo}: ${(err as Error).message}`);
  }
}

/** Refund rows carry negative amounts; statement rows are signed positive. */
function magnitude(yuan: string): Money {
  const money = parseDecimal(yuan, ALIPAY_CURRENCY);
  return { currency: money.currency, value: Math.abs(money.value) };
}

/** One CSV line; Alipay does not quote, but a quoted cell (a subject with a comma) is read right. */
function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char !== '"') {
        cell += char;
      } else if (line[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else {
        quoted = false;
      }
    } else if (char === '"' && cell.trim() === '') {
      quoted = true;
      cell = '';
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else {
      cell += char;
    }
  }
  cells.push(cell);
  return cells;
}
