import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

/**
 * The process's RabbitMQ connection (AMQP_URL) with one confirm channel, made on first use. A
 * connection or channel that closes (broker restart, channel error) is replaced on the next use; a
 * connect that fails fails that use only.
 */
export interface RabbitBroker {
  confirmChannel(): Promise<ConfirmChannel>;
  close(): Promise<void>;
}

/** How long connecting may take before the use that asked for it fails. */
const CONNECT_TIMEOUT_MS = 2_000;

export function rabbitBroker(url: string): RabbitBroker {
  let model: Promise<ChannelModel> | undefined;
  let channel: Promise<ConfirmChannel> | undefined;

  const connected = (): Promise<ChannelModel> => {
    model ??= connect(url, { timeout: CONNECT_TIMEOUT_MS }).then(
      (opened) => {
        const forget = () => {
          if (model === current) {
            model = undefined;
            channel = undefined;
          }
        };
        const current = model;
        opened.on('close', forget);
        // Without a listener an 'error' event would crash the process; 'close' follows it.
        opened.on('error', () => undefined);
        return opened;
      },
      (err: unknown) => {
        model = undefined;
        throw err;
      },
    );
    return model;
  };

  return {
    confirmChannel() {
      channel ??= connected().then(
        async (opened) => {
          const created = await opened.createConfirmChannel();
          const current = channel;
          created.on('close', () => {
            if (channel === current) channel = undefined;
          });
          created.on('error', () => undefined);
          return created;
        },
        (err: unknown) => {
          channel = undefined;
          throw err;
        },
      );
      return channel;
    },
    async close() {
      const open = model;
      model = undefined;
      channel = undefined;
      const opened = await open?.catch(() => undefined);
      await opened?.close().catch(() => undefined);
    },
  };
}
