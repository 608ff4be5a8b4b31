import { randomBytes } from 'node:crypto';
import { signedHeaders } from '../domain/signature';
import { AnswerTooLarge, EgressRefused, describeFailure, readBounded, type Egress } from '../infra/egress';
import type { GameServerAnswer, GameServerCall, TransportDefinition } from './types';

/**
 * A game-server call as a signed HTTP POST (see domain/signature.ts): a fresh nonce and timestamp per
 * attempt, redirects never followed (a 3xx is a failed attempt, its Location recorded), the answer
 * read to the egress bound and otherwise ignored.
 */
export const httpTransport: TransportDefinition = {
  name: 'http',
  mode: 'HTTP',
  protocols: ['http:', 'https:'],
  create: ({ egress }) => ({ send: (call) => sendSigned(egress, call) }),
};

async function sendSigned(egress: Egress, call: GameServerCall): Promise<GameServerAnswer> {
  const body = JSON.stringify(call.payload);
  const url = new URL(call.url);
  const nonce = randomBytes(16).toString('hex');
  const headers = signedHeaders(call.secret, call.gameId, 'POST', url.pathname + url.search, body, nonce, Math.floor(Date.now() / 1000));
  const timeout = AbortSignal.timeout(call.timeoutMs);
  let statusCode: number | undefined;
  try {
    const response = await egress.fetch(url, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body,
      signal: call.signal ? AbortSignal.any([call.signal, timeout]) : timeout,
    });
    statusCode = response.status;
    return classify(statusCode, response.headers.get('location'), await readBounded(response), call.expectEcho);
  } catch (err) {
    return failedAttempt(err, call, statusCode, timeout);
  }
}

/** What a read answer means: only a 2xx (echoing what the call expects) grants. */
function classify(statusCode: number, location: string | null, answer: Buffer, expectEcho: Record<string, string> | undefined): GameServerAnswer {
  if (statusCode >= 200 && statusCode < 300) {
    const missing = missingEcho(answer, expectEcho);
    if (missing) return { outcome: 'RETRY', reason: 'NO_ECHO', statusCode, error: `game server answered ${statusCode} without echoing ${missing}` };
    return { outcome: 'GRANTED', statusCode };
  }
  if (statusCode >= 300 && statusCode < 400) {
    const target = withoutQuery(location);
    return {
      outcome: 'RETRY',
      reason: 'REDIRECT',
      statusCode,
      ...(target && { location: target }),
      error: `game server answered ${statusCode} (redirect to ${target ?? 'nowhere'}; redirects are not followed)`,
    };
  }
  return { outcome: 'RETRY', reason: 'STATUS', statusCode, error: `game server answered ${statusCode}` };
}

function failedAttempt(err: unknown, call: GameServerCall, statusCode: number | undefined, timeout: AbortSignal): GameServerAnswer {
  const status = statusCode === undefined ? {} : { statusCode };
  if (err instanceof AnswerTooLarge) {
    return { outcome: 'RETRY', reason: 'ANSWER_TOO_LARGE', ...status, error: `game server answered ${statusCode}, and ${err.message}` };
  }
  const refused = err instanceof EgressRefused ? err : (err as { cause?: unknown })?.cause;
  if (refused instanceof EgressRefused) return { outcome: 'RETRY', reason: 'EGRESS_REFUSED', error: refused.message };
  if (timeout.aborted) {
    return { outcome: 'RETRY', reason: 'TIMEOUT', ...status, error: `game server gave no answer within ${call.timeoutMs} ms` };
  }
  return { outcome: 'RETRY', reason: 'UNREACHABLE', ...status, error: `game server unreachable: ${describeFailure(err)}` };
}

/** The first expected field the JSON answer does not echo, if any. */
function missingEcho(answer: Buffer, expected: Record<string, string> | undefined): string | undefined {
  if (!expected) return undefined;
  let echoed: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(answer.toString('utf8'));
    if (parsed && typeof parsed === 'object') echoed = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: echoes nothing.
  }
  return Object.keys(expected).find((field) => echoed[field] !== expected[field]);
}

/** A Location may carry tokens in its query: recorded without it. */
function withoutQuery(location: string | null): string | undefined {
  if (!location) return undefined;
  const cut = location.search(/[?#]/);
  return cut === -1 ? location : location.slice(0, cut);
}
