import { createHash, generateKeyPairSync, randomBytes, randomInt, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import forge from 'node-forge';
import { formatDecimal } from '../../channels/amounts';
import type { InboundCallback } from '../../channels/types';
import type { WechatpayCredentials } from '../../channels/wechatpay/adapter';
import {
  WECHATPAY_AUTH_SCHEMA,
  WECHATPAY_CURRENCY,
  WECHATPAY_HEADERS,
  WECHATPAY_MAX_SKEW_SECONDS,
  WECHATPAY_PATHS,
  beijingDate,
  beijingRfc3339,
  encryptResource,
  newNonce,
  parseAuthorization,
  signMessage,
  verifyRequestSignature,
  type PrepayRequest,
  type RefundRequestBody,
  type TradeState,
} from '../../channels/wechatpay/wire';

/**
 * A fake of WeChat Pay's API v3 on 127.0.0.1, speaking its real formats: it checks the merchant's
 * `Authorization` signature on every call, signs every answer with its platform key (as WeChat
 * does; the bill file excepted), keeps trades and refunds, and makes the payer pay: `pay()` returns
 * the TRANSACTION.SUCCESS notification WeChat would POST (headers and raw body, resource encrypted
 * under the APIv3 key). Keys are made here; `credentials()` is what a merchant account would hold.
 */
export interface WechatpayFakeOptions {
  mchId?: string;
  appId?: string;
  /** Name the platform key by an X.509 certificate's serial (older accounts) instead of a PUB_KEY_ID_… */
  platformCertificate?: boolean;
  now?: () => Date;
}

export interface FakeTrade {
  outTradeNo: string;
  tradeType: 'APP' | 'NATIVE';
  /** The prepay body, to tell the same order again from another one under the same number. */
  prepay: string;
  prepayId?: string;
  codeUrl?: string;
  description: string;
  total: number;
  notifyUrl: string;
  state: TradeState;
  transactionId?: string;
  successTime?: Date;
  openid?: string;
}

export interface FakeRefund {
  outRefundNo: string;
  refundId: string;
  outTradeNo: string;
  transactionId: string;
  refund: number;
  total: number;
  reason?: string;
  notifyUrl?: string;
  status: 'PROCESSING' | 'SUCCESS' | 'ABNORMAL' | 'CLOSED';
  createTime: Date;
  successTime?: Date;
}

/** How the fake signs its API answers: as WeChat does, or broken for the adapter's verification tests. */
export type ResponseSigning = 'valid' | 'wrong-key' | 'stale' | 'unsigned';

interface Reply {
  status: number;
  json?: unknown;
  /** An unsigned raw file (the bill download). */
  file?: Buffer;
  /** WeChat does not sign its refusal of our own signature. */
  unsigned?: boolean;
}

export class WechatpayFake {
  readonly mchId: string;
  readonly appId: string;
  readonly apiV3Key = newNonce();
  readonly merchantSerialNo = randomBytes(20).toString('hex').toUpperCase();
  readonly merchantPrivateKeyPem: string;
  readonly platformKeyId: string;
  /** WeChat's public key as the merchant downloads it: a key PEM, or a certificate PEM. */
  readonly platformPublicPem: string;
  readonly platformPrivateKey: KeyObject;
  readonly trades = new Map<string, FakeTrade>();
  readonly refunds = new Map<string, FakeRefund>();
  /** Every authenticated call, for assertions on what the adapter sent. */
  readonly requests: { method: string; pathWithQuery: string; body: unknown }[] = [];
  responseSigning: ResponseSigning = 'valid';

  private readonly merchantPublicKey: KeyObject;
  private readonly strangerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  private readonly now: () => Date;
  private readonly bills = new Map<string, { content: Buffer; hashValue?: string }>();
  private readonly downloads = new Map<string, Buffer>();
  private server?: Server;
  private baseUrl?: string;

  constructor(options: WechatpayFakeOptions = {}) {
    this.mchId = options.mchId ?? String(1_900_000_000 + randomInt(99_999_999));
    this.appId = options.appId ?? `wx${randomBytes(8).toString('hex')}`;
    this.now = options.now ?? (() => new Date());
    const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.merchantPrivateKeyPem = merchant.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    this.merchantPublicKey = merchant.publicKey;
    const platform = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.platformPrivateKey = platform.privateKey;
    if (options.platformCertificate) {
      const certificate = platformCertificate(platform.publicKey, platform.privateKey);
      this.platformKeyId = certificate.serial;
      this.platformPublicPem = certificate.pem;
    } else {
      this.platformKeyId = `PUB_KEY_ID_01${randomInt(10 ** 9, 10 ** 10 - 1)}${randomInt(10 ** 9, 10 ** 10 - 1)}`;
      this.platformPublicPem = platform.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    }
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('the WeChat Pay fake is not started');
    return this.baseUrl;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ code: 'SYSTEM_ERROR', message: String(err) }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The merchant account as configured on our side, pointing at this fake. */
  credentials(): WechatpayCredentials {
    return {
      mchId: this.mchId,
      appId: this.appId,
      apiV3Key: this.apiV3Key,
      merchantPrivateKey: this.merchantPrivateKeyPem,
      merchantSerialNo: this.merchantSerialNo,
      platformPublicKeys: [{ id: this.platformKeyId, pem: this.platformPublicPem }],
      baseUrl: this.url,
    };
  }

  // ---- The payer and WeChat's notifications ----

  /** The payer pays the trade in full; returns the TRANSACTION.SUCCESS notification WeChat sends. */
  pay(outTradeNo: string, paidAt: Date = this.now()): InboundCallback {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    if (trade.state !== 'NOTPAY') throw new Error(`trade ${outTradeNo} is ${trade.state}`);
    Object.assign(trade, {
      state: 'SUCCESS',
      transactionId: `4200${digits(24)}`,
      successTime: paidAt,
      openid: `o${randomBytes(14).toString('base64url')}`,
    });
    return this.notification('TRANSACTION.SUCCESS', 'transaction', '支付成功', this.transactionView(trade));
  }

  /** The merchant refunds a paid trade in WeChat Pay's merchant platform (not through the API). */
  refundFromPortal(outTradeNo: string, outRefundNo: string): FakeRefund {
    const trade = this.trades.get(outTradeNo);
    if (!trade) throw new Error(`no trade ${outTradeNo}`);
    const reply = this.refund({ out_trade_no: outTradeNo, out_refund_no: outRefundNo, amount: { refund: trade.total, total: trade.total, currency: WECHATPAY_CURRENCY } } as RefundRequestBody);
    if (reply.status !== 200) throw new Error(`the portal refund was refused: ${JSON.stringify(reply.json)}`);
    return this.refunds.get(outRefundNo)!;
  }

  /** WeChat finishes a refund (or gives up on it); returns its REFUND.* notification. */
  settleRefund(outRefundNo: string, status: 'SUCCESS' | 'ABNORMAL' | 'CLOSED' = 'SUCCESS'): InboundCallback {
    const refund = this.refunds.get(outRefundNo);
    if (!refund) throw new Error(`no refund ${outRefundNo}`);
    refund.status = status;
    if (status === 'SUCCESS') refund.successTime = this.now();
    return this.notification(`REFUND.${status}`, 'refund', status === 'SUCCESS' ? '退款成功' : '退款异常', this.refundNoticeView(refund));
  }

  /** A notification as WeChat builds it: the resource encrypted under the APIv3 key, the body signed. */
  notification(
    eventType: string,
    originalType: string,
    summary: string,
    resource: unknown,
    options: { id?: string; apiV3Key?: string } = {},
  ): InboundCallback {
    const nonce = newNonce().slice(0, 12);
    const associatedData = originalType;
    const body = {
      id: options.id ?? randomUUID(),
      create_time: beijingRfc3339(this.now()),
      resource_type: 'encrypt-resource',
      event_type: eventType,
      summary,
      resource: {
        original_type: originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: encryptResource(JSON.stringify(resource), options.apiV3Key ?? this.apiV3Key, nonce, associatedData),
        associated_data: associatedData,
        nonce,
      },
    };
    return this.sign(JSON.stringify(body));
  }

  /** Signs a raw notification body as WeChat does (or with another key, time or key id, for tests). */
  sign(rawBody: string | Buffer, options: { timestamp?: number; key?: KeyObject; keyId?: string; signature?: string } = {}): InboundCallback {
    const timestamp = options.timestamp ?? this.unixNow();
    const nonce = newNonce();
    const body = Buffer.from(rawBody);
    return {
      headers: {
        'content-type': 'application/json',
        [WECHATPAY_HEADERS.timestamp.toLowerCase()]: String(timestamp),
        [WECHATPAY_HEADERS.nonce.toLowerCase()]: nonce,
        [WECHATPAY_HEADERS.serial.toLowerCase()]: options.keyId ?? this.platformKeyId,
        [WECHATPAY_HEADERS.signature.toLowerCase()]:
          options.signature ?? signMessage(options.key ?? this.platformPrivateKey, timestamp, nonce, body.toString('utf8')),
        [WECHATPAY_HEADERS.signatureType.toLowerCase()]: WECHATPAY_AUTH_SCHEMA,
      },
      rawBody: body,
    };
  }

  /** POSTs a notification to a callback URL as WeChat would; answers the HTTP status it got. */
  async deliver(callback: InboundCallback, url: string): Promise<number> {
    const headers = Object.fromEntries(Object.entries(callback.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const res = await fetch(url, { method: 'POST', headers, body: new Uint8Array(callback.rawBody) });
    await res.arrayBuffer();
    return res.status;
  }

  // ---- Trade bills ----

  /** Serves this file (unzipped CSV) as the bill of `date`, with its true SHA-1 unless told another. */
  serveBill(date: string, content: Buffer | string, options: { hashValue?: string } = {}): void {
    this.bills.set(date, { content: Buffer.from(content), ...options });
  }

  /** The ALL trade bill of a Beijing day from the fake's trades and refunds; undefined for a day without any. */
  tradeBill(date: string): Buffer | undefined {
    const lines: BillLine[] = [];
    for (const trade of this.trades.values()) {
      if (trade.successTime && beijingDate(trade.successTime) === date) lines.push({ kind: 'PAYMENT', trade, time: trade.successTime });
    }
    for (const refund of this.refunds.values()) {
      const trade = this.trades.get(refund.outTradeNo)!;
      if (refund.status === 'SUCCESS' && refund.successTime && beijingDate(refund.successTime) === date) {
        lines.push({ kind: 'REFUND', trade, refund, time: refund.successTime });
      }
    }
    if (lines.length === 0) return undefined;
    return tradeBillCsv(this.mchId, this.appId, lines);
  }

  // ---- The HTTP API ----

  private unixNow(): number {
    return Math.floor(this.now().getTime() / 1000);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const pathWithQuery = `${url.pathname}${url.search}`;

    const auth = parseAuthorization(req.headers.authorization);
    const authentic =
      auth !== undefined &&
      auth.mchid === this.mchId &&
      auth.serial_no === this.merchantSerialNo &&
      Math.abs(this.unixNow() - Number(auth.timestamp)) <= WECHATPAY_MAX_SKEW_SECONDS &&
      verifyRequestSignature(this.merchantPublicKey, { method, pathWithQuery, body: rawBody }, auth);
    if (!authentic) return this.reply(res, { status: 401, json: { code: 'SIGN_ERROR', message: '签名错误' }, unsigned: true });

    let body: unknown;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      return this.reply(res, refusal(400, 'PARAM_ERROR', '请求体不是JSON'));
    }
    this.requests.push({ method, pathWithQuery, body });
    return this.reply(res, this.route(method, url, body));
  }

  private route(method: string, url: URL, body: unknown): Reply {
    const path = url.pathname;
    if (method === 'POST' && path === WECHATPAY_PATHS.appPrepay) return this.prepay('APP', body as PrepayRequest);
    if (method === 'POST' && path === WECHATPAY_PATHS.nativePrepay) return this.prepay('NATIVE', body as PrepayRequest);
    const close = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/.exec(path);
    if (method === 'POST' && close) return this.close(decodeURIComponent(close[1]!), body as { mchid?: string });
    const query = /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/.exec(path);
    if (method === 'GET' && query) return this.query(decodeURIComponent(query[1]!), url.searchParams.get('mchid'));
    if (method === 'POST' && path === WECHATPAY_PATHS.refunds) return this.refund(body as RefundRequestBody);
    const refund = /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/.exec(path);
    if (method === 'GET' && refund) {
      const found = this.refunds.get(decodeURIComponent(refund[1]!));
      return found ? { status: 200, json: this.refundView(found) } : refusal(404, 'RESOURCE_NOT_EXISTS', '退款单不存在');
    }
    if (method === 'GET' && path === WECHATPAY_PATHS.tradeBill) return this.applyForBill(url.searchParams);
    if (method === 'GET' && path === WECHATPAY_PATHS.billDownload) {
      const file = this.downloads.get(url.searchParams.get('token') ?? '');
      return file ? { status: 200, file } : refusal(400, 'INVALID_REQUEST', '下载地址已过期');
    }
    return refusal(404, 'NOT_FOUND', `no route ${method} ${path}`);
  }

  private prepay(tradeType: FakeTrade['tradeType'], p: PrepayRequest): Reply {
    if (p?.mchid !== this.mchId) return refusal(400, 'MCH_NOT_EXISTS', '商户号不存在');
    if (p.appid !== this.appId) return refusal(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配');
    const total = p.amount?.total;
    if (!Number.isSafeInteger(total) || total < 1 || p.amount.currency !== WECHATPAY_CURRENCY) return refusal(400, 'PARAM_ERROR', '订单金额无效');
    if (!p.out_trade_no || !/^[0-9A-Za-z_\-|*]{6,32}$/.test(p.out_trade_no)) return refusal(400, 'PARAM_ERROR', 'out_trade_no无效');
    if (!p.description || !p.notify_url || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/.test(p.time_expire)) {
      return refusal(400, 'PARAM_ERROR', '参数错误');
    }
    const prepay = JSON.stringify([tradeType, p]);
    const existing = this.trades.get(p.out_trade_no);
    if (existing) {
      if (existing.state === 'SUCCESS' || existing.state === 'REFUND') return refusal(400, 'ORDERPAID', '该订单已支付');
      if (existing.state === 'CLOSED') return refusal(400, 'ORDER_CLOSED', '订单已关闭');
      if (existing.prepay !== prepay) return refusal(400, 'INVALID_REQUEST', '201 商户订单号重复');
      return { status: 200, json: tradeType === 'APP' ? { prepay_id: existing.prepayId } : { code_url: existing.codeUrl } };
    }
    const trade: FakeTrade = {
      outTradeNo: p.out_trade_no,
      tradeType,
      prepay,
      description: p.description,
      total,
      notifyUrl: p.notify_url,
      state: 'NOTPAY',
      ...(tradeType === 'APP'
        ? { prepayId: `wx${beijingRfc3339(this.now()).replace(/\D/g, '').slice(0, 14)}${randomBytes(10).toString('hex')}` }
        : { codeUrl: `weixin://wxpay/bizpayurl?pr=${randomBytes(6).toString('base64url')}` }),
    };
    this.trades.set(trade.outTradeNo, trade);
    return { status: 200, json: tradeType === 'APP' ? { prepay_id: trade.prepayId } : { code_url: trade.codeUrl } };
  }

  private query(outTradeNo: string, mchid: string | null): Reply {
    if (mchid !== this.mchId) return refusal(400, 'PARAM_ERROR', 'mchid无效');
    const trade = this.trades.get(outTradeNo);
    return trade ? { status: 200, json: this.transactionView(trade) } : refusal(404, 'ORDER_NOT_EXIST', '订单不存在');
  }

  private close(outTradeNo: string, body: { mchid?: string }): Reply {
    if (body?.mchid !== this.mchId) return refusal(400, 'PARAM_ERROR', 'mchid无效');
    const trade = this.trades.get(outTradeNo);
    if (!trade) return refusal(404, 'ORDER_NOT_EXIST', '订单不存在');
    if (trade.state === 'SUCCESS' || trade.state === 'REFUND') return refusal(400, 'ORDERPAID', '订单已支付');
    trade.state = 'CLOSED';
    return { status: 204 };
  }

  private refund(body: RefundRequestBody): Reply {
    const trade = this.trades.get(body?.out_trade_no);
    if (!trade) return refusal(404, 'RESOURCE_NOT_EXISTS', '订单不存在');
    const { refund: amount, total, currency } = body.amount ?? {};
    if (!Number.isSafeInteger(amount) || amount < 1 || currency !== WECHATPAY_CURRENCY) return refusal(400, 'PARAM_ERROR', '退款金额无效');
    const existing = this.refunds.get(body.out_refund_no);
    if (existing) {
      // The same refund number again: the refund WeChat already has, never a second one.
      if (existing.outTradeNo !== trade.outTradeNo || existing.refund !== amount) return refusal(400, 'INVALID_REQUEST', '退款单号重复');
      return { status: 200, json: this.refundView(existing) };
    }
    if (trade.state !== 'SUCCESS' && trade.state !== 'REFUND') return refusal(400, 'INVALID_REQUEST', '订单未支付');
    if (total !== trade.total) return refusal(400, 'INVALID_REQUEST', '订单金额与原订单金额不一致');
    const refunded = [...this.refunds.values()].filter((r) => r.outTradeNo === trade.outTradeNo && r.status !== 'CLOSED');
    if (refunded.reduce((sum, r) => sum + r.refund, 0) + amount > trade.total) return refusal(400, 'INVALID_REQUEST', '申请退款金额超过订单可退金额');
    const refund: FakeRefund = {
      outRefundNo: body.out_refund_no,
      refundId: `503${digits(26)}`,
      outTradeNo: trade.outTradeNo,
      transactionId: trade.transactionId!,
      refund: amount,
      total: trade.total,
      ...(body.reason !== undefined && { reason: body.reason }),
      ...(body.notify_url !== undefined && { notifyUrl: body.notify_url }),
      status: 'PROCESSING',
      createTime: this.now(),
    };
    this.refunds.set(refund.outRefundNo, refund);
    trade.state = 'REFUND';
    return { status: 200, json: this.refundView(refund) };
  }

  private applyForBill(params: URLSearchParams): Reply {
    const date = params.get('bill_date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !['ALL', 'SUCCESS', 'REFUND', null].includes(params.get('bill_type'))) {
      return refusal(400, 'PARAM_ERROR', '参数错误');
    }
    const served = this.bills.get(date);
    const content = served?.content ?? this.tradeBill(date);
    if (!content) return refusal(400, 'NO_STATEMENT_EXIST', '账单文件不存在');
    const token = randomBytes(24).toString('base64url');
    this.downloads.set(token, params.get('tar_type') === 'GZIP' ? gzipSync(content) : content);
    return {
      status: 200,
      json: {
        hash_type: 'SHA1',
        // The digest is of the bill itself, before gzip.
        hash_value: served?.hashValue ?? createHash('sha1').update(content).digest('hex'),
        download_url: `${this.url}${WECHATPAY_PATHS.billDownload}?token=${token}`,
      },
    };
  }

  private transactionView(trade: FakeTrade) {
    const paid = trade.state === 'SUCCESS' || trade.state === 'REFUND';
    return {
      appid: this.appId,
      mchid: this.mchId,
      out_trade_no: trade.outTradeNo,
      ...(paid && { transaction_id: trade.transactionId }),
      trade_type: trade.tradeType,
      trade_state: trade.state,
      trade_state_desc: TRADE_STATE_DESCRIPTIONS[trade.state],
      ...(paid && { bank_type: 'OTHERS', attach: '', success_time: beijingRfc3339(trade.successTime!), payer: { openid: trade.openid } }),
      amount: paid
        ? { total: trade.total, payer_total: trade.total, currency: WECHATPAY_CURRENCY, payer_currency: WECHATPAY_CURRENCY }
        : { total: trade.total, currency: WECHATPAY_CURRENCY, payer_currency: WECHATPAY_CURRENCY },
    };
  }

  private refundView(refund: FakeRefund) {
    return {
      refund_id: refund.refundId,
      out_refund_no: refund.outRefundNo,
      transaction_id: refund.transactionId,
      out_trade_no: refund.outTradeNo,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      ...(refund.successTime && { success_time: beijingRfc3339(refund.successTime) }),
      create_time: beijingRfc3339(refund.createTime),
      status: refund.status,
      funds_account: 'AVAILABLE',
      amount: {
        total: refund.total,
        refund: refund.refund,
        payer_total: refund.total,
        payer_refund: refund.refund,
        settlement_total: refund.total,
        settlement_refund: refund.refund,
        discount_refund: 0,
        currency: WECHATPAY_CURRENCY,
      },
    };
  }

  private refundNoticeView(refund: FakeRefund) {
    return {
      mchid: this.mchId,
      out_trade_no: refund.outTradeNo,
      transaction_id: refund.transactionId,
      out_refund_no: refund.outRefundNo,
      refund_id: refund.refundId,
      refund_status: refund.status,
      ...(refund.successTime && { success_time: beijingRfc3339(refund.successTime) }),
      user_received_account: '支付用户零钱',
      amount: { total: refund.total, refund: refund.refund, payer_total: refund.total, payer_refund: refund.refund },
    };
  }

  private reply(res: ServerResponse, reply: Reply): void {
    const requestId = randomBytes(16).toString('hex').toUpperCase();
    if (reply.file) {
      res.writeHead(reply.status, { 'Content-Type': 'application/octet-stream', 'Request-ID': requestId }).end(reply.file);
      return;
    }
    const text = reply.json === undefined ? '' : JSON.stringify(reply.json);
    const headers: Record<string, string> = { 'Request-ID': requestId };
    if (text) headers['Content-Type'] = 'application/json; charset=utf-8';
    if (!reply.unsigned && this.responseSigning !== 'unsigned') {
      const timestamp = this.unixNow() - (this.responseSigning === 'stale' ? WECHATPAY_MAX_SKEW_SECONDS + 60 : 0);
      const nonce = newNonce();
      const key = this.responseSigning === 'wrong-key' ? this.strangerKey : this.platformPrivateKey;
      Object.assign(headers, {
        [WECHATPAY_HEADERS.timestamp]: String(timestamp),
        [WECHATPAY_HEADERS.nonce]: nonce,
        [WECHATPAY_HEADERS.serial]: this.platformKeyId,
        [WECHATPAY_HEADERS.signature]: signMessage(key, timestamp, nonce, text),
        [WECHATPAY_HEADERS.signatureType]: WECHATPAY_AUTH_SCHEMA,
      });
    }
    res.writeHead(reply.status, headers).end(text);
  }
}

const TRADE_STATE_DESCRIPTIONS: Record<TradeState, string> = {
  SUCCESS: '支付成功',
  REFUND: '转入退款',
  NOTPAY: '未支付',
  CLOSED: '已关闭',
  REVOKED: '已撤销',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败',
  ACCEPT: '已接收，等待扣款',
};

const refusal = (status: number, code: string, message: string): Reply => ({ status, json: { code, message } });

const digits = (count: number) => Array.from({ length: count }, () => randomInt(10)).join('');

/** A platform certificate for the key, self-signed: WeChat names such a key by the certificate's serial. */
function platformCertificate(publicKey: KeyObject, privateKey: KeyObject): { serial: string; pem: string } {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive 20-byte serial without a leading zero, written as WeChat writes serials: upper-case hex.
  const serial = randomBytes(20);
  serial[0] = 0x40 | (serial[0]! & 0x3f);
  certificate.serialNumber = serial.toString('hex').toUpperCase();
  certificate.validity.notBefore = new Date(Date.now() - 86_400_000);
  certificate.validity.notAfter = new Date(Date.now() + 5 * 365 * 86_400_000);
  const name = [
    { name: 'commonName', value: 'Tenpay.com Root CA' },
    { name: 'organizationName', value: 'Tenpay.com' },
    { name: 'countryName', value: 'CN' },
  ];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), forge.md.sha256.create());
  return { serial: certificate.serialNumber, pem: forge.pki.certificateToPem(certificate) };
}

// ---- The trade bill file (ALL) ----

type BillLine =
  | { kind: 'PAYMENT'; trade: FakeTrade; time: Date }
  | { kind: 'REFUND'; trade: FakeTrade; refund: FakeRefund; time: Date };

export const TRADE_BILL_HEADER =
  '交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注';
export const TRADE_BILL_SUMMARY_HEADER = '总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额';

const yuan = (fen: number) => formatDecimal({ currency: WECHATPAY_CURRENCY, value: fen });
/** 0.6%, rounded half up, in integer fen. */
const feeOf = (fen: number) => Math.floor((fen * 6 + 500) / 1000);
const billTime = (time: Date) => beijingRfc3339(time).slice(0, 19).replace('T', ' ');
/** WeChat writes every cell of a data row behind a backtick. */
const billRow = (cells: (string | number)[]) => cells.map((cell) => `\`${cell}`).join(',');

/** A trade bill in WeChat's ALL format: BOM, header, backtick rows, summary; CRLF lines. */
export function tradeBillCsv(mchId: string, appId: string, lines: BillLine[]): Buffer {
  let settled = 0;
  let refunded = 0;
  let fees = 0;
  const rows = lines.map((line) => {
    const { trade } = line;
    const common = [billTime(line.time), appId, mchId, '0', '', trade.transactionId!, trade.outTradeNo, trade.openid ?? '', trade.tradeType];
    if (line.kind === 'PAYMENT') {
      const fee = feeOf(trade.total);
      settled += trade.total;
      fees += fee;
      return billRow([...common, 'SUCCESS', 'OTHERS', WECHATPAY_CURRENCY, yuan(trade.total), '0.00', '0', '0', '0.00', '0.00', '', '', trade.description, '', yuan(fee), '0.60%', yuan(trade.total), '0.00', '']);
    }
    const { refund } = line;
    const fee = feeOf(refund.refund);
    refunded += refund.refund;
    fees -= fee;
    return billRow([
      ...common, 'REFUND', 'OTHERS', WECHATPAY_CURRENCY, '0.00', '0.00', refund.refundId, refund.outRefundNo, yuan(refund.refund), '0.00', 'ORIGINAL', 'SUCCESS',
      trade.description, '', yuan(-fee), '0.60%', '0.00', yuan(refund.refund), '',
    ]);
  });
  const summary = billRow([lines.length, yuan(settled), yuan(refunded), '0.00', yuan(fees), yuan(settled), yuan(refunded)]);
  return Buffer.from(`\uFEFF${[TRADE_BILL_HEADER, ...rows, TRADE_BILL_SUMMARY_HEADER, summary].join('\r\n')}\r\n`, 'utf8');
}
