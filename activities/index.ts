import type { ActivityDeps } from './deps';
import { createDeliveryActivities } from './delivery';
import { createOrderActivities } from './orders';
import { createPaymentActivities } from './payments';
import { createRiskActivities } from './risk';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createOrderActivities(deps),
    ...createRiskActivities(deps),
    ...createPaymentActivities(deps),
    ...createDeliveryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
