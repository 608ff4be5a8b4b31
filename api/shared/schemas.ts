import { z } from 'zod';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../../domain/money';
import { ORDER_STATUSES } from '../../domain/orders/status';
import { ANY_REGION } from '../../domain/catalog/pricing';

// Schemas every resource shares. `.meta()` only documents (the OpenAPI fragments render it): it never
// changes what a schema accepts.

export const id = z.string().trim().min(1).max(128);
export const region = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as CN or US');
export const currency = z.string().regex(CURRENCY_PATTERN, 'an ISO 4217 code such as CNY');
export const minorUnits = 'integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120)';

export const grant = z.object({ itemId: id, quantity: z.number().int().min(1).max(1_000_000) });
export const price = z.object({
  region: z
    .union([region, z.literal(ANY_REGION)])
    .meta({ description: `ISO 3166-1 alpha-2, or "${ANY_REGION}" for every other region` }),
  currency,
  amount: z.number().int().min(1).max(MAX_ORDER_AMOUNT).meta({ description: minorUnits }),
});

export const timestamp = z.iso.datetime();

export const money = z
  .strictObject({ currency, value: z.number().int().min(0).meta({ description: minorUnits }) })
  .meta({ id: 'Money' });
export const orderStatus = z.enum(ORDER_STATUSES).meta({ id: 'OrderStatus' });

/** The error envelope, narrowed to the codes one response can carry. */
export function errorEnvelope(codes: readonly [string, ...string[]]) {
  return z.strictObject({
    error: z.strictObject({
      code: z.enum(codes),
      message: z.string(),
      details: z.unknown().optional().meta({ description: 'context such as the validation issues or the orderId' }),
    }),
  });
}
