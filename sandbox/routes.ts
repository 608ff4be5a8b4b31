import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import { operatorAuth } from '../api/auth';
import { ApiError } from '../api/errors';
import { jsonBody } from '../api/shared/body';
import { z } from 'zod';
import { MAX_ORDER_AMOUNT } from '../domain/money';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import type { SandboxPayment, SandboxRefund } from '../store/sandbox';
import {
  SANDBOX_API_PREFIX,
  isOwnCallbackUrl,
  sandboxCreatePaymentRequest,
  sandboxRefundRequest,
  type SandboxPaymentView,
} from '../channels/sandbox/wire';
import { MAX_NOTIFY_TIMES, SandboxError, SandboxProvider } from './provider';
import { statementsRouter } from './statements';

/** The checkout page's buttons: the payer pays (or fails) the amount asked, nothing else. */
export const checkoutPaySchema = z.strictObject({ result: z.enum(['SUCCESS', 'FAILED']) });

/** The test route (admin token): also a paid amount other than asked, and repeated notifications. */
export const completeSchema = z.object({
  result: z.enum(['SUCCESS', 'FAILED']),
  paidAmount: z.number().int().min(0).max(MAX_ORDER_AMOUNT).optional(),
  notifyTimes: z.number().int().min(1).max(MAX_NOTIFY_TIMES).optional(),
  notifyDelayMs: z.number().int().min(0).max(3_600_000).optional(),
});

const ERROR_STATUS: Record<SandboxError['code'], number> = {
  INVALID_REQUEST: 400,
  PAYMENT_NOT_FOUND: 404,
  PAYMENT_NOT_PAYABLE: 409,
  MERCHANT_ORDER_CONFLICT: 409,
  REFUND_NOT_ALLOWED: 409,
  REFUND_AMOUNT_MISMATCH: 422,
  REFUND_CONFLICT: 409,
  REFUND_NOT_FOUND: 404,
};

const SANDBOX_ID = /^[\x21-\x7e]{1,128}$/;

/** Inline styles and script only: the page must work with no network access beyond this host. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'";

/**
 * The sandbox provider's side, mounted at /sandbox: the payer's checkout page (open: whoever has a
 * payment's link may pay that payment, the amount asked), and behind the admin token the merchant API
 * (`/sandbox/api`) the platform's sandbox adapter calls over HTTP as it would call a real channel,
 * the statements, and the test routes (complete with any paid amount, planted differences).
 */
