import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * The address in front of several API processes, as a load balancer is in production: each new TCP
 * connection goes to the next API in turn, and to the one after it when that one refuses (a killed
 * API). The deployment's PUBLIC_BASE_URL (channel callbacks, the sandbox's merchant API, checkout
 * links) points here; the benchmark's clients call the APIs directly and spread themselves.
 */
export class TcpBalancer {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private next = 0;
  port = 0;

  constructor(
    private readonly upstreamPorts: number[],
    private readonly listenPort = 0,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
  }

  private accept(client: Socket) {
    client.pause();
    this.track(client);
    const first = this.next++ % this.upstreamPorts.length;
    const tryUpstream = (attempt: number) => {
      if (attempt >= this.upstreamPorts.length) {
        client.destroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPorts[(first + attempt) % this.upstreamPorts.length]! });
      let connected = false;
      upstream.on('error', () => {
        // Refused: the next API gets the connection; once connected, the client sees the reset.
        if (connected) client.destroy();
        else tryUpstream(attempt + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        this.track(upstream);
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).on('error', () => undefined);
        upstream.pipe(client).on('error', () => undefined);
        client.once('close', () => upstream.destroy());
        upstream.once('close', () => client.destroy());
        client.resume();
      });
    };
    tryUpstream(0);
  }

  private track(socket: Socket) {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
