import type { ChannelRegistry } from '../channels/registry';
import type { Config } from '../infra/config';
import type { ConfigChanges } from '../infra/config-changes';
import type { Database } from '../infra/db';
import type { ChannelHealthStore } from '../store/channel-health';
import type { RiskCounters } from '../store/risk-counters';

/** What activities depend on; built once by the worker (or a test) and closed over. */
export interface ActivityDeps {
  database: Database;
  channels: ChannelRegistry;
  config: Config;
  /** Where every channel call's outcome goes (the circuit breakers, shared by every process); the worker always sets it. */
  health?: ChannelHealthStore;
  /** Configuration changes made through any process (risk rules); absent: reloaded every second. */
  changes?: ConfigChanges;
  /**
   * Where risk counts windows and minors' holds (Redis with REDIS_URL: the worker opens it once);
   * absent: PostgreSQL, whose compensations give holds back in their own statements.
   */
  riskCounters?: RiskCounters;
}
