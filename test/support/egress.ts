import { createEgress } from '../../infra/egress';

/** The guard as tests run it: local fakes listen on 127.0.0.1 over plain http. */
export const localEgress = createEgress({ allowPrivateNetworks: true, allowHttp: true });