export function sandboxRouter({
  database,
  config,
}: {
  database: Database;
  config: Pick<Config, 'RECON_TIME_ZONE' | 'OPERATOR_TOKENS' | 'PUBLIC_BASE_URL'>;
}): Router {
  const provider = new SandboxProvider(database);
  const router = Router();
  const admin = operatorAuth(config);
  router.use(...jsonBody('64kb'));
  // The provider's days are calendar days where reconciliation runs.
  router.use('/statements', admin, statementsRouter({ database, timeZone: config.RECON_TIME_ZONE }));

  const api = Router();
  api.use(admin);
  const invalid = (res: Response, error: z.ZodError) =>
    res.status(400).json({
      error: {
        code: 'VALIDATION_ERROR',
        message: 'the request is invalid',
        details: { issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      },
    });
  api.post('/payments', async (req, res) => {
    // The notifier signs and POSTs to notifyUrl: only this deployment's own callback route, never anywhere.
    const parsed = sandboxCreatePaymentRequest
      .refine((r) => isOwnCallbackUrl(r.notifyUrl, config.PUBLIC_BASE_URL), {
        path: ['notifyUrl'],
        message: `must be this deployment's callback route (${config.PUBLIC_BASE_URL}/v1/callbacks/...)`,
      })
      .safeParse(req.body);
    if (!parsed.success) return void invalid(res, parsed.error);
    const payment = await provider.createPayment(parsed.data);
    res.status(201).json(paymentView(payment));
  });
  // Ids are ASCII tokens: anything else names no payment, and never reaches the database.
  router.param('paymentId', (_req, _res, next, id: string) => {
    if (!SANDBOX_ID.test(id)) throw new SandboxError('PAYMENT_NOT_FOUND', 'no such sandbox payment');
    next();
  });
  api.param('paymentId', (_req, _res, next, id: string) => {
    if (!SANDBOX_ID.test(id)) throw new SandboxError('PAYMENT_NOT_FOUND', 'no such sandbox payment');
    next();
  });
  api.param('refundId', (_req, _res, next, id: string) => {
    if (!SANDBOX_ID.test(id)) throw new SandboxError('REFUND_NOT_FOUND', 'no such sandbox refund');
    next();
  });
  api.get('/payments/:paymentId', async (req, res) => {
    const payment = await provider.getPayment(req.params.paymentId);
    if (!payment) throw new SandboxError('PAYMENT_NOT_FOUND', `no sandbox payment ${req.params.paymentId}`);
    res.json(paymentView(payment));
  });
  api.post('/payments/:paymentId/close', async (req, res) => {
    res.json({ status: await provider.closePayment(req.params.paymentId) });
  });
  api.post('/refunds', async (req, res) => {
    const parsed = sandboxRefundRequest.safeParse(req.body);
    if (!parsed.success) return void invalid(res, parsed.error);
    await provider.refund(parsed.data);
    const refund = await provider.getRefund(parsed.data.refundId);
    res.status(201).json(refundView(parsed.data.refundId, refund!));
  });
  api.get('/refunds/:refundId', async (req, res) => {
    const refund = await provider.getRefund(req.params.refundId);
    if (!refund) throw new SandboxError('REFUND_NOT_FOUND', `no sandbox refund ${req.params.refundId}`);
    res.json(refundView(req.params.refundId, refund));
  });
  router.use(SANDBOX_API_PREFIX, api);

  router.get('/checkout/:paymentId', async (req, res) => {
    const payment = await provider.getPayment(req.params.paymentId);
    res.set({ 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store' }).type('html');
    if (!payment) {
      const id = escapeHtml(req.params.paymentId);
      res.status(404).send(page('Payment not found', `<p>No sandbox payment <code>${id}</code>.</p>`));
      return;
    }
    res.send(checkoutPage(payment));
  });

  const complete = (schema: typeof checkoutPaySchema | typeof completeSchema) =>
    async (req: Request<{ paymentId: string }>, res: Response) => {
      const parsed = schema.safeParse(req.body);
      if (!parsed.success) return void invalid(res, parsed.error);
      const payment = await provider.completePayment(req.params.paymentId, parsed.data);
      res.status(202).json({ paymentId: payment.id, status: payment.status });
    };
  router.post('/checkout/:paymentId/pay', complete(checkoutPaySchema));
  router.post('/payments/:paymentId/complete', admin, complete(completeSchema));

  const errors: ErrorRequestHandler = (err, _req, res, next) => {
    if (err instanceof SandboxError) {
      const code = err.code === 'INVALID_REQUEST' ? 'VALIDATION_ERROR' : err.code;
      res.status(ERROR_STATUS[err.code]).json({ error: { code, message: err.message } });
    } else if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      // The operator token's refusal, answered here too where the router is mounted on its own.
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
    } else if (err?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'VALIDATION_ERROR', message: 'request body is not valid JSON' } });
    } else {
      next(err);
    }
  };
  router.use(errors);
  return router;
}

function paymentView(p: SandboxPayment): SandboxPaymentView {
  return {
    paymentId: p.id,
    merchantOrderId: p.merchantOrderId,
    status: p.status as SandboxPaymentView['status'],
    amount: { currency: p.currency, value: p.amount },
    ...(p.paidAmount !== null && { paidAmount: { currency: p.currency, value: p.paidAmount } }),
    ...(p.txnId !== null && { txnId: p.txnId }),
    ...(p.paidAt !== null && { paidAt: p.paidAt.toISOString() }),
  };
}

function refundView(refundId: string, r: SandboxRefund) {
  return {
    refundId,
    channelRefundId: r.id,
    paymentId: r.paymentId,
    status: 'SUCCEEDED' as const,
    amount: { currency: r.currency, value: r.amount },
  };
}

