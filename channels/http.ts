import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
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

export function createChannelHttp(options: { timeoutMs: number; fetchImpl?: typeof fetch } = { timeoutMs: 10_000 }): ChannelHttp {
  const doFetch = options.fetchImpl ?? fetch;
  return {
    async send({ method, url, headers, body, timeoutMs }) {
      const limit = timeoutMs ?? options.timeoutMs;
      let res: Response;
      let bytes: Buffer;
      try {
        res = await doFetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
          redirect: 'manual',
          signal: AbortSignal.timeout(limit),
        });
        bytes = Buffer.from(await res.arrayBuffer());
      } catch (err) {
        const name = (err as Error)?.name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          throw transientError('TIMEOUT', `${method} ${redact(url)}: no answer within ${limit} ms`);
        }
        throw transientError('NETWORK', `${method} ${redact(url)}: ${describe(err)}`);
      }
      if (res.status >= 500 || res.status === 429) {
        throw transientError(`HTTP_${res.status}`, `${method} ${redact(url)}: HTTP ${res.status} ${bytes.toString('utf8', 0, 200)}`);
      }
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

    async stream({ method, url, headers, body, timeoutMs }) {
      const limit = timeoutMs ?? options.timeoutMs;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new DOMException('no answer in time', 'TimeoutError')), limit);
      let res: Response;
      try {
        res = await doFetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : typeof body === 'string' ? body : new Uint8Array(body),
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (err) {
        const name = (err as Error)?.name;
        if (name === 'TimeoutError' || name === 'AbortError') {
          throw transientError('TIMEOUT', `${method} ${redact(url)}: no answer within ${limit} ms`);
        }
        throw transientError('NETWORK', `${method} ${redact(url)}: ${describe(err)}`);
      } finally {
        clearTimeout(timer);
      }
      if (res.status >= 500 || res.status === 429) {
        const text = Buffer.from(await res.arrayBuffer()).toString('utf8', 0, 200);
        throw transientError(`HTTP_${res.status}`, `${method} ${redact(url)}: HTTP ${res.status} ${text}`);
      }
      const stream = res.body ? Readable.fromWeb(res.body as NodeWebReadableStream) : Readable.from([]);
      return { status: res.status, headers: res.headers, body: stream };
    },
  };
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

/** fetch hides the network reason in `cause`. */
function describe(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: { message?: unknown; code?: unknown } };
  const reason = cause?.code || cause?.message;
  return `${typeof message === 'string' ? message : String(err)}${reason ? ` (${String(reason)})` : ''}`;
}
