import { createHash, createSign, createVerify, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';
import JSZip from 'jszip';
import type { UnionPaySigner } from './unionpay-pki';

/**
 * A fake of UnionPay's online payment gateway (ACP 5.1.0) on 127.0.0.1: the front gateway the payer's
 * browser posts the signed form to, refunds (backTransReq), the transaction query (queryTrans) and the
 * file transfer (at the root, as UnionPay's filedownload host serves it). It checks the merchant's
 * signatures, answers `k=v&…` bodies signed with its own UnionPay-style certificate, and produces the
 * back notifications UnionPay would POST (URL-encoded form, signed the same way). The signing scheme is
 * written here on its own, from the specification, not shared with the adapter under test.
 */
export type Fields = Record<string, string>;

/** A back notification as UnionPay POSTs it to the transaction's backUrl. */
export interface UnionPayNotification {
  url: string;
  headers: Record<string, string>;
  rawBody: Buffer;
}

export interface UnionPayFakeOptions {
  merId: string;
  /** The merchant's signing key, by the certId its requests carry. */
  merchant: { certId: string; publicKeyPem: string };
  /** UnionPay's signing key and certificate (signPubKeyCert). */
  signer: UnionPaySigner;
  now?: () => Date;
}

interface Transaction {
  txnType: '01' | '04';
  orderId: string;
  txnTime: string;
  txnAmt: string;
  currencyCode: string;
  backUrl: string;
  queryId: string;
  origQryId?: string;
  origOrderId?: string;
  /** OPEN: the payer has the checkout page; a refund is PROCESSING until UnionPay settles it. */
  status: 'OPEN' | 'PROCESSING' | 'DONE';
  respCode?: string;
  traceNo: string;
  traceTime?: string;
  settleDate?: string;
}

const RESP_MSG: Record<string, string> = {
  '00': '成功[0000000]',
  '05': '交易已受理，请稍后查询交易结果',
  '11': '验证签名失败',
  '12': '重复交易',
  '13': '报文交易要素缺失',
  '34': '查无此交易',
  '35': '原交易不存在或状态不正确',
  '36': '与原交易信息不符',
  '98': '文件不存在',
};

export function unionpaySigningString(fields: Fields): string {
  return Object.keys(fields)
    .filter((key) => key !== 'signature')
    .sort()
    .map((key) => `${key}=${fields[key]}`)
    .join('&');
}

const sha256Hex = (fields: Fields) => createHash('sha256').update(unionpaySigningString(fields), 'utf8').digest('hex');

/** The fields with UnionPay's certificate in signPubKeyCert and the signature over all of them. */
export function signAsUnionPay(fields: Fields, signer: UnionPaySigner): Fields {
  const { signature: _replaced, ...unsigned } = fields;
  const withCertificate: Fields = { ...unsigned, signPubKeyCert: signer.certificatePem };
  const signature = createSign('RSA-SHA256').update(sha256Hex(withCertificate)).sign(signer.privateKeyPem, 'base64');
  return { ...withCertificate, signature };
}

/** A signed notification's fields as the POST UnionPay sends. */
export function notificationOf(fields: Fields, url: string): UnionPayNotification {
  return {
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', 'user-agent': 'UnionPay/1.0 CUPSecure' },
    rawBody: Buffer.from(new URLSearchParams(fields).toString()),
  };
}

export function notificationFields(notification: Pick<UnionPayNotification, 'rawBody'>): Fields {
  return Object.fromEntries(new URLSearchParams(notification.rawBody.toString('utf8')));
}

const BEIJING_MS = 8 * 3_600_000;
const beijing = (at: Date) => new Date(at.getTime() + BEIJING_MS).toISOString().replace(/\D/g, '').slice(0, 14);

/** UnionPay's settlement day (Beijing time, cut at 23:00) of a moment, as YYYY-MM-DD. */
export function unionpaySettlementDay(at: Date): string {
  return new Date(at.getTime() + BEIJING_MS + 3_600_000).toISOString().slice(0, 10);
}

/** The ZM file's field widths ("全渠道平台接入接口规范 第3部分 文件接口" §6.1), each field followed by one space. */
const ZM_WIDTHS = [3, 11, 11, 6, 10, 19, 12, 4, 2, 21, 2, 32, 2, 6, 10, 13, 13, 4, 15, 2, 2, 6, 2, 4, 32, 1, 21, 15, 1, 15, 32, 13, 13, 8, 32, 13, 13, 12, 2, 1, 32, 98];

export class UnionPayFake {
  private server?: Server;
  private readonly transactions = new Map<string, Transaction>();
  private readonly refusals = new Map<string, string>();
  private readonly alterations = new Map<string, Fields>();
  private readonly now: () => Date;
  /** Who signs the answers and notifications: UnionPay's certificate, unless a test swaps it. */
  signer: UnionPaySigner;
  /** Every request the merchant made, verified or not, in order. */
  readonly requests: { path: string; fields: Fields }[] = [];

  constructor(private readonly options: UnionPayFakeOptions) {
    this.signer = options.signer;
    this.now = options.now ?? (() => new Date());
  }

  get url(): string {
    if (!this.server) throw new Error('the UnionPay fake is not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** The next request to a synchronous API at `path` is refused with this respCode (signed), whatever it asks. */
  refuseNext(path: string, respCode: string): void {
    this.refusals.set(path, respCode);
  }

  /** The next answer at `path` says `changes` instead, still signed by UnionPay (a mixed-up answer). */
  alterNextAnswer(path: string, changes: Fields): void {
    this.alterations.set(path, changes);
  }

  /**
   * The payer pays: the browser posts the signed form to the front gateway, then UnionPay settles the
   * consume with `respCode` (00 paid, A6 paid with defects, anything else declined). Returns the back
   * notification UnionPay then POSTs to the form's backUrl.
   */
  async pay(payment: { formAction: string; formFields: Fields }, respCode = '00'): Promise<UnionPayNotification> {
    const res = await fetch(payment.formAction, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(payment.formFields).toString(),
    });
    if (res.status !== 200) throw new Error(`the front gateway refused the form: ${res.status} ${await res.text()}`);
    const consume = this.transactions.get(keyOf(payment.formFields.orderId!, payment.formFields.txnTime!))!;
    this.settle(consume, respCode);
    return this.notify(consume);
  }

  /** UnionPay settles a refund it accepted (by the refund's orderId); returns its back notification. */
  completeRefund(refundOrderId: string, respCode = '00'): UnionPayNotification {
    const refund = [...this.transactions.values()].find((t) => t.txnType === '04' && t.orderId === refundOrderId);
    if (!refund) throw new Error(`no refund ${refundOrderId}`);
    this.settle(refund, respCode);
    return this.notify(refund);
  }

  /** A refund made in UnionPay's merchant portal (an orderId of the portal's), already settled. */
  refundFromPortal(paymentQueryId: string, txnAmt: string): UnionPayNotification {
    const payment = this.paidConsume(paymentQueryId);
    if (!payment) throw new Error(`no paid consume ${paymentQueryId}`);
    const refund = this.record({
      txnType: '04',
      orderId: `${Date.now()}${randomInt(1e6)}`,
      txnTime: beijing(this.now()),
      txnAmt,
      currencyCode: payment.currencyCode,
      backUrl: payment.backUrl,
      origQryId: payment.queryId,
      origOrderId: payment.orderId,
    });
    this.settle(refund, '00');
    return this.notify(refund);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const fields = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    this.requests.push({ path, fields });
    if (req.method !== 'POST') return void res.writeHead(405).end();

    if (path === '/gateway/api/frontTransReq.do') {
      const problem = this.checkRequest(fields) ?? this.openConsume(fields);
      if (problem) return void res.writeHead(400, { 'content-type': 'text/html;charset=UTF-8' }).end(`<p>${RESP_MSG[problem] ?? problem}</p>`);
      return void res.writeHead(200, { 'content-type': 'text/html;charset=UTF-8' }).end('<html><body>银联在线支付</body></html>');
    }

    const altered = this.alterations.get(path);
    this.alterations.delete(path);
    const answer = (reply: Fields) => {
      const body = Object.entries(signAsUnionPay({ ...reply, ...altered }, this.signer))
        .map(([key, value]) => `${key}=${value}`)
        .join('&');
      res.writeHead(200, { 'content-type': 'text/plain;charset=UTF-8' }).end(body);
    };
    const echo = { version: '5.1.0', encoding: 'UTF-8', signMethod: '01', merId: fields.merId ?? '', txnType: fields.txnType ?? '', txnSubType: fields.txnSubType ?? '', bizType: fields.bizType ?? '', accessType: fields.accessType ?? '' };
    const refuse = (respCode: string) => answer({ ...echo, orderId: fields.orderId ?? '', txnTime: fields.txnTime ?? '', respCode, respMsg: RESP_MSG[respCode] ?? '失败' });

    const refusal = this.refusals.get(path);
    if (refusal) {
      this.refusals.delete(path);
      return refuse(refusal);
    }
    const problem = this.checkRequest(fields);
    if (problem) return refuse(problem);

    if (path === '/gateway/api/backTransReq.do' && fields.txnType === '04') return answer({ ...echo, ...this.refund(fields) });
    if (path === '/gateway/api/queryTrans.do' && fields.txnType === '00') return answer({ ...echo, ...this.query(fields) });
    if (path === '/' && fields.txnType === '76') return answer({ ...echo, ...(await this.fileTransfer(fields)) });
    res.writeHead(404).end();
  }

  /** The respCode a request is refused with, if it is: not signed by the merchant, not the merchant's. */
  private checkRequest(fields: Fields): string | undefined {
    const { merchant, merId } = this.options;
    if (fields.version !== '5.1.0' || fields.signMethod !== '01' || fields.encoding !== 'UTF-8' || fields.accessType !== '0') return '13';
    if (fields.merId !== merId || fields.certId !== merchant.certId || !fields.signature) return '11';
    const signed = createVerify('RSA-SHA256').update(sha256Hex(fields)).verify(merchant.publicKeyPem, fields.signature, 'base64');
    return signed ? undefined : '11';
  }

  private openConsume(fields: Fields): string | undefined {
    const { txnType, txnSubType, bizType, channelType, orderId, txnTime, txnAmt, currencyCode, backUrl, payTimeout } = fields;
    if (txnType !== '01' || txnSubType !== '01' || bizType !== '000201' || !['07', '08'].includes(channelType ?? '')) return '13';
    if (!/^[0-9A-Za-z]{8,40}$/.test(orderId ?? '') || !/^\d{14}$/.test(txnTime ?? '') || !/^[1-9]\d{0,11}$/.test(txnAmt ?? '')) return '13';
    if (currencyCode !== '156' || !backUrl || !/^\d{14}$/.test(payTimeout ?? '')) return '13';
    if (payTimeout! <= beijing(this.now())) return '30';
    const existing = this.transactions.get(keyOf(orderId!, txnTime!));
    if (existing) return existing.txnAmt === txnAmt ? undefined : '12';
    this.record({ txnType: '01', orderId: orderId!, txnTime: txnTime!, txnAmt: txnAmt!, currencyCode: currencyCode!, backUrl: backUrl! });
    return undefined;
  }

  private refund(fields: Fields): Fields {
    const { orderId, txnTime, txnAmt, currencyCode, origQryId, backUrl } = fields;
    if (!orderId || !txnTime || !txnAmt || !origQryId || !backUrl || fields.txnSubType !== '00' || fields.bizType !== '000201') {
      return { orderId: orderId ?? '', txnTime: txnTime ?? '', respCode: '13', respMsg: RESP_MSG['13']! };
    }
    const refused = (respCode: string) => ({ orderId, txnTime, respCode, respMsg: RESP_MSG[respCode]! });
    // UnionPay: an orderId is not reused by a merchant on one trading day.
    if ([...this.transactions.values()].some((t) => t.orderId === orderId)) return refused('12');
    const payment = this.paidConsume(origQryId);
    if (!payment) return refused('35');
    const refunded = [...this.transactions.values()]
      .filter((t) => t.txnType === '04' && t.origQryId === origQryId && (t.status === 'PROCESSING' || ['00', 'A6'].includes(t.respCode ?? '')))
      .reduce((sum, t) => sum + Number(t.txnAmt), 0);
    if (refunded + Number(txnAmt) > Number(payment.txnAmt) || (currencyCode ?? '156') !== payment.currencyCode) return refused('36');
    const refund = this.record({ txnType: '04', orderId, txnTime, txnAmt, currencyCode: payment.currencyCode, backUrl, origQryId, origOrderId: payment.orderId });
    refund.status = 'PROCESSING';
    return { orderId, txnTime, txnAmt, currencyCode: refund.currencyCode, origQryId, queryId: refund.queryId, respCode: '00', respMsg: RESP_MSG['00']! };
  }

  private query(fields: Fields): Fields {
    const found = this.transactions.get(keyOf(fields.orderId ?? '', fields.txnTime ?? ''));
    // A consume exists for queries once the payer submitted payment, not when the checkout page opened.
    if (!found || found.status === 'OPEN') return { orderId: fields.orderId ?? '', txnTime: fields.txnTime ?? '', respCode: '34', respMsg: RESP_MSG['34']! };
    const result = found.status === 'PROCESSING' ? '05' : found.respCode!;
    return {
      ...this.transactionFields(found),
      respCode: '00',
      respMsg: RESP_MSG['00']!,
      origRespCode: result,
      origRespMsg: RESP_MSG[result] ?? '交易失败',
    };
  }

  private async fileTransfer(fields: Fields): Promise<Fields> {
    const { settleDate, fileType } = fields;
    if (!/^\d{4}$/.test(settleDate ?? '') || fileType !== '00') return { respCode: '13', respMsg: RESP_MSG['13']! };
    const settled = [...this.transactions.values()].filter(
      (t) => t.status === 'DONE' && t.settleDate === settleDate && ['00', 'A6'].includes(t.respCode!),
    );
    if (settled.length === 0) return { settleDate: settleDate!, fileType: '00', respCode: '98', respMsg: RESP_MSG['98']! };
    const year = unionpaySettlementDay(this.now()).slice(2, 4);
    const { merId } = this.options;
    const zip = new JSZip();
    zip.file(`INN${year}${settleDate}88ZM_${merId}`, settled.map((t) => this.zmLine(t)).join('\r\n') + '\r\n');
    zip.file(`INN${year}${settleDate}88ZME_${merId}`, '');
    const archive = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
    return {
      settleDate: settleDate!,
      fileType: '00',
      fileName: `${merId}_20${year}${settleDate}.zip`,
      fileContent: deflateSync(archive).toString('base64'),
      respCode: '00',
      respMsg: RESP_MSG['00']!,
    };
  }

  // ---- UnionPay's side of a transaction ----

  private record(fields: Pick<Transaction, 'txnType' | 'orderId' | 'txnTime' | 'txnAmt' | 'currencyCode' | 'backUrl' | 'origQryId' | 'origOrderId'>): Transaction {
    const transaction: Transaction = {
      ...fields,
      queryId: `${beijing(this.now())}${String(randomInt(1e7)).padStart(7, '0')}`,
      traceNo: String(randomInt(1e6)).padStart(6, '0'),
      status: 'OPEN',
    };
    this.transactions.set(keyOf(fields.orderId, fields.txnTime), transaction);
    return transaction;
  }

  private settle(transaction: Transaction, respCode: string): void {
    const now = this.now();
    transaction.status = 'DONE';
    transaction.respCode = respCode;
    transaction.traceTime = beijing(now).slice(4);
    transaction.settleDate = unionpaySettlementDay(now).replace(/-/g, '').slice(4);
  }

  private paidConsume(queryId: string): Transaction | undefined {
    return [...this.transactions.values()].find(
      (t) => t.txnType === '01' && t.queryId === queryId && t.status === 'DONE' && ['00', 'A6'].includes(t.respCode!),
    );
  }

  private transactionFields(t: Transaction): Fields {
    return {
      orderId: t.orderId,
      txnTime: t.txnTime,
      txnType: t.txnType,
      txnSubType: t.txnType === '01' ? '01' : '00',
      bizType: '000201',
      accessType: '0',
      merId: this.options.merId,
      txnAmt: t.txnAmt,
      currencyCode: t.currencyCode,
      queryId: t.queryId,
      traceNo: t.traceNo,
      ...(t.traceTime && { traceTime: t.traceTime }),
      ...(t.settleDate && { settleDate: t.settleDate, settleAmt: t.txnAmt, settleCurrencyCode: t.currencyCode }),
      ...(t.origQryId && { origQryId: t.origQryId }),
    };
  }

  private notify(t: Transaction): UnionPayNotification {
    const fields: Fields = {
      version: '5.1.0',
      encoding: 'UTF-8',
      signMethod: '01',
      ...this.transactionFields(t),
      respCode: t.respCode!,
      respMsg: RESP_MSG[t.respCode!] ?? '交易失败',
      ...(t.txnType === '01' && { payType: '0001', payCardType: '01', accNo: '6216***********0018' }),
    };
    return notificationOf(signAsUnionPay(fields, this.signer), t.backUrl);
  }

  /** One line of the ZM file: fixed-width fields, numbers zero-padded, text space-padded. */
  private zmLine(t: Transaction): string {
    const values = new Map<number, string>([
      [0, t.txnType === '01' ? 'S22' : 'S30'],
      [3, t.traceNo],
      [4, t.traceTime!],
      [5, '6216***********0018'],
      [6, t.txnAmt.padStart(12, '0')],
      [9, t.queryId],
      [11, t.orderId],
      [15, `${t.txnType === '01' ? 'D' : 'C'}${String(Math.floor((Number(t.txnAmt) * 6) / 1000)).padStart(12, '0')}`],
      [16, `${t.txnType === '01' ? 'C' : 'D'}${t.txnAmt.padStart(12, '0')}`],
      [19, t.txnType],
      [20, t.txnType === '01' ? '01' : '00'],
      [21, '000201'],
      [26, t.origQryId ?? ''],
      [27, this.options.merId],
      [40, t.origOrderId ?? ''],
    ]);
    return ZM_WIDTHS.map((width, i) => (values.get(i) ?? '').slice(0, width).padEnd(width, ' ')).join(' ');
  }
}

const keyOf = (orderId: string, txnTime: string) => `${orderId}@${txnTime}`;
