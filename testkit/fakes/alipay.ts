import { generateKeyPairSync, randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateRawSync } from 'node:zlib';
import iconv from 'iconv-lite';
import {
  APP_PAY_PRODUCT,
  NOTIFY_UNSIGNED_FIELDS,
  PAGE_PAY_PRODUCT,
  REQUEST_UNSIGNED_FIELDS,
  TRADE_NOTIFY_TYPE,
  beijingDate,
  beijingDateTime,
  beijingToIso,
  encodeForm,
  responseKey,
  rsa2Sign,
  rsa2Verify,
  signedResponseBody,
  signingContent,
  yuanToMinor,
  type GatewayMethod,
  type TradeStatus,
} from '../../channels/alipay/wire';
import { formatDecimal, parseDecimal } from '../../channels/amounts';
import type { InboundCallback } from '../../channels/types';

/**
 * A fake of Alipay's OpenAPI gateway (`/gateway.do`) and of the payer, on 127.0.0.1: it checks
 * requests and order strings against the app public key the merchant uploaded, answers in Alipay's
 * signed response format, makes the trades the payer pays, and produces the form-encoded RSA2
 * notifications Alipay POSTs (payment, finish, timeout close, refunds) and the day's bill as Alipay
 * serves it (a ZIP of GBK CSVs with GBK entry names, behind a short-lived download URL).
 */

export interface AlipayFakeOptions {
  appId: string;
  /** The app's public key as uploaded to Alipay: requests and order strings must verify with it. */
  appPublicKey: string;
  /** The merchant's PID (seller_id in notifications). */
  sellerId?: string;
  now?: () => Date;
}

/** A notification as Alipay POSTs it to the trade's notify_url (headers + raw body), and its fields. */
export interface AlipayNotification extends InboundCallback {
  fields: Record<string, string>;
  notifyUrl?: string;
}

/** Makes the next gateway call fail the way Alipay can. */
export type AlipayFault =
  | { kind: 'http'; status: number }
  | { kind: 'refusal'; code: string; sub_code: string; sub_msg: string }
  | { kind: 'bad-signature' }
  | { kind: 'unsigned' };

interface FakeRefund {
  outRequestNo: string;
  amount: number;
  at: Date;
  notification: AlipayNotification;
}

/** A trade as the fake holds it (what tests may inspect after open or pay). */
export interface AlipayFakeTrade {
  outTradeNo: string;
  tradeNo: string;
  totalAmount: number;
  subject: string;
  notifyUrl?: string;
  timeExpire?: Date;
  status: TradeStatus;
  buyerId: string;
  createdAt: Date;
  paidAt?: Date;
  closedAt?: Date;
  refunds: FakeRefund[];
  notifications: AlipayNotification[];
}

type Verdict = { code: string; msg: string; sub_code: string; sub_msg: string };

const BUSINESS_FAILED = (sub_code: string, sub_msg: string): Verdict => ({ code: '40004', msg: 'Business Failed', sub_code, sub_msg });
const INVALID_ARGUMENTS = (sub_code: string, sub_msg: string): Verdict => ({ code: '40002', msg: 'Invalid Arguments', sub_code, sub_msg });
const TRADE_NOT_EXIST = BUSINESS_FAILED('ACQ.TRADE_NOT_EXIST', '交易不存在');
/** Alipay accepts requests stamped within this of its clock. */
const MAX_REQUEST_SKEW_MS = 15 * 60 * 1000;
const BILL_URL_LIFETIME_MS = 30_000;

const yuan = (fen: number) => formatDecimal({ currency: 'CNY', value: fen });
const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');
/** gmt_refund carries milliseconds. */
const refundTime = (at: Date) => `${beijingDateTime(at)}.${String(at.getUTCMilliseconds()).padStart(3, '0')}`;
/** Alipay's usual 0.6% service fee, in whole fen. */
const feeOf = (fen: number) => Math.round((fen * 6) / 1000);

export class AlipayFake {
  readonly alipayPublicKey: string;
  private readonly alipayPrivateKey: string;
  /** Every gateway request received, its parameters as Alipay reads them. */
  readonly requests: Record<string, string>[] = [];
  private readonly trades = new Map<string, AlipayFakeTrade>();
  private readonly bills = new Map<string, Buffer | null>();
  private readonly downloads = new Map<string, { zip: Buffer; expiresAt: number }>();
  private readonly faults: AlipayFault[] = [];
  private readonly now: () => Date;
  private server?: Server;
  private base?: string;

