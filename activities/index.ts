import type { ActivityDeps } from './deps';
import { createDeliveryActivities } from './delivery';
import { createFinanceActivities } from './finance';
import { guardActivities } from './guard';
import { createOrderActivities } from './orders';
import { createPaymentActivities } from './payments';
import { createReversalActivities } from './reversals';
import { createRiskActivities } from './risk';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  const activities = {
    ...createOrderActivities(deps),
    ...createRiskActivities(deps),
    ...createPaymentActivities(deps),
    ...createDeliveryActivities(deps),
    ...createReversalActivities(deps),
    ...createFinanceActivities(deps),
  };
  return guardActivities(activities, deps.database.sql);
}

export type Activities = ReturnType<typeof createActivities>;
