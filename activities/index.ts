import { createChannelAttemptActivities } from './channel-attempts';
import { createConsumptionActivities } from './consumption';
import type { ActivityDeps } from './deps';
import { createDeliveryActivities } from './delivery';
import { createFinanceActivities } from './finance';
import { guardActivities } from './guard';
import { createMonthlyCardActivities } from './monthly-cards';
import { observedChannels } from './observed-channels';
import { createOrderActivities } from './orders';
import { createPaymentActivities } from './payments';
import { createReversalActivities } from './reversals';
import { createRiskActivities } from './risk';
import { createStoreSweepActivities } from './store-sweeps';

export type { ActivityDeps } from './deps';

export function createActivities(given: ActivityDeps) {
  // Every channel call an activity makes feeds its account's breaker.
  const deps = given.health ? { ...given, channels: observedChannels(given.channels, given.health) } : given;
  const activities = {
    ...createOrderActivities(deps),
    ...createRiskActivities(deps),
    ...createPaymentActivities(deps),
    ...createChannelAttemptActivities(deps),
    ...createDeliveryActivities(deps),
    ...createReversalActivities(deps),
    ...createFinanceActivities(deps),
    ...createMonthlyCardActivities(deps),
    ...createStoreSweepActivities(deps),
    ...createConsumptionActivities(deps),
  };
  return guardActivities(activities, deps.database.sql);
}

export type Activities = ReturnType<typeof createActivities>;
