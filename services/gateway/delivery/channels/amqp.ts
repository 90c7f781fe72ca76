import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { DeliveryChannel, DeliveryJob } from '../../../../shared/index.js';

type Amqp = Extract<DeliveryChannel, { type: 'amqp' }>;

interface Link {
  conn: ChannelModel;
  ch: ConfirmChannel;
  /** message ids the broker returned as unroutable (mandatory flag) */
  returned: Set<string>;
}

/**
 * One connection and confirm channel per broker URL. A closed connection or channel is
 * dropped and rebuilt on the next send: the failed delivery itself is retried by BullMQ.
 */
export class AmqpPublisher {
  private readonly links = new Map<string, Promise<Link>>();
  private seq = 0;

  private link(url: string): Promise<Link> {
    let l = this.links.get(url);
    if (!l) {
      l = this.open(url);
      this.links.set(url, l);
      l.catch(() => this.links.delete(url));
    }
    return l;
  }

  private async open(url: string): Promise<Link> {
    const conn = await connect(url);
    const drop = () => this.links.delete(url);
    conn.on('error', drop);
    conn.on('close', drop);
    const ch = await conn.createConfirmChannel();
    const returned = new Set<string>();
    ch.on('error', drop);
    ch.on('close', () => {
      drop();
      conn.close().catch(() => undefined);
    });
    // mandatory + return: a message no queue would take is a failure, not a silent drop.
    ch.on('return', (msg: { properties: { messageId?: string } }) => {
      if (msg.properties.messageId) returned.add(msg.properties.messageId);
    });
    return { conn, ch, returned };
  }

  /** Resolves once the broker confirmed the message (persisted, for persistent messages). */
  async send(cfg: Amqp, job: DeliveryJob, deliveryId: string): Promise<void> {
    const { ch, returned } = await this.link(cfg.url);
    const messageId = `${deliveryId}#${++this.seq}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`amqp ${cfg.url} no confirm within ${cfg.timeoutMs} ms`)),
        cfg.timeoutMs,
      );
      ch.publish(
        cfg.exchange,
        cfg.routingKey,
        Buffer.from(job.payload),
        {
          persistent: cfg.persistent,
          mandatory: true,
          contentType: job.contentType,
          messageId,
          headers: { 'x-swarmml-delivery': deliveryId, 'x-swarmml-rule': job.ruleId },
        },
        (err: unknown) => {
          clearTimeout(timer);
          if (returned.delete(messageId)) {
            reject(new Error(`amqp: no queue bound for "${cfg.exchange}"/"${cfg.routingKey}"`));
          } else if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
          else resolve();
        },
      );
    });
  }

  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    for (const l of links) {
      const link = await l.catch(() => undefined);
      await link?.conn.close().catch(() => undefined);
    }
  }
}
