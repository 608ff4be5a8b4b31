import { z } from 'zod';
import { CURRENCY_PATTERN, MAX_ORDER_AMOUNT } from '../../domain/money';
import { ORDER_STATUSES } from '../../domain/orders/status';
import { ANY_REGION } from '../../domain/catalog/pricing';

// Schemas every resource shares. `.meta()` only documents (the OpenAPI fragments render it): it never
// changes what a schema accepts.

/**
 * Text PostgreSQL can store and people can read: no NUL or other control characters, no unpaired
 * UTF-16 surrogates (a lone surrogate cannot be encoded as UTF-8), and a maximum length. Every string
 * the API takes goes through one of these, so the database never sees input it cannot store.
 */
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
export function isStorableText(value: string): boolean {
  return !CONTROL.test(value) && !LONE_SURROGATE.test(value);
}
export const text = (max: number) =>
  z.string().max(max).refine(isStorableText, 'must be printable text (no control characters or unpaired surrogates)');

/** A caller's own identifier (user, device, item of a game): 1-128 printable characters, trimmed. */
export const id = text(128).trim().min(1);
/** Our identifiers in paths (games, skus, channel accounts): letters, digits and `._:-`, not starting with a dot. */
export const slug = (max: number) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_][A-Za-z0-9._:-]{0,${max - 1}}$`), `letters, digits and ._:- (at most ${max}), not starting with a dot`);
/** Header values are ASCII on the wire; these allow its printable part only. */
export const printableAscii = (min: number, max: number) =>
  z.string().regex(new RegExp(`^[\\x21-\\x7e]{${min},${max}}$`), `${min}-${max} printable ASCII characters without spaces`);
export const region = z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 code such as CN or US');
export const currency = z.string().regex(CURRENCY_PATTERN, 'an ISO 4217 code such as CNY');
export const minorUnits = 'integer minor units of the currency (600 CNY = ¥6.00, 99 USD = $0.99, 120 JPY = ¥120)';

export const grant = z.strictObject({ itemId: id, quantity: z.number().int().min(1).max(1_000_000) });
export const price = z.strictObject({
  region: z
    .union([region, z.literal(ANY_REGION)])
    .meta({ description: `ISO 3166-1 alpha-2, or "${ANY_REGION}" for every other region` }),
  currency,
  amount: z.number().int().min(1).max(MAX_ORDER_AMOUNT).meta({ description: minorUnits }),
});

export const timestamp = z.iso.datetime();

export const money = z
  .strictObject({ currency, value: z.number().int().min(0).meta({ description: minorUnits }) })
  .meta({ id: 'Money', examples: [{ currency: 'CNY', value: 1200 }] });
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
