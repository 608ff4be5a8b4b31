import type { ChannelRegistry } from '../channels/registry';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';

/** What activities depend on; built once by the worker (or a test) and closed over. */
export interface ActivityDeps {
  database: Database;
  channels: ChannelRegistry;
  config: Config;
}
