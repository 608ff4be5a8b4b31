import { refusedUrl } from '../../domain/egress';
import { egressPolicy, type EgressSettings } from '../../infra/egress';
import { ApiError } from '../errors';

/**
 * Configured URLs we will call (a game's deliveryUrl, a channel account's base URL) are judged by the
 * egress guard's rules when written; the guard judges them again, with DNS, on every call.
 */
export function assertOutboundUrls(config: EgressSettings, urls: Record<string, string | null | undefined>): void {
  const policy = egressPolicy(config);
  const issues = Object.entries(urls).flatMap(([path, url]) => {
    const refused = url ? refusedUrl(url, policy) : undefined;
    return refused ? [{ path, message: `not allowed for outbound calls: ${refused}` }] : [];
  });
  if (issues.length > 0) throw new ApiError(400, 'VALIDATION_ERROR', 'a URL is not allowed for outbound calls', { issues });
}