  constructor(private readonly options: AlipayFakeOptions) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.alipayPrivateKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.alipayPublicKey = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    this.now = options.now ?? (() => new Date());
  }

  /** The gateway URL (the account's `gateway` credential). */
  get url(): string {
    if (!this.base) throw new Error('the Alipay fake is not started');
    return `${this.base}/gateway.do`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  failNext(fault: AlipayFault): void {
    this.faults.push(fault);
  }

  /** The payer opens the order (app order string or page pay URL): the trade exists, unpaid. */
  open(payment: Record<string, unknown>): AlipayFakeTrade {
    const order = this.readOrder(payment);
    const existing = this.trades.get(order.outTradeNo);
    if (existing) return existing;
    const trade: AlipayFakeTrade = {
      ...order,
      tradeNo: `${beijingDate(this.now()).replace(/-/g, '')}22001${digits(15)}`,
      status: 'WAIT_BUYER_PAY',
      buyerId: `2088${digits(12)}`,
      createdAt: this.now(),
      refunds: [],
      notifications: [],
    };
    this.trades.set(trade.outTradeNo, trade);
    return trade;
  }

  /** The payer pays the order in full; returns the TRADE_SUCCESS notification Alipay sends. */
  pay(payment: Record<string, unknown>): AlipayNotification {
    const trade = this.open(payment);
    if (trade.status !== 'WAIT_BUYER_PAY') throw new Error(`trade ${trade.outTradeNo} is ${trade.status}: nothing to pay`);
    if (trade.timeExpire && trade.timeExpire <= this.now()) throw new Error(`order ${trade.outTradeNo} expired`);
    trade.status = 'TRADE_SUCCESS';
    trade.paidAt = this.now();
    return this.record(trade, {});
  }

  /** The refund window is over: TRADE_FINISHED, still carrying the trade's refunds so far. */
  finish(outTradeNo: string): AlipayNotification {
    const trade = this.trade(outTradeNo);
    if (trade.status !== 'TRADE_SUCCESS') throw new Error(`trade ${outTradeNo} is ${trade.status}`);
    trade.status = 'TRADE_FINISHED';
    trade.closedAt = this.now();
    const last = trade.refunds.at(-1);
    const refunded = trade.refunds.reduce((sum, r) => sum + r.amount, 0);
    return this.record(trade, last ? { refund_fee: yuan(refunded), gmt_refund: refundTime(last.at) } : {});
  }

  /** An opened order times out unpaid: TRADE_CLOSED without refund fields. */
  expire(outTradeNo: string): AlipayNotification {
    const trade = this.trade(outTradeNo);
    if (trade.status !== 'WAIT_BUYER_PAY') throw new Error(`trade ${outTradeNo} is ${trade.status}`);
    trade.status = 'TRADE_CLOSED';
    trade.closedAt = this.now();
    return this.record(trade, {});
  }

  /** The notification Alipay sent when the refund `outRequestNo` (made through the gateway) went through. */
  refundNotification(outTradeNo: string, outRequestNo: string): AlipayNotification {
    const refund = this.trade(outTradeNo).refunds.find((r) => r.outRequestNo === outRequestNo);
    if (!refund) throw new Error(`no refund ${outRequestNo} on ${outTradeNo}`);
    return refund.notification;
  }

  /** Every notification of a trade, in the order Alipay sent them. */
  notifications(outTradeNo: string): AlipayNotification[] {
    return [...this.trade(outTradeNo).notifications];
  }

  /** Signs arbitrary notification fields as Alipay does (or with another key), form-encoded in `charset`. */
  signNotification(
    fields: Record<string, string>,
    { privateKey = this.alipayPrivateKey, charset = 'utf-8' }: { privateKey?: string; charset?: 'utf-8' | 'gbk' } = {},
  ): AlipayNotification {
    const unsigned = { ...fields, charset };
    const signed = { ...unsigned, sign: rsa2Sign(signingContent(unsigned, NOTIFY_UNSIGNED_FIELDS), privateKey) };
    return {
      headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` },
      rawBody: Buffer.from(encodeForm(signed, charset)),
      fields: signed,
    };
  }

  /** What the bill of `date` holds instead of the day's trades: an archive, or none (no bill that day). */
  setBill(date: string, zip: Buffer | null): void {
    this.bills.set(date, zip);
  }

  /** POSTs a notification to its notify_url as Alipay would; answers what the receiver said. */
  async deliver(notification: AlipayNotification, url = notification.notifyUrl): Promise<{ status: number; body: string }> {
    if (!url) throw new Error('the notification has no notify_url');
    const res = await fetch(url, {
      method: 'POST',
      headers: notification.headers as Record<string, string>,
      body: new Uint8Array(notification.rawBody),
    });
    return { status: res.status, body: await res.text() };
  }

  // ---- The payer's side ----

  private readOrder(payment: Record<string, unknown>): Pick<AlipayFakeTrade, 'outTradeNo' | 'totalAmount' | 'subject' | 'notifyUrl' | 'timeExpire'> {
    let params: Record<string, string>;
    let method: GatewayMethod;
    let product: string;
    if (typeof payment.orderString === 'string') {
      params = Object.fromEntries(new URLSearchParams(payment.orderString));
      [method, product] = ['alipay.trade.app.pay', APP_PAY_PRODUCT];
    } else if (typeof payment.payUrl === 'string') {
      const url = new URL(payment.payUrl);
      if (`${url.origin}${url.pathname}` !== this.url) throw new Error(`the pay URL is not this gateway's: ${url.origin}${url.pathname}`);
      params = Object.fromEntries(url.searchParams);
      [method, product] = ['alipay.trade.page.pay', PAGE_PAY_PRODUCT];
    } else {
      throw new Error('the payment carries neither an orderString nor a payUrl');
    }
    // The payer opens the order whenever they like: its timestamp is not held against a clock.
    const refused = this.authenticate(params, { checkTimestamp: false });
    if (refused) throw new Error(`Alipay refuses the order: ${refused.sub_code}`);
    if (params.method !== method) throw new Error(`expected ${method}, got ${params.method}`);
    const biz = JSON.parse(params.biz_content ?? '{}') as Record<string, string | undefined>;
    if (biz.product_code !== product) throw new Error(`expected product_code ${product}, got ${biz.product_code}`);
    if (!biz.out_trade_no || !biz.subject || !biz.total_amount) throw new Error('out_trade_no, subject and total_amount are required');
    return {
      outTradeNo: biz.out_trade_no,
      totalAmount: yuanToMinor(biz.total_amount).value,
      subject: biz.subject,
      notifyUrl: params.notify_url,
      timeExpire: biz.time_expire === undefined ? undefined : new Date(beijingToIso(biz.time_expire)),
    };
  }

  private trade(outTradeNo: string): AlipayFakeTrade {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    return trade;
  }

  /** Builds, signs and keeps the notification of the trade's current state. */
  private record(trade: AlipayFakeTrade, refundFields: Record<string, string>): AlipayNotification {
    const at = this.now();
    const fields: Record<string, string> = {
      gmt_create: beijingDateTime(trade.createdAt),
      charset: 'utf-8',
      subject: trade.subject,
      buyer_id: trade.buyerId,
      invoice_amount: yuan(trade.totalAmount),
      notify_id: `${beijingDate(at).replace(/-/g, '')}00222${digits(25)}`,
      fund_bill_list: JSON.stringify([{ amount: yuan(trade.totalAmount), fundChannel: 'ALIPAYACCOUNT' }]),
      notify_type: TRADE_NOTIFY_TYPE,
      trade_status: trade.status,
      receipt_amount: yuan(trade.totalAmount),
      buyer_pay_amount: yuan(trade.totalAmount),
      app_id: this.options.appId,
      auth_app_id: this.options.appId,
      sign_type: 'RSA2',
      ...(this.options.sellerId !== undefined && { seller_id: this.options.sellerId }),
      notify_time: beijingDateTime(at),
      version: '1.0',
      out_trade_no: trade.outTradeNo,
      total_amount: yuan(trade.totalAmount),
      trade_no: trade.tradeNo,
      buyer_logon_id: '159****0000',
      point_amount: '0.00',
      ...(trade.paidAt && { gmt_payment: beijingDateTime(trade.paidAt) }),
      ...(trade.closedAt && { gmt_close: beijingDateTime(trade.closedAt) }),
      ...refundFields,
    };
    const notification = { ...this.signNotification(fields), notifyUrl: trade.notifyUrl };
    trade.notifications.push(notification);
    return notification;
  }

  // ---- The gateway ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    if (req.method === 'GET' && url.pathname === '/downloadBillFile.resource') return this.serveBill(url, res);
    if (req.method !== 'POST' || url.pathname !== '/gateway.do') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = { ...Object.fromEntries(url.searchParams), ...Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) };
    this.requests.push(params);
    const method = params.method as GatewayMethod;
    const fault = this.faults.shift();
    if (fault?.kind === 'http') {
      res.writeHead(fault.status, { 'content-type': 'text/html;charset=utf-8' }).end('<html>busy</html>');
      return;
    }
    const refused = this.authenticate(params, { checkTimestamp: true });
    const payload =
      refused ??
      (fault?.kind === 'refusal'
        ? { code: fault.code, msg: 'Business Failed', sub_code: fault.sub_code, sub_msg: fault.sub_msg }
        : this.execute(method, JSON.parse(params.biz_content ?? '{}') as Record<string, string>));
    let body = signedResponseBody(method, payload, this.alipayPrivateKey);
    if (fault?.kind === 'bad-signature') body = body.replace(/"sign":"[^"]+"/, `"sign":"${rsa2Sign('something else', this.alipayPrivateKey)}"`);
    if (fault?.kind === 'unsigned') body = `{"${responseKey(method)}":${JSON.stringify(payload)}}`;
    res.writeHead(200, { 'content-type': 'text/html;charset=utf-8' }).end(body);
  }

  /** Alipay's checks of a signed request (or order): the app, RSA2 over the parameters, the timestamp. */
  private authenticate(params: Record<string, string>, { checkTimestamp }: { checkTimestamp: boolean }): Verdict | undefined {
    if (params.app_id !== this.options.appId) return INVALID_ARGUMENTS('isv.invalid-app-id', '无效的AppID参数');
    if (params.sign_type !== 'RSA2') return INVALID_ARGUMENTS('isv.invalid-signature-type', '无效的签名类型');
    if (params.charset !== 'utf-8' || params.version !== '1.0') return INVALID_ARGUMENTS('isv.invalid-charset', '字符集或版本错误');
    if (!rsa2Verify(signingContent(params, REQUEST_UNSIGNED_FIELDS), params.sign ?? '', this.options.appPublicKey)) {
      return INVALID_ARGUMENTS('isv.invalid-signature', '验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配');
    }
    if (checkTimestamp) {
      let stamped: number;
      try {
        stamped = Date.parse(beijingToIso(params.timestamp ?? ''));
      } catch {
        return INVALID_ARGUMENTS('isv.invalid-timestamp', '非法的时间戳参数');
      }
      if (Math.abs(stamped - this.now().getTime()) > MAX_REQUEST_SKEW_MS) return INVALID_ARGUMENTS('isv.invalid-timestamp', '非法的时间戳参数');
    }
    return undefined;
  }

  private execute(method: GatewayMethod, biz: Record<string, string>): Record<string, unknown> {
    const success = { code: '10000', msg: 'Success' };
    const trade = biz.out_trade_no === undefined ? undefined : this.trades.get(biz.out_trade_no);
    switch (method) {
      case 'alipay.trade.query':
        if (!trade) return TRADE_NOT_EXIST;
        return {
          ...success,
          trade_no: trade.tradeNo,
          out_trade_no: trade.outTradeNo,
          buyer_logon_id: '159****0000',
          trade_status: trade.status,
          total_amount: yuan(trade.totalAmount),
          buyer_user_id: trade.buyerId,
          ...(trade.paidAt && { buyer_pay_amount: yuan(trade.totalAmount), send_pay_date: beijingDateTime(trade.paidAt) }),
        };
      case 'alipay.trade.close':
        if (!trade) return TRADE_NOT_EXIST;
        if (trade.status !== 'WAIT_BUYER_PAY') return BUSINESS_FAILED('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
        trade.status = 'TRADE_CLOSED';
        trade.closedAt = this.now();
        return { ...success, trade_no: trade.tradeNo, out_trade_no: trade.outTradeNo };
      case 'alipay.trade.refund':
        return trade ? this.refund(trade, biz) : TRADE_NOT_EXIST;
      case 'alipay.trade.fastpay.refund.query': {
        if (!trade) return TRADE_NOT_EXIST;
        const refund = trade.refunds.find((r) => r.outRequestNo === biz.out_request_no);
        if (!refund) return { ...success, out_trade_no: trade.outTradeNo, out_request_no: biz.out_request_no };
        return {
          ...success,
          trade_no: trade.tradeNo,
          out_trade_no: trade.outTradeNo,
          out_request_no: refund.outRequestNo,
          total_amount: yuan(trade.totalAmount),
          refund_amount: yuan(refund.amount),
          refund_status: 'REFUND_SUCCESS',
        };
      }
      case 'alipay.data.dataservice.bill.downloadurl.query':
        return this.billUrl(biz);
      default:
        return INVALID_ARGUMENTS('isv.invalid-method', `不存在的方法名: ${method}`);
    }
  }

  private refund(trade: AlipayFakeTrade, biz: Record<string, string>): Record<string, unknown> {
    const refunded = () => trade.refunds.reduce((sum, r) => sum + r.amount, 0);
    let amount: number;
    try {
      amount = yuanToMinor(biz.refund_amount ?? '').value;
    } catch {
      return INVALID_ARGUMENTS('isv.invalid-parameter', 'refund_amount 格式错误');
    }
    const outRequestNo = biz.out_request_no ?? trade.outTradeNo;
    const answer = (fundChange: 'Y' | 'N') => ({
      code: '10000',
      msg: 'Success',
      trade_no: trade.tradeNo,
      out_trade_no: trade.outTradeNo,
      buyer_logon_id: '159****0000',
      fund_change: fundChange,
      refund_fee: yuan(refunded()),
      buyer_user_id: trade.buyerId,
    });
    const earlier = trade.refunds.find((r) => r.outRequestNo === outRequestNo);
    if (earlier) return earlier.amount === amount ? answer('N') : BUSINESS_FAILED('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    if (trade.status === 'TRADE_FINISHED') return BUSINESS_FAILED('ACQ.TRADE_HAS_FINISHED', '交易已完结');
    if (trade.status !== 'TRADE_SUCCESS') return BUSINESS_FAILED('ACQ.TRADE_STATUS_ERROR', '交易状态不合法');
    if (amount <= 0 || refunded() + amount > trade.totalAmount) return BUSINESS_FAILED('ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '退款金额超限');
    const at = this.now();
    const refundedTotal = refunded() + amount;
    if (refundedTotal === trade.totalAmount) {
      trade.status = 'TRADE_CLOSED';
      trade.closedAt = at;
    }
    // Alipay tells the payment's notify_url: TRADE_SUCCESS again for a partial refund, TRADE_CLOSED for the rest.
    const notification = this.record(trade, {
      refund_fee: yuan(refundedTotal),
      gmt_refund: refundTime(at),
      out_biz_no: outRequestNo,
    });
    trade.refunds.push({ outRequestNo, amount, at, notification });
    return answer('Y');
  }

  private billUrl(biz: Record<string, string>): Record<string, unknown> {
    const date = biz.bill_date ?? '';
    if (biz.bill_type !== 'trade' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return INVALID_ARGUMENTS('isv.invalid-parameter', 'bill_type 或 bill_date 错误');
    const zip = this.bills.has(date) ? this.bills.get(date)! : this.billOfTrades(date);
    if (!zip) return BUSINESS_FAILED('isp.bill_not_exist', '账单不存在');
    const token = randomBytes(16).toString('hex');
    this.downloads.set(token, { zip, expiresAt: this.now().getTime() + BILL_URL_LIFETIME_MS });
    const compact = date.replace(/-/g, '');
    const query = new URLSearchParams({
      bizType: 'trade',
      userId: this.account(),
      fileType: 'csv.zip',
      bizDates: compact,
      downloadFileName: `${this.account()}_${compact}.csv.zip`,
      token,
    });
    return { code: '10000', msg: 'Success', bill_download_url: `${this.base}/downloadBillFile.resource?${query}` };
  }

  private serveBill(url: URL, res: ServerResponse): void {
    const download = this.downloads.get(url.searchParams.get('token') ?? '');
    if (!download || download.expiresAt < this.now().getTime()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('the link has expired');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(download.zip);
  }

  private account(): string {
    return `${this.options.sellerId ?? '2088000000000000'}0156`;
  }

  /** The day's payments and refunds (Beijing day) as Alipay's bill, or none when there were none. */
  private billOfTrades(date: string): Buffer | null {
    const rows: string[][] = [];
    const cells = (trade: AlipayFakeTrade, type: '交易' | '退款', at: Date, amount: number, fee: number, refundNo: string) => [
      trade.tradeNo,
      trade.outTradeNo,
      type,
      trade.subject,
      beijingDateTime(trade.createdAt),
      beijingDateTime(at),
      '',
      '',
      '',
      '',
      '159****0000',
      yuan(amount),
      yuan(amount),
      '0.00',
      '0.00',
      '0.00',
      '0.00',
      '0.00',
      '',
      '0.00',
      '0.00',
      refundNo,
      yuan(fee),
      '0.00',
      '',
    ];
    for (const trade of this.trades.values()) {
      if (trade.paidAt && beijingDate(trade.paidAt) === date) {
        rows.push(cells(trade, '交易', trade.paidAt, trade.totalAmount, -feeOf(trade.totalAmount), ''));
      }
      for (const refund of trade.refunds.filter((r) => beijingDate(r.at) === date)) {
        rows.push(cells(trade, '退款', refund.at, -refund.amount, feeOf(refund.amount), refund.outRequestNo));
      }
    }
    if (rows.length === 0) return null;
    return alipayBillArchive({ account: this.account(), date, details: businessDetailsCsv(this.account(), date, rows, this.now()) });
  }
}

/** The 业务明细 columns, in the order Alipay's trade bill lists them. */
export const BUSINESS_DETAIL_COLUMNS = [
  '支付宝交易号', '商户订单号', '业务类型', '商品名称', '创建时间', '完成时间', '门店编号', '门店名称', '操作员', '终端号',
  '对方账户', '订单金额（元）', '商家实收（元）', '支付宝红包（元）', '集分宝（元）', '支付宝优惠（元）', '商家优惠（元）',
  '券核销金额（元）', '券名称', '商家红包消费金额（元）', '卡消费金额（元）', '退款批次号/请求号', '服务费（元）', '分润（元）', '备注',
];

const chineseDate = (date: string) => `${date.slice(0, 4)}年${date.slice(5, 7)}月${date.slice(8, 10)}日`;

/** A 业务明细 file's text: comment header, column row, tab-padded rows, end marker and totals footer. */
export function businessDetailsCsv(account: string, date: string, rows: string[][], exportedAt: Date): string {
  const next = beijingDate(new Date(Date.parse(`${date}T00:00:00+08:00`) + 24 * 60 * 60 * 1000));
  const column = (name: string) => BUSINESS_DETAIL_COLUMNS.indexOf(name);
  const total = (type: string, name: string) =>
    yuan(rows.filter((r) => r[column('业务类型')] === type).reduce((sum, r) => sum + parseDecimal(r[column(name)]!, 'CNY').value, 0));
  const count = (type: string) => rows.filter((r) => r[column('业务类型')] === type).length;
  return [
    '#支付宝业务明细查询',
    `#账号：[${account}]`,
    `#起始日期：[${chineseDate(date)} 00:00:00]   终止日期：[${chineseDate(next)} 00:00:00]`,
    '#-----------------------------------------业务明细列表----------------------------------------',
    BUSINESS_DETAIL_COLUMNS.join(','),
    ...rows.map((row) => row.map((cell) => `${cell}\t`).join(',')),
    '#-----------------------------------------业务明细列表结束------------------------------------',
    `#交易合计：${count('交易')}笔，商家实收共${total('交易', '商家实收（元）')}元，商家优惠共0.00元`,
    `#退款合计：${count('退款')}笔，商家实收共${total('退款', '商家实收（元）')}元，商家优惠共0.00元`,
    `#导出时间：[${chineseDate(beijingDate(exportedAt))} ${beijingDateTime(exportedAt).slice(11)}]`,
    '',
  ].join('\r\n');
}

/** Alipay's bill archive: the summary and the details, GBK, entry names GBK without the UTF-8 flag. */
export function alipayBillArchive({ account, date, details, summary }: { account: string; date: string; details: string; summary?: string }): Buffer {
  const prefix = `${account}_${date.replace(/-/g, '')}`;
  const summaryText =
    summary ??
    [
      '#支付宝业务汇总查询',
      `#账号：[${account}]`,
      '#-----------------------------------------业务汇总列表----------------------------------------',
      '门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）',
      '#----------------------------------------业务汇总列表结束-------------------------------------',
      '',
    ].join('\r\n');
  return zipArchive([
    { name: iconv.encode(`${prefix}_业务明细(汇总).csv`, 'gbk'), data: iconv.encode(summaryText, 'gbk') },
    { name: iconv.encode(`${prefix}_业务明细.csv`, 'gbk'), data: iconv.encode(details, 'gbk') },
  ]);
}

/** A minimal deflate ZIP writer: general-purpose libraries flag or extra-field non-ASCII names as UTF-8. */
function zipArchive(entries: { name: Buffer; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const compressed = deflateRawSync(data);
    const checksum = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags: no UTF-8 bit
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0x21, 12); // DOS date 1980-01-01
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    central.writeUInt16LE(20, 6); // version needed
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    parts.push(local, name, compressed);
    directory.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralDirectory = Buffer.concat(directory);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralDirectory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, centralDirectory, end]);
}
