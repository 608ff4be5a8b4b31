import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy of the drills between our processes and a service (PostgreSQL, RabbitMQ): it can cut
 * the service off — every open connection reset, new ones refused — and restore it, without touching
 * the service itself. `onClientData` sees what clients send (PgProxy counts statements with it).
 */
export class CuttableTcpProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  port = 0;

  constructor(
    private readonly upstream: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port || this.listenPort, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The service "goes away": open connections are reset and new ones refused until restore(). */
  async cutOff(): Promise<void> {
    this.cut = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  async restore(): Promise<void> {
    this.cut = false;
    await this.start();
  }

  get isCut() {
    return this.cut;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => (this.server?.listening ? this.server.close(() => resolve()) : resolve()));
  }

  /** A new connection's client-side reader (none: bytes are passed on unread). */
  protected onClientData(): ((chunk: Buffer) => void) | undefined {
    return undefined;
  }

  private accept(client: Socket) {
    if (this.cut) {
      client.resetAndDestroy();
      return;
    }
    const server = createConnection(this.upstream);
    this.sockets.add(client);
    this.sockets.add(server);
    const read = this.onClientData();
    client.on('data', (chunk: Buffer) => {
      read?.(chunk);
      server.write(chunk);
    });
    server.pipe(client);
    const close = () => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  }
}