/** Minor units to a display amount, using the currency's own number of decimals. */
export function formatAmount(value: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(value / 10 ** digits);
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the payer (a developer, here) should expect, by the payment's status. */
function nextStep(status: string): string {
  switch (status) {
    case 'PAID':
      return 'This payment is paid. It stays paid when you reload: a payment is made once, and the sandbox keeps its own books, as a real channel does. The payment center has been notified and delivers the goods to the game.';
    case 'CLOSED':
      return 'This payment was closed (the order expired or the game cancelled it): it can no longer be paid.';
    case 'REFUNDED':
      return 'This payment was refunded.';
    default:
      return 'Press Pay to pay the amount asked: the sandbox then sends a signed notification to the payment center, which delivers the goods to the game. Fail simulates a declined payment (the order stays payable).';
  }
}

function checkoutPage(p: SandboxPayment): string {
  const payable = p.status === 'CREATED' || p.status === 'FAILED';
  const disabled = payable ? '' : ' disabled';
  // Relative to /<mount>/checkout/<id>, so the page works wherever the router is mounted.
  const completeUrl = `${encodeURIComponent(p.id)}/pay`;
  return page(
    'Sandbox checkout',
    `<dl>
  <dt>Subject</dt><dd>${escapeHtml(p.subject)}</dd>
  <dt>Amount</dt><dd class="amount">${escapeHtml(formatAmount(p.amount, p.currency))}</dd>
  <dt>Order</dt><dd><code>${escapeHtml(p.merchantOrderId)}</code></dd>
  <dt>Payment</dt><dd><code>${escapeHtml(p.id)}</code></dd>
  <dt>Status</dt><dd id="status">${escapeHtml(p.status)}</dd>
</dl>
<p class="note" id="next">${escapeHtml(nextStep(p.status))}</p>
<div class="actions" data-complete-url="${escapeHtml(completeUrl)}">
  <button class="pay" data-result="SUCCESS"${disabled}>Pay</button>
  <button class="fail" data-result="FAILED"${disabled}>Fail</button>
</div>
<p id="message" role="status"></p>
<script>
(function () {
  var actions = document.querySelector('.actions');
  var buttons = actions.querySelectorAll('button');
  var status = document.getElementById('status');
  var message = document.getElementById('message');
  function setDisabled(value) { buttons.forEach(function (b) { b.disabled = value; }); }
  buttons.forEach(function (button) {
    button.addEventListener('click', function () {
      setDisabled(true);
      message.textContent = 'Processing...';
      fetch(actions.dataset.completeUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ result: button.dataset.result })
      }).then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + res.status);
          status.textContent = body.status;
          message.textContent = body.status === 'PAID'
            ? 'Payment succeeded. The sandbox now notifies the payment center, which delivers the goods to the game (watch the order in the Temporal UI).'
            : 'Payment failed; you may try again until the order expires.';
          setDisabled(body.status === 'PAID');
        });
      }).catch(function (err) {
        message.textContent = 'Error: ' + err.message;
      });
    });
  });
})();
</script>`,
  );
}

function page(title: string, content: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; background: #f3f4f6; margin: 0; padding: 2rem 1rem; color: #111827; }
  main { max-width: 28rem; margin: 0 auto; background: #fff; border-radius: .75rem; padding: 1.5rem; box-shadow: 0 1px 3px rgba(0,0,0,.15); }
  .badge { display: inline-block; font-size: .75rem; background: #fef3c7; color: #92400e; padding: .1rem .5rem; border-radius: 1rem; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: .5rem 1rem; }
  dt { color: #6b7280; } dd { margin: 0; overflow-wrap: anywhere; }
  .amount { font-size: 1.5rem; font-weight: 600; }
  .actions { display: flex; gap: .75rem; }
  button { flex: 1; padding: .75rem; font-size: 1rem; border: 0; border-radius: .5rem; color: #fff; cursor: pointer; }
  button.pay { background: #059669; } button.fail { background: #dc2626; }
  button:disabled { opacity: .4; cursor: not-allowed; }
  .note { color: #374151; font-size: .9rem; }
</style>
</head>
<body><main>
<span class="badge">SANDBOX</span>
<h1>${escapeHtml(title)}</h1>
${content}
</main></body>
</html>`;
}
