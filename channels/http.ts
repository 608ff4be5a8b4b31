import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { Response } from 'undici';
import { AnswerTooLarge, EgressRefused, describeFailure, readBounded, type Egress } from '../infra/egress';
/**
 * The HTTP client every channel adapter uses to call its provider: a timeout on every call, and
 * failures sorted into the two kinds the workflows act on — transient (network, timeout, 5xx, 429:
 * retried with backoff) and final (the channel refused: not retried).
 */

export type ChannelFailureKind = 'TRANSIENT' | 'FINAL';

export class ChannelError extends Error {
  constructor(
    readonly kind: ChannelFailureKind,
    /** The channel's own error code when it gave one, else ours (`TIMEOUT`, `NETWORK`, `HTTP_503`...). */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelError';
  }

  get transient(): boolean {
    return this.kind === 'TRANSIENT';
  }
}

export const transientError = (code: string, message: string) => new ChannelError('TRANSIENT', code, message);
export const finalError = (code: string, message: string) => new ChannelError('FINAL', code, message);

export interface ChannelRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Overrides the client's default timeout for this call. */
  timeoutMs?: number;
  /** Overrides the bound of the answer's size (e.g. a page of 20 signed notifications with their chains). */
  maxAnswerBytes?: number;
}

export interface ChannelResponse {
  status: number;
  headers: Headers;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export interface ChannelHttp {
  /**
   * Sends the request; answers every response below 500 except 429 (the adapter reads the channel's
   * verdict in it) and throws a TRANSIENT ChannelError for the rest and for network failures.
   */
  send(request: ChannelRequest): Promise<ChannelResponse>;
  /**
   * The same for a large download (a statement): the answer's body as a stream, read as it arrives.
   * The timeout covers the wait for the answer's headers; the reader bounds the rest. Optional:
   * `streamOf` falls back to `send` (the whole body in memory) for clients without it.
   */
  stream?(request: ChannelRequest): Promise<ChannelStreamResponse>;
}

export interface ChannelStreamResponse {
  status: number;
  headers: Headers;
  body: Readable;
}

export interface ChannelHttpOptions {
  timeoutMs: number;
  /** Every channel call goes through the egress guard (infra/egress.ts). */
  egress: Egress;
}

export function createChannelHttp({ timeoutMs: defaultTimeoutMs, egress }: ChannelHttpOptions): ChannelHttp {
  /** Sends and waits for the answer's headers; network failures and refusals become ChannelErrors. */
  const answerOf = async ({ method, url, headers, body }: ChannelRequest, signal: AbortSignal, limit: number) => {
    try {
      return await egress.fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
        signal,
      });
    } catch (err) {
      throw failureOf(err, method, url, limit);
    }
  };
  // Only the status is recorded, never the channel's body (it may echo what we sent, and it reaches ops views).
  const refuseServerErrors = (res: Response, method: string, url: string) => {
    if (res.status >= 500 || res.status === 429) throw transientError(`HTTP_${res.status}`, `${method} ${redact(url)}: HTTP ${res.status}`);
  };
  return {
    async send(request) {
      const { method, url } = request;
      const limit = request.timeoutMs ?? defaultTimeoutMs;
      const signal = AbortSignal.timeout(limit);
      const res = await answerOf(request, signal, limit);
      let bytes: Buffer;
      try {
        bytes = await readBounded(res, request.maxAnswerBytes);
      } catch (err) {
        if (err instanceof AnswerTooLarge) throw transientError('ANSWER_TOO_LARGE', `${method} ${redact(url)}: ${err.message}`);
        throw failureOf(err, method, url, limit);
      }
      refuseServerErrors(res, method, url);
      return {
        status: res.status,
        headers: res.headers,
        body: bytes,
        text: () => bytes.toString('utf8'),
        json: <T>() => {
          try {
            return JSON.parse(bytes.toString('utf8')) as T;
          } catch {
            throw transientError('BAD_RESPONSE', `${method} ${redact(url)}: the answer is not JSON`);
          }
        },
      };
    },

    async stream(request) {
      const { method, url } = request;
      const limit = request.timeoutMs ?? defaultTimeoutMs;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException('no answer in time', 'TimeoutError')), limit);
      let res: Response;
      try {
        res = await answerOf(request, controller.signal, limit);
      } finally {
        clearTimeout(timer);
      }
      if (res.status >= 500 || res.status === 429) await res.body?.cancel();
      refuseServerErrors(res, method, url);
      const stream = res.body ? Readable.fromWeb(res.body as NodeWebReadableStream) : Readable.from([]);
      return { status: res.status, headers: res.headers, body: stream };
    },
  };
}

function failureOf(err: unknown, method: string, url: string, limit: number): ChannelError {
  const refused = err instanceof EgressRefused ? err : (err as { cause?: unknown })?.cause;
  // A URL the guard refuses stays refused: the account's configuration must change.
  if (refused instanceof EgressRefused) return finalError('EGRESS_REFUSED', `${method} ${redact(url)}: ${refused.message}`);
  const name = (err as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return transientError('TIMEOUT', `${method} ${redact(url)}: no answer within ${limit} ms`);
  return transientError('NETWORK', `${method} ${redact(url)}: ${describeFailure(err)}`);
}

/** A download as a stream, through `http.stream` where the client has it. */
export async function streamOf(http: ChannelHttp, request: ChannelRequest): Promise<ChannelStreamResponse> {
  if (http.stream) return http.stream(request);
  const res = await http.send(request);
  return { status: res.status, headers: res.headers, body: Readable.from([res.body]) };
}

/** Query strings of channel calls may carry signatures: never in an error message. */
function redact(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
