import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { natsBroker } from '../../../infra/brokers/nats';
import { ManagedProcess, freePort } from '../../../bench/lib/launcher';
import { DrillNatsServer } from '../../../bench/lib/nats-server';
import { CuttableTcpProxy } from '../../../bench/lib/tcp-proxy';

/** Whether a TCP connection to `port` is accepted and stays open for a moment. */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => setTimeout(() => resolve(!socket.destroyed), 100));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

describe("the drills' own broker and proxy, and their verdict on product processes", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drill-parts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("restarts its nats-server on the same store: the stream and its duplicate window survive", async () => {
    const server = new DrillNatsServer(await freePort(), path.join(dir, 'store'), path.join(dir, 'nats.log'));
    await server.start();
    const nats = natsBroker(server.url);
    try {
      await nats.ensureStream({ name: 'DRILL_PARTS', subjects: ['drill-parts.>'], maxAgeMs: 60_000 });
      expect(await (await nats.jetstream()).publish('drill-parts.a', 'x', { msgID: 'm1' })).toMatchObject({ seq: 1, duplicate: false });
      await server.restart(200);
      let ack;
      for (let i = 0; !ack && i < 50; i++) ack = await (await nats.jetstream()).publish('drill-parts.a', 'x', { msgID: 'm1', timeout: 1_000 }).catch(() => sleep(200).then(() => undefined));
      expect(ack).toMatchObject({ seq: 1, duplicate: true });
    } finally {
      await nats.close();
      await server.stop();
    }
  }, 60_000);

  it('cuts every connection through the proxy and refuses new ones until restored', async () => {
    const server = new DrillNatsServer(await freePort(), path.join(dir, 'store2'), path.join(dir, 'nats2.log'));
    await server.start();
    const proxy = new CuttableTcpProxy({ host: '127.0.0.1', port: server.port }, await freePort());
    await proxy.start();
    try {
      const open = connect(proxy.port, '127.0.0.1');
      const closed = new Promise((resolve) => open.once('close', resolve));
      open.on('error', () => undefined);
      expect(await connects(proxy.port)).toBe(true);
      await proxy.cutOff();
      await closed;
      expect(await connects(proxy.port)).toBe(false);
      await proxy.restore();
      expect(await connects(proxy.port)).toBe(true);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  }, 30_000);

  it('tells the exits a drill caused from those it did not', async () => {
    const crashing = new ManagedProcess('crashing', ['-e', 'process.exit(3)'], process.env, path.join(dir, 'crashing.log'));
    crashing.start();
    for (let i = 0; crashing.exits.length === 0 && i < 100; i++) await sleep(50);
    expect(crashing.unexpectedExits()).toEqual([expect.objectContaining({ code: 3, expected: false })]);

    const killed = new ManagedProcess('killed', ['-e', 'setInterval(() => undefined, 1000)'], process.env, path.join(dir, 'killed.log'));
    killed.start();
    await killed.kill('SIGKILL');
    expect(killed.exits).toEqual([expect.objectContaining({ signal: 'SIGKILL', expected: true })]);
    expect(killed.unexpectedExits()).toEqual([]);
  });
});
