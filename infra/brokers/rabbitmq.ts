import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

/**
 * RabbitMQ, connected on first use. A closed connection or channel (broker restart, a channel error)
 * is opened again on the next use.
 */
export interface RabbitBroker {
  /** A channel with publisher confirms, shared by this process's publishers. */
  confirmChannel(): Promise<ConfirmChannel>;
  close(): Promise<void>;
}

export function rabbitBroker(url: string): RabbitBroker {
  let connection: Promise<ChannelModel> | undefined;
  let channel: Promise<ConfirmChannel> | undefined;
  let closed = false;

  const connected = (): Promise<ChannelModel> => {
    connection ??= connect(url).then(
      (conn) => {
        conn.on('error', () => undefined);
        conn.on('close', () => {
          connection = undefined;
          channel = undefined;
        });
        return conn;
      },
      (err: unknown) => {
        connection = undefined;
        throw err;
      },
    );
    return connection;
  };

  return {
    confirmChannel() {
      if (closed) return Promise.reject(new Error('RabbitMQ broker closed'));
      channel ??= connected()
        .then((conn) => conn.createConfirmChannel())
        .then(
          (ch) => {
            ch.on('error', () => undefined);
            ch.on('close', () => {
              channel = undefined;
            });
            return ch;
          },
          (err: unknown) => {
            channel = undefined;
            throw err;
          },
        );
      return channel;
    },
    async close() {
      closed = true;
      const current = connection;
      connection = undefined;
      channel = undefined;
      const conn = await current?.catch(() => undefined);
      await conn?.close().catch(() => undefined);
    },
  };
}
