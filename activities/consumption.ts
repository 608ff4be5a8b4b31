import { ChannelError } from '../channels/http';
import {
  CONSUMPTION_SETTINGS_OFF,
  consumptionDeadline,
  decideConsumptionAnswer,
  type ConsumptionOutcome,
  type ConsumptionSettings,
} from '../domain/stores/consumption';
import { businessMetrics } from '../infra/metrics';
import { closeConsumptionRequest, consumptionOrderFacts, recordConsumptionRequest } from '../store/consumption-requests';
import type { ConsumptionRequestInput } from '../workflows/contract';
import type { ActivityDeps } from './deps';
import { configuredAdapter } from './payments';

/**
 * Answers to store consumption requests: the request kept (once per transaction), the facts of its
 * order gathered, the answer decided by `decideConsumptionAnswer`, sent (a 5xx or 429 is retried by the
 * workflow until the deadline) and recorded with its outcome.
 */
export function createConsumptionActivities({ database, channels }: ActivityDeps) {
  const { sql } = database;

  const close = async (request: ConsumptionRequestInput, outcome: ConsumptionOutcome, extra: { body?: unknown; error?: string } = {}) => {
    if (await closeConsumptionRequest(sql, request.channel, request.transactionId, { outcome, ...extra })) {
      businessMetrics.consumptionRequest(request.channel, outcome, (Date.now() - Date.parse(request.signedDate)) / 1000);
    }
    return outcome;
  };

  return {
    async recordConsumptionRequest(request: ConsumptionRequestInput): Promise<void> {
      await recordConsumptionRequest(sql, {
        channel: request.channel,
        transactionId: request.transactionId,
        orderId: request.orderId ?? null,
        reason: request.reason ?? null,
        signedDate: request.signedDate,
        deadline: consumptionDeadline(request.signedDate).toISOString(),
        source: request.source,
      });
    },

    async answerConsumptionRequest(request: ConsumptionRequestInput): Promise<ConsumptionOutcome> {
      const facts = request.orderId ? await consumptionOrderFacts(sql, request.channel, request.orderId) : undefined;
      const decision = decideConsumptionAnswer({
        order: facts && {
          status: facts.status,
          statusReason: facts.statusReason,
          deliveredAt: facts.deliveredAt,
          failedDeliveryAttempts: facts.deliveredAt === null ? facts.deliveryAttempts : Math.max(0, facts.deliveryAttempts - 1),
          consumptionDataConsent: facts.consumptionDataConsent,
          grantLog: { gameSendsLogs: facts.gameSendsLogs, granted: facts.granted, consumptionPercentage: facts.consumptionPercentage },
        },
        settings: (facts?.consumptionAnswers as ConsumptionSettings | null) ?? CONSUMPTION_SETTINGS_OFF,
      });
      if (decision.outcome !== 'SEND') return close(request, decision.outcome);
      const adapter = configuredAdapter(channels, request.channel);
      if (!adapter.sendConsumptionInformation) return close(request, 'FAILED', { error: `channel ${request.channel} takes no consumption information` });
      try {
        await adapter.sendConsumptionInformation(request.transactionId, decision.body);
      } catch (err) {
        // Transient (5xx, 429, network): thrown, retried until the deadline; final: recorded FAILED with what was sent.
        if (err instanceof ChannelError && !err.transient) return close(request, 'FAILED', { body: decision.body, error: `${err.code}: ${err.message}` });
        throw err;
      }
      return close(request, 'SENT', { body: decision.body });
    },

    /** The deadline passed without an answer (or the answer kept failing). */
    async closeConsumptionRequest(params: { request: ConsumptionRequestInput; outcome: 'MISSED' | 'FAILED'; error?: string }): Promise<void> {
      await close(params.request, params.outcome, params.error === undefined ? {} : { error: params.error });
    },
  };
}
