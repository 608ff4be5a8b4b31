import { inflateSync } from 'node:zlib';
import JSZip from 'jszip';
import { orderIdOf } from '../ids';
import type { StatementRow } from '../types';
import { TXN_TYPE, UnionPayFormatError, fromBeijingTime, refundIdOf, withYear } from './wire';

/**
 * UnionPay's merchant settlement file (ACP file transfer, txnType 76, fileType 00). `fileContent` is
 * base64 of a zlib stream of a ZIP (UnionPay's SDKs: base64-decode, then inflate). The ZIP holds, per
 * settlement day, the general transaction file `INN<yyMMdd><nn>ZM_<merId>` and the error file `…ZME_…`.
 * A ZM line is fixed-width in bytes (GBK), fields separated by one byte, per "全渠道平台接入接口规范
 * 第3部分 文件接口" §6.1 as UnionPay's SDK demo (`parseZMFile`) reads it. Only ASCII fields are read.
 */
const ZM_FIELD_WIDTHS = [
  3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13,
  13, 12, 2, 1, 32,
] as const;

/** The fields read, by their position in the line. */
const ZM = {
  transmissionTime: 4, // 交易传输时间, MMDDhhmmss Beijing
  txnAmt: 6, // 交易金额, fen
  queryId: 9, // 查询流水号
  orderId: 11, // 商户订单号
  merchantFee: 15, // 商户手续费, D|C + 12 digits
  txnType: 19, // 交易类型
  origQryId: 26, // 原交易查询流水号
  origOrderId: 40, // 原始交易订单号
} as const;

const FIELD_OFFSETS: number[] = [];
for (let i = 0, offset = 0; i < ZM_FIELD_WIDTHS.length; offset += ZM_FIELD_WIDTHS[i]! + 1, i++) FIELD_OFFSETS.push(offset);
const LINE_MIN_BYTES = FIELD_OFFSETS.at(-1)! + ZM_FIELD_WIDTHS.at(-1)!;

export function isGeneralTransactionFile(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return base.startsWith('INN') && base.includes('ZM_');
}

/** The statement rows of a settlement day (`YYYY-MM-DD`) from a file transfer's `fileContent`. */
export async function settlementRows(fileContent: string, settleDate: string): Promise<StatementRow[]> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(inflateSync(Buffer.from(fileContent, 'base64')));
  } catch (err) {
    throw new UnionPayFormatError(`fileContent is not a deflated ZIP: ${(err as Error).message}`);
  }
  const files = Object.values(zip.files).filter((file) => !file.dir && isGeneralTransactionFile(file.name));
  const rows: StatementRow[] = [];
  for (const file of files) rows.push(...parseGeneralTransactionFile(await file.async('nodebuffer'), settleDate));
  return rows;
}

/** One ZM file. Payments (consume) and refunds (refund, consume undo) are rows; other transactions are not money we track. */
export function parseGeneralTransactionFile(content: Buffer, settleDate: string): StatementRow[] {
  const reference = fromBeijingTime(`${settleDate.replace(/-/g, '')}000000`);
  const rows: StatementRow[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < content.length) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    const line = content.subarray(start, content[end - 1] === 0x0d ? end - 1 : end);
    start = end + 1;
    lineNo++;
    if (line.toString('latin1').trim() === '') continue;
    const row = rowOf(line, reference, lineNo);
    if (row) rows.push(row);
  }
  return rows;
}

function rowOf(line: Buffer, reference: Date, lineNo: number): StatementRow | undefined {
  if (line.length < LINE_MIN_BYTES) throw new UnionPayFormatError(`line ${lineNo}: ${line.length} bytes, a ZM line has at least ${LINE_MIN_BYTES}`);
  const field = (index: number) => line.toString('latin1', FIELD_OFFSETS[index], FIELD_OFFSETS[index]! + ZM_FIELD_WIDTHS[index]!).trim();
  const txnType = field(ZM.txnType);
  const kind = txnType === TXN_TYPE.CONSUME ? 'PAYMENT' : txnType === TXN_TYPE.REFUND || txnType === TXN_TYPE.CONSUME_UNDO ? 'REFUND' : undefined;
  if (!kind) return undefined;

  const bad = (what: string) => new UnionPayFormatError(`line ${lineNo}: ${what}`);
  const amount = field(ZM.txnAmt);
  const time = field(ZM.transmissionTime);
  const queryId = field(ZM.queryId);
  if (!/^\d{12}$/.test(amount)) throw bad(`交易金额 ${JSON.stringify(amount)}`);
  if (!/^\d{10}$/.test(time)) throw bad(`交易传输时间 ${JSON.stringify(time)}`);
  if (!queryId) throw bad('no 查询流水号');
  const fee = /^[DC](\d{12})$/.exec(field(ZM.merchantFee))?.[1];
  const common = {
    kind,
    // The merchant gateway settles in CNY: the file has no currency column.
    amount: { currency: 'CNY', value: Number(amount) },
    ...(fee !== undefined && Number(fee) > 0 && { fee: { currency: 'CNY', value: Number(fee) } }),
    occurredAt: withYear(time, reference).toISOString(),
  } as const;

  if (kind === 'PAYMENT') {
    const merchantOrderId = orderIdOf(field(ZM.orderId));
    return { ...common, channelTradeNo: queryId, ...(merchantOrderId && { merchantOrderId }) };
  }
  // A refund row is named, like refund events, by the payment it returns.
  const origQryId = field(ZM.origQryId);
  if (!origQryId) throw bad('a refund without 原交易查询流水号');
  const merchantOrderId = orderIdOf(field(ZM.origOrderId));
  const refundId = txnType === TXN_TYPE.REFUND ? refundIdOf(field(ZM.orderId)) : undefined;
  return { ...common, channelTradeNo: origQryId, ...(merchantOrderId && { merchantOrderId }), ...(refundId && { refundId }) };
}
