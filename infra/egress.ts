import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, fetch as undiciFetch, type RequestInit, type Response } from 'undici';
import { refusedAddress, refusedUrl, type EgressPolicy } from '../domain/egress';
import type { Config } from './config';

/**
 * The one door for outbound calls (game servers, payment channels, the sandbox notifier): the URL is
 * judged before sending (scheme, credentials, literal IPs) and every address a name resolves to is
 * judged again inside the connection's own lookup, so what is checked is what is connected to (no
 * check-then-connect race, no DNS rebinding). Redirects are never followed; answers are read to a bound.
 */

/** What any answer we read into memory may weigh (statements are streamed and bounded by their reader). */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** The call was not sent: the guard refused its URL or every address its host resolves to. */
export class EgressRefused extends Error {
  readonly code = 'EGRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'EgressRefused';
  }
}

/** The answer was longer than the bound; the rest was not read (the connection is dropped). */
export class AnswerTooLarge extends Error {
  constructor(readonly limitBytes: number) {
    super(`the answer is larger than ${limitBytes} bytes`);
    this.name = 'AnswerTooLarge';
  }
}

export interface Egress {
  readonly policy: EgressPolicy;
  /** `fetch`, through the guard, never following redirects (a 3xx is answered as it is). */
  fetch(url: string | URL, init?: Omit<RequestInit, 'redirect' | 'dispatcher'>): Promise<Response>;
}

export type EgressSettings = Pick<Config, 'EGRESS_ALLOW_PRIVATE_NETWORKS' | 'EGRESS_ALLOW_HTTP'>;

export function egressPolicy(config: EgressSettings): EgressPolicy {
  return { allowPrivateNetworks: config.EGRESS_ALLOW_PRIVATE_NETWORKS, allowHttp: config.EGRESS_ALLOW_HTTP };
}

export function createEgress(policy: EgressPolicy): Egress {
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(policy) } });
  return {
    policy,
    async fetch(url, init) {
      const refused = refusedUrl(url, policy);
      if (refused) throw new EgressRefused(`outbound call refused: ${refused}`);
      return undiciFetch(url, { ...init, redirect: 'manual', dispatcher });
    },
  };
}

/** Resolves as the system does, then keeps only the addresses the policy allows. */
function guardedLookup(policy: EgressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const allowed = addresses.filter((a) => !refusedAddress(a.address, policy));
      if (allowed.length === 0) {
        const why = addresses.length ? refusedAddress(addresses[0]!.address, policy) : 'no address';
        return callback(new EgressRefused(`outbound call refused: ${hostname} resolves to ${why}`), '', 0);
      }
      // net asks for every address (happy eyeballs) or for one, depending on its options.
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/**
 * Reads a body up to `limitBytes`, and throws AnswerTooLarge (cancelling the stream, which drops the
 * connection) as soon as it is past it: a huge answer costs at most the bound in memory.
 */
export async function readBounded(response: Pick<Response, 'body' | 'headers'>, limitBytes = MAX_ANSWER_BYTES): Promise<Buffer> {
  const body = response.body;
  if (!body) return Buffer.alloc(0);
  if (Number(response.headers.get('content-length') ?? 0) > limitBytes) {
    await body.cancel();
    throw new AnswerTooLarge(limitBytes);
  }
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks);
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel();
      throw new AnswerTooLarge(limitBytes);
    }
    chunks.push(value);
  }
}

/** fetch hides the network reason (and the guard's refusal) in `cause`; duck-typed, errors may come from another realm. */
export function describeFailure(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: { message?: unknown; code?: unknown } };
  const reason = cause?.code || cause?.message;
  return `${typeof message === 'string' ? message : String(err)}${reason ? ` (${String(reason)})` : ''}`;
}
