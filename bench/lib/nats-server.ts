import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { killedOnExit } from './launcher';

const READY_TIMEOUT_MS = 30_000;

/**
 * A drill's own `nats-server -js` on loopback (its port, its store directory under the drill's data
 * folder), so that a drill can stop and restart the broker without touching the machine's NATS.
 */
export class DrillNatsServer {
  private child?: ChildProcess;
  /** Restarts done (each a SIGTERM, then a start on the same port and store). */
  restarts = 0;

  constructor(
    readonly port: number,
    private readonly storeDir: string,
    private readonly logFile: string,
  ) {}

  get url() {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.storeDir, { recursive: true });
    const out = openSync(this.logFile, this.restarts ? 'a' : 'w');
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir];
    this.child = killedOnExit(spawn(process.env.NATS_SERVER_PATH ?? 'nats-server', args, { stdio: ['ignore', out, out] }));
    closeSync(out);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await listening(this.port))) {
      if (this.child.exitCode !== null) throw new Error(`nats-server exited while starting (code ${this.child.exitCode}); see ${this.logFile}`);
      if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${this.port} within ${READY_TIMEOUT_MS / 1000} s`);
      await sleep(100);
    }
  }

  /** Stops it (SIGTERM: JetStream flushes its store), keeps it down `downMs`, starts it again. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await sleep(downMs);
    this.restarts++;
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
