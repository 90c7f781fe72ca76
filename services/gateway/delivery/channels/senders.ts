import type { DeliveryChannel, DeliveryJob } from '../../../../shared/index.js';
import { AmqpPublisher } from './amqp.js';
import { MqttPublisher } from './mqtt.js';
import { WebhookSender } from './webhook.js';

/** Where `ws` channels publish: the gateway's WebSocket hub (topic subscribers). */
export interface WsTopicPublisher {
  publish(
    topic: string,
    message: { contentType: string; payload: string; ruleId: string },
  ): void | Promise<void>;
}

export interface SendersOptions {
  mqttClientIdBase: string;
  ws?: WsTopicPublisher;
}

/** Sends one delivery over its channel; owns the broker connections. */
export class ChannelSenders {
  private readonly mqtt: MqttPublisher;
  private readonly amqp = new AmqpPublisher();
  private readonly webhook = new WebhookSender();

  constructor(private readonly opts: SendersOptions) {
    this.mqtt = new MqttPublisher({ clientIdBase: opts.mqttClientIdBase });
  }

  async send(ch: DeliveryChannel, job: DeliveryJob, deliveryId: string): Promise<void> {
    switch (ch.type) {
      case 'webhook':
        return this.webhook.send(ch, job, deliveryId);
      case 'mqtt':
        return this.mqtt.send(ch, job);
      case 'amqp':
        return this.amqp.send(ch, job, deliveryId);
      case 'ws':
        if (!this.opts.ws) throw new Error('no WebSocket hub in this process');
        return this.opts.ws.publish(ch.topic, {
          contentType: job.contentType,
          payload: job.payload,
          ruleId: job.ruleId,
        });
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.mqtt.close(), this.amqp.close()]);
    this.webhook.close();
  }
}
