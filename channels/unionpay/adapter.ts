import { X509Certificate, createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { finalError, transientError, type ChannelError } from '../http';
import { merchantOrderNo } from '../ids';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  type ChannelAccount,
  type ChannelAdapter,
  type ChannelDefinition,
  type ChannelDeps,
  type CreatePaymentRequest,
  type InboundCallback,
  type PaymentRef,
  type RefundQueryResult,
  type StatementRow,
  type VerifiedNotification,
} from '../types';
import type { Money } from '../../domain/money';
import { settlementRows } from './statement';
import {
  BACK_TRANS_PATH,
  BUSY_CODE,
  DUPLICATE_CODE,
  FRONT_TRANS_PATH,
  NOT_FOUND_CODE,
  NO_FILE_CODE,
  QUERY_TRANS_PATH,
  SUCCESS_CODES,
  TXN_TYPE,
  UNIONPAY_ACK_BODY,
  UNIONPAY_CNY,
  UNIONPAY_ENCODING,
  UNIONPAY_PRODUCTION_GATEWAY,
  UNIONPAY_SIGNING_COMPANY,
  UNIONPAY_SIGN_METHOD,
  UNIONPAY_TEST_GATEWAY_HOST,
  UNIONPAY_TEST_SIGNING_COMPANY,
  UNIONPAY_VERSION,
  UNKNOWN_OUTCOME_CODES,
  UnionPayCertificateError,
  UnionPayCertificateVerifier,
  UnionPayFormatError,
  beijingTime,
  channelPaymentIdOf,
  fileAnswerSchema,
  formBody,
  normalizeTransaction,
  parseAnswer,
  parseNotificationBody,
  queryAnswerSchema,
  refundOrderIdOf,
  signFields,
  transactionSchema,
  unionpayOrderOf,
  verifyFields,
  type UnionPayFields,
} from './wire';

