import type { ChannelRegistry } from '../channels/registry';
import type { Db, RunSql } from '../infra/db';
import type { Config } from '../infra/config';

/** What activities depend on; built once by the worker (or a test) and closed over. */
export interface ActivityDeps {
  db: Db;
  /** The purchase path's statements (see `openDatabase`). */
  sql: RunSql;
  channels: ChannelRegistry;
  config: Config;
}
