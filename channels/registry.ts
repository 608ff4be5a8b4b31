import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { createSandboxChannel } from './sandbox';
import type { ChannelAdapter } from './types';

export interface ChannelRegistry {
  get(name: string): ChannelAdapter | undefined;
  names(): string[];
}

/** The channels this deployment accepts payments through, from configuration. */
export function createChannelRegistry(deps: { db: Db; config: Config }): ChannelRegistry {
  const adapters = new Map<string, ChannelAdapter>();
  if (deps.config.SANDBOX_ENABLED) {
    const sandbox = createSandboxChannel(deps);
    adapters.set(sandbox.name, sandbox);
  }
  return {
    get: (name) => adapters.get(name),
    names: () => [...adapters.keys()],
  };
}
