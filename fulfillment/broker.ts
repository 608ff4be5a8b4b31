import { randomBytes } from 'node:crypto';
import { signedHeaders } from '../domain/signature';
import { describeFailure } from '../infra/egress';
import type { GameServerAnswer, GameServerCall } from './types';

/**
 * What the broker transports share: the message signed as a call to us is (METHOD `PUBLISH`, PATH the
 * subject or `<exchange>/<routingKey>`), afresh on each publish, and a publish bounded by the call's
 * timeout whose failure is a failed attempt, retried like an unreachable game server.
 */
export function signedMessage(call: GameServerCall, path: string): { body: Buffer; headers: Record<string, string> } {
  const body = JSON.stringify(call.payload);
  const nonce = randomBytes(16).toString('hex');
  return { body: Buffer.from(body), headers: signedHeaders(call.secret, call.gameId, 'PUBLISH', path, body, nonce, Math.floor(Date.now() / 1000)) };
}

class PublishTimeout extends Error {}

/** Runs the publish within the call's timeout (and the worker's cancellation); sorts a failure into a RETRY. */
export async function publishWithin(call: GameServerCall, broker: string, publish: () => Promise<void>): Promise<GameServerAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const limits = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PublishTimeout()), call.timeoutMs);
    call.signal?.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
  });
  try {
    await Promise.race([publish(), limits]);
    return { outcome: 'PUBLISHED' };
  } catch (err) {
    if (err instanceof PublishTimeout) return { outcome: 'RETRY', reason: 'TIMEOUT', error: `${broker} did not confirm the publish within ${call.timeoutMs} ms` };
    return { outcome: 'RETRY', reason: 'UNREACHABLE', error: `${broker} unreachable: ${describeFailure(err)}` };
  } finally {
    clearTimeout(timer);
  }
}
