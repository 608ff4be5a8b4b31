import { z } from 'zod';

export const healthResponse = z.strictObject({ database: z.boolean(), temporal: z.boolean() });
export const readinessResponse = z.strictObject({
  ready: z.boolean(),
  draining: z.boolean().meta({ description: 'the process is shutting down' }),
  database: z.boolean(),
  temporal: z.boolean(),
  worker: z.boolean().meta({ description: 'a worker polls the purchases task queue' }),
});