const isRsaPrivateKey = (pem: string) => {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
};
const isCertificate = (pem: string) => {
  try {
    return new X509Certificate(pem).publicKey.asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
};

/** A UnionPay merchant account (ACP 5.1.0, certificate signing). Field names are the contract. */
export const unionpayCredentials = z.strictObject({
  merId: z.string().regex(/^[0-9A-Za-z]{15}$/, 'a UnionPay merchant code is 15 letters and digits'),
  /** The private key of the merchant's signing certificate (the .pfx from CFCA, as PEM). */
  signPrivateKey: z.string().refine(isRsaPrivateKey, 'a PEM RSA private key'),
  /** That certificate's serial number in decimal, as UnionPay's SDKs read it from the .pfx. */
  signCertId: z.string().regex(/^\d{1,128}$/, "the signing certificate's serial number in decimal"),
  rootCertificate: z.string().refine(isCertificate, 'a PEM RSA certificate'),
  middleCertificate: z.string().refine(isCertificate, 'a PEM RSA certificate'),
  gatewayBaseUrl: z.url({ protocol: /^https?$/ }).optional(),
});
export type UnionPayCredentials = z.infer<typeof unionpayCredentials>;

/**
 * A payment's txnTime is derived from its expiresAt (the platform's default payment window before it,
 * PAYMENT_TIMEOUT_MS), never later than now: the same order always makes the same transaction.
 */
const PAYMENT_WINDOW_MS = 15 * 60_000;

export function unionpayChannel(): ChannelDefinition<UnionPayCredentials> {
  return { type: 'unionpay', credentials: unionpayCredentials, createAdapter: createUnionPayAdapter };
}

/** Where the file transfer lives: its own host at UnionPay, the gateway base itself anywhere else (a fake, a proxy). */
function fileTransferUrl(gateway: URL, base: string): string {
  if (gateway.hostname === 'gateway.95516.com') return 'https://filedownload.95516.com/';
  if (gateway.hostname === UNIONPAY_TEST_GATEWAY_HOST) return 'https://filedownload.test.95516.com/';
  return `${base}/`;
}

type QueriedTransaction =
  | { found: false }
  | { found: true; state: 'SUCCEEDED' | 'IN_FLIGHT' | 'FAILED'; answer: z.infer<typeof queryAnswerSchema> };

function createUnionPayAdapter(account: ChannelAccount<UnionPayCredentials>, deps: ChannelDeps): ChannelAdapter {
  const { merId, signCertId } = account.credentials;
  const { http, callbackUrl, now = () => new Date() } = deps;
  const signingKey = createPrivateKey(account.credentials.signPrivateKey);
  const gateway = new URL(account.credentials.gatewayBaseUrl ?? UNIONPAY_PRODUCTION_GATEWAY);
  const base = gateway.href.replace(/\/$/, '');
  const companies =
    gateway.hostname === UNIONPAY_TEST_GATEWAY_HOST ? [UNIONPAY_SIGNING_COMPANY, UNIONPAY_TEST_SIGNING_COMPANY] : [UNIONPAY_SIGNING_COMPANY];
  const certificates = new UnionPayCertificateVerifier(account.credentials.rootCertificate, account.credentials.middleCertificate, companies);

  /** Authentic when UnionPay's certificate signed it; throws UnionPayCertificateError or returns false. */
  const authentic = (fields: UnionPayFields) =>
    fields.version === UNIONPAY_VERSION &&
    fields.signMethod === UNIONPAY_SIGN_METHOD &&
    typeof fields.signPubKeyCert === 'string' &&
    verifyFields(fields, certificates.signingKey(fields.signPubKeyCert, now()));

  const signed = (fields: UnionPayFields): UnionPayFields => {
    const all = { version: UNIONPAY_VERSION, encoding: UNIONPAY_ENCODING, signMethod: UNIONPAY_SIGN_METHOD, certId: signCertId, accessType: '0', merId, ...fields };
    return { ...all, signature: signFields(all, signingKey) };
  };

  /** One synchronous call: a signed form out, an answer only once UnionPay's signature on it holds. */
  const call = async (url: string, fields: UnionPayFields, what: string): Promise<UnionPayFields> => {
    const res = await http.send({
      method: 'POST',
      url,
      headers: { 'Content-Type': `application/x-www-form-urlencoded;charset=${UNIONPAY_ENCODING}` },
      body: formBody(signed(fields)),
    });
    if (res.status !== 200) throw finalError(`HTTP_${res.status}`, `unionpay ${what}: HTTP ${res.status}`);
    let answer: UnionPayFields;
    try {
      answer = parseAnswer(res.text());
    } catch (err) {
      throw transientError('BAD_RESPONSE', `unionpay ${what}: ${(err as Error).message}`);
    }
    // An answer we cannot authenticate decides nothing (money may have moved): asking again is safe.
    let verified: boolean;
    try {
      verified = authentic(answer);
    } catch (err) {
      if (!(err instanceof UnionPayCertificateError)) throw err;
      throw transientError('INVALID_RESPONSE_SIGNATURE', `unionpay ${what}: ${err.message}`);
    }
    if (!verified) {
      throw transientError('INVALID_RESPONSE_SIGNATURE', `unionpay ${what}: the answer (respCode ${answer.respCode ?? 'none'}) is not signed by UnionPay`);
    }
    return answer;
  };

  /** UnionPay's verdict as our error: busy or undecided is transient, any other refusal final. */
  const refusal = (answer: UnionPayFields, what: string): ChannelError => {
    const code = answer.respCode ?? 'NONE';
    const message = `unionpay ${what}: respCode ${code} ${answer.respMsg ?? ''}`.trimEnd();
    return code === BUSY_CODE || UNKNOWN_OUTCOME_CODES.has(code) ? transientError(`UNIONPAY_${code}`, message) : finalError(`UNIONPAY_${code}`, message);
  };

  const badAnswer = (what: string, error: z.ZodError) =>
    transientError('BAD_RESPONSE', `unionpay ${what}: ${error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

  /**
   * A signed answer is about what we asked only when it echoes our transaction's key (orderId +
   * txnTime) and our merchant: another one decides nothing here (transient: asking again is safe).
   */
  const aboutRequest = (answer: UnionPayFields, asked: { orderId: string; txnTime: string }, what: string) => {
    if (answer.orderId === asked.orderId && answer.txnTime === asked.txnTime && answer.merId === merId) return;
    throw transientError(
      'BAD_RESPONSE',
      `unionpay ${what}: asked for ${asked.orderId}@${asked.txnTime} of ${merId}, answered about ${answer.orderId}@${answer.txnTime} of ${answer.merId}`,
    );
  };

  /** Transaction status query (txnType 00) by orderId + txnTime. */
  const query = async (orderId: string, txnTime: string): Promise<QueriedTransaction> => {
    const answer = await call(`${base}${QUERY_TRANS_PATH}`, { txnType: TXN_TYPE.QUERY, txnSubType: '00', bizType: '000000', orderId, txnTime }, 'query');
    if (answer.respCode === NOT_FOUND_CODE) return { found: false };
    if (answer.respCode !== '00') throw refusal(answer, 'query');
    const parsed = queryAnswerSchema.safeParse(answer);
    if (!parsed.success) throw badAnswer('query', parsed.error);
    aboutRequest(answer, { orderId, txnTime }, 'query');
    const result = parsed.data.origRespCode;
    const state = SUCCESS_CODES.has(result) ? 'SUCCEEDED' : UNKNOWN_OUTCOME_CODES.has(result) ? 'IN_FLIGHT' : 'FAILED';
    return { found: true, state, answer: parsed.data };
  };

  const orderOf = (ref: PaymentRef) => {
    const order = unionpayOrderOf(ref.channelPaymentId);
    if (!order) throw finalError('UNKNOWN_PAYMENT', `unionpay: ${ref.channelPaymentId} is not a payment this adapter made`);
    return order;
  };

  const fen = (amount: Money, what: string): string => {
    if (amount.currency !== 'CNY') throw finalError('UNSUPPORTED_CURRENCY', `unionpay ${what}: CNY only, not ${amount.currency}`);
    if (!Number.isSafeInteger(amount.value) || amount.value <= 0) throw finalError('INVALID_AMOUNT', `unionpay ${what}: ${amount.value} fen`);
    return String(amount.value);
  };

  const paymentEvent = (queried: QueriedTransaction) => {
    if (!queried.found || queried.state !== 'SUCCEEDED') return undefined;
    try {
      // What was queried is a consume, whatever type the answer echoes.
      const normalized = normalizeTransaction({ ...queried.answer, txnType: TXN_TYPE.CONSUME }, queried.answer.origRespCode);
      return 'event' in normalized ? normalized.event : undefined;
    } catch (err) {
      if (err instanceof UnionPayFormatError) throw transientError('BAD_RESPONSE', `unionpay query: ${err.message}`);
      throw err;
    }
  };

  /** The payment's queryId, which a refund names: from the ref, else from a query. */
  const paidQueryId = async (ref: PaymentRef): Promise<string> => {
    if (ref.channelTradeNo) return ref.channelTradeNo;
    const { orderId, txnTime } = orderOf(ref);
    const queried = await query(orderId, txnTime);
    const queryId = queried.found && queried.state === 'SUCCEEDED' ? queried.answer.queryId : undefined;
    if (!queryId) throw finalError('NOT_PAID', `unionpay refund: ${ref.channelPaymentId} is not paid`);
    return queryId;
  };

  const refundQueried = (queried: QueriedTransaction & { found: true }) => {
    const { state, answer } = queried;
    if (!answer.queryId) throw transientError('BAD_RESPONSE', 'unionpay refund query: no queryId');
    return { state, channelRefundId: answer.queryId, answer };
  };

  return {
    channelId: account.channelId,
    type: 'unionpay',
    supports: { close: true, refund: true, queryRefund: true, statement: true, receipts: false },

    async createPayment(request: CreatePaymentRequest) {
      const txnAmt = fen(request.amount, 'payment');
      const orderId = merchantOrderNo(request.orderId);
      if (!/^[0-9a-f]{32}$/.test(orderId)) throw finalError('INVALID_ORDER_ID', `unionpay payment: order id ${request.orderId} is not a UUID`);
      const at = now().getTime();
      const expiresAt = request.expiresAt.getTime();
      if (expiresAt <= at) throw finalError('PAYMENT_EXPIRED', `unionpay payment: order ${request.orderId} expired at ${request.expiresAt.toISOString()}`);
      // txnTime is part of the transaction's key: asking again makes the same form (same key, same signature).
      const txnTime = beijingTime(new Date(Math.min(at, expiresAt - PAYMENT_WINDOW_MS)));
      const mobile = request.platform === 'ios' || request.platform === 'android';
      const formFields = signed({
        txnType: TXN_TYPE.CONSUME,
        txnSubType: '01',
        bizType: '000201',
        channelType: mobile ? '08' : '07',
        orderId,
        txnTime,
        txnAmt,
        currencyCode: UNIONPAY_CNY,
        backUrl: request.notifyUrl,
        payTimeout: beijingTime(request.expiresAt),
      });
      return {
        channelPaymentId: channelPaymentIdOf(orderId, txnTime),
        // The payer's browser (or the app's web view) posts these fields to UnionPay's front gateway.
        payment: { formAction: `${base}${FRONT_TRANS_PATH}`, formMethod: 'POST', formFields },
      };
    },

    async verifyNotification({ rawBody }: InboundCallback): Promise<VerifiedNotification> {
      let fields: UnionPayFields;
      try {
        fields = parseNotificationBody(rawBody);
      } catch (err) {
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', (err as Error).message);
      }
      if (!fields.signature || !fields.signPubKeyCert) {
        throw new CallbackRejectedError('INVALID_SIGNATURE', 'no signature or signPubKeyCert');
      }
      // Authenticate every field as received before reading any of them.
      let verified: boolean;
      try {
        verified = authentic(fields);
      } catch (err) {
        if (err instanceof UnionPayCertificateError) throw new CallbackRejectedError('INVALID_SIGNATURE', err.message);
        throw err;
      }
      if (!verified) throw new CallbackRejectedError('INVALID_SIGNATURE', 'the signature does not match (or not version 5.1.0, signMethod 01)');
      const parsed = transactionSchema.safeParse(fields);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
        throw new CallbackRejectedError('MALFORMED_NOTIFICATION', issues.join('; '));
      }
      if (parsed.data.merId !== merId) {
        throw new CallbackRejectedError('WRONG_MERCHANT', `merId ${parsed.data.merId} is not this account's`);
      }
      try {
        const normalized = normalizeTransaction(parsed.data, parsed.data.respCode);
        return 'event' in normalized ? { events: [normalized.event] } : { events: [], notice: normalized.notice };
      } catch (err) {
        if (err instanceof UnionPayFormatError) throw new CallbackRejectedError('MALFORMED_NOTIFICATION', err.message);
        throw err;
      }
    },

    acknowledgement: () => ({ status: 200, contentType: 'text/plain', body: UNIONPAY_ACK_BODY }),

    async queryPayment(ref) {
      const { orderId, txnTime } = orderOf(ref);
      const queried = await query(orderId, txnTime);
      if (!queried.found) return { state: 'NOT_FOUND' };
      const event = paymentEvent(queried);
      if (event) return { state: 'SUCCEEDED', event };
      // UnionPay: before payTimeout (= expiresAt) a declined front payment may still be paid with
      // another card, so nothing but success is final here; the order's own expiry closes it.
      return { state: 'PENDING' };
    },

    async closePayment(ref) {
      // A front consume has no close at UnionPay: payTimeout (= expiresAt) makes UnionPay refuse it
      // afterwards. Closing is making sure it is not paid; a payment completed anyway comes as a late one.
      const { orderId, txnTime } = orderOf(ref);
      const queried = await query(orderId, txnTime);
      if (!queried.found) return 'CLOSED';
      if (queried.state === 'SUCCEEDED') return 'ALREADY_PAID';
      if (queried.state === 'IN_FLIGHT') throw transientError('PAYMENT_IN_PROGRESS', `unionpay close: ${orderId} is being paid`);
      return 'CLOSED';
    },

    async refund({ refundId, payment, amount }) {
      const { txnTime } = orderOf(payment);
      const refundOrderId = refundOrderIdOf(refundId);
      if (!refundOrderId) throw finalError('INVALID_REFUND_ID', `unionpay refund: refund id ${refundId} has no UnionPay orderId form`);
      const txnAmt = fen(amount, 'refund');
      const origQryId = await paidQueryId(payment);
      // The refund's txnTime is the payment's: the refund's key (orderId + txnTime) then follows from
      // our refund id alone, so asking again is refused as a duplicate and the refund can be queried.
      const answer = await call(
        `${base}${BACK_TRANS_PATH}`,
        {
          txnType: TXN_TYPE.REFUND,
          txnSubType: '00',
          bizType: '000201',
          channelType: '07',
          orderId: refundOrderId,
          txnTime,
          txnAmt,
          currencyCode: UNIONPAY_CNY,
          origQryId,
          backUrl: callbackUrl,
        },
        'refund',
      );
      // An acceptance must be of this refund (a refusal need not echo it: it moved nothing).
      if (answer.respCode === '00') aboutRequest(answer, { orderId: refundOrderId, txnTime }, 'refund');
      if (answer.respCode === '00' && answer.queryId) return { channelRefundId: answer.queryId, state: 'PROCESSING' };
      const undecided = answer.respCode === '00' || answer.respCode === DUPLICATE_CODE || UNKNOWN_OUTCOME_CODES.has(answer.respCode ?? '');
      if (!undecided) throw refusal(answer, 'refund');
      // Already asked, or asked without a clear answer: the refund's own record says where it stands.
      const queried = await query(refundOrderId, txnTime);
      if (!queried.found) throw transientError('REFUND_UNCONFIRMED', `unionpay refund: ${refundOrderId} is not known yet (respCode ${answer.respCode})`);
      const { state, channelRefundId, answer: refundAnswer } = refundQueried(queried);
      if (state === 'FAILED') throw finalError(`UNIONPAY_${refundAnswer.origRespCode}`, `unionpay refund ${refundOrderId}: ${refundAnswer.origRespMsg ?? 'failed'}`);
      return { channelRefundId, state: state === 'SUCCEEDED' ? 'SUCCEEDED' : 'PROCESSING' };
    },

    async queryRefund({ refundId, payment }): Promise<RefundQueryResult> {
      const { txnTime } = orderOf(payment);
      const refundOrderId = refundOrderIdOf(refundId);
      if (!refundOrderId) return { state: 'NOT_FOUND' };
      const queried = await query(refundOrderId, txnTime);
      if (!queried.found) return { state: 'NOT_FOUND' };
      const { state, channelRefundId, answer } = refundQueried(queried);
      if (state === 'IN_FLIGHT') return { state: 'PROCESSING', channelRefundId };
      if (state === 'FAILED') return { state: 'FAILED', channelRefundId };
      if (!answer.txnAmt || answer.currencyCode !== UNIONPAY_CNY) throw transientError('BAD_RESPONSE', 'unionpay refund query: no CNY txnAmt');
      return { state: 'SUCCEEDED', channelRefundId, amount: { currency: 'CNY', value: Number(answer.txnAmt) } };
    },

    fetchStatement(date: string): AsyncIterable<StatementRow> {
      return {
        async *[Symbol.asyncIterator]() {
          const day = /^\d{4}-(\d{2})-(\d{2})$/.exec(date);
          if (!day) throw finalError('INVALID_DATE', `unionpay statement: ${date} is not YYYY-MM-DD`);
          // The settlement day (MMDD): UnionPay's day ends at 23:00 Beijing time.
          const answer = await call(
            fileTransferUrl(gateway, base),
            { txnType: TXN_TYPE.FILE_TRANSFER, txnSubType: '01', bizType: '000000', fileType: '00', settleDate: `${day[1]}${day[2]}`, txnTime: beijingTime(now()) },
            'file transfer',
          );
          if (answer.respCode === NO_FILE_CODE) return; // no transaction settled that day
          if (answer.respCode !== '00') throw refusal(answer, 'file transfer');
          const parsed = fileAnswerSchema.safeParse(answer);
          if (!parsed.success) throw badAnswer('file transfer', parsed.error);
          let rows: StatementRow[];
          try {
            rows = await settlementRows(parsed.data.fileContent, date);
          } catch (err) {
            if (err instanceof UnionPayFormatError) throw finalError('BAD_STATEMENT', `unionpay statement ${date}: ${err.message}`);
            throw err;
          }
          yield* rows;
        },
      };
    },

    async verifyReceipt() {
      throw new ChannelUnsupportedError('unionpay', 'verifyReceipt', 'UnionPay reports every payment by back notification; it has no receipts');
    },

    async confirmDelivery() {
      // Nothing to confirm: UnionPay settles without hearing about delivery.
    },
  };
}
