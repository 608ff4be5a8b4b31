import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { healthRouter } from '../../api/health/routes';
import { PurchasesClient } from '../../infra/temporal';
import { Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => (h = await Harness.start()));
afterAll(() => h?.close());

/** The health routes of an API whose purchases go to `taskQueue`. */
async function probe(path: string, taskQueue: string) {
  const purchases = new PurchasesClient(h.client, taskQueue, 1_000);
  const server: Server = createServer(express().use(healthRouter({ database: h.database, purchases })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } finally {
    server.close();
  }
}

describe('readiness', () => {
  it('is 200 when the database and Temporal answer and a worker polls the purchases task queue', async () => {
    expect(await probe('/readyz', h.config.TEMPORAL_TASK_QUEUE)).toEqual({
      status: 200,
      body: { ready: true, draining: false, database: true, temporal: true, worker: true },
    });
  });

  it('is 503 when no worker polls the task queue, while liveness stays 200', async () => {
    const nobodyPolls = `nobody-polls-${randomUUID()}`;
    expect(await probe('/readyz', nobodyPolls)).toEqual({
      status: 503,
      body: { ready: false, draining: false, database: true, temporal: true, worker: false },
    });
    expect((await probe('/healthz', nobodyPolls)).status).toBe(200);
  });
});
