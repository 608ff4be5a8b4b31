import type { ChannelRegistry } from '../channels/registry';
import type { Db } from '../infra/db';
import type { Config } from '../infra/config';

/** What activities depend on; built once by the worker (or a test) and closed over. */
export interface ActivityDeps {
  db: Db;
  channels: ChannelRegistry;
  config: Config;
}
