import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { DeliveryChannel, DeliveryJob } from '../../../../shared/index.js';

type Mqtt = Extract<DeliveryChannel, { type: 'mqtt' }>;

export interface MqttPublisherOptions {
  /**
   * Stable per process: with `clean: false` the broker keeps the session under this id and
   * the client resends unacknowledged QoS 1/2 publishes after a reconnect. Two live
   * processes must not share it (the broker would disconnect one for the other).
   */
  clientIdBase: string;
  /** @defaultValue 500 */
  reconnectPeriodMs?: number;
}

/** One MQTT connection per broker (url + user), reused by every delivery to it. */
export class MqttPublisher {
  private readonly clients = new Map<string, MqttClient>();

  constructor(private readonly opts: MqttPublisherOptions) {}

  private client(ch: Mqtt): MqttClient {
    const key = `${ch.url}|${ch.username ?? ''}`;
    let c = this.clients.get(key);
    if (!c) {
      const suffix = createHash('sha256').update(key).digest('hex').slice(0, 8);
      c = mqtt.connect(ch.url, {
        clientId: `${this.opts.clientIdBase}-${suffix}`,
        clean: false,
        reconnectPeriod: this.opts.reconnectPeriodMs ?? 500,
        connectTimeout: 5000,
        ...(ch.username ? { username: ch.username } : {}),
        ...(ch.password ? { password: ch.password } : {}),
      });
      // Errors surface through publish timeouts and callbacks; the client reconnects itself.
      c.on('error', () => undefined);
      this.clients.set(key, c);
    }
    return c;
  }

  /** Resolves when the broker acknowledged (PUBACK/PUBCOMP); rejects after `timeoutMs`. */
  async send(ch: Mqtt, job: DeliveryJob): Promise<void> {
    const c = this.client(ch);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`mqtt ${ch.url} no ack within ${ch.timeoutMs} ms`)),
        ch.timeoutMs,
      );
      c.publish(ch.topic, job.payload, { qos: ch.qos, retain: ch.retain }, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.clients.values()].map((c) => c.endAsync(true).catch(() => undefined)),
    );
    this.clients.clear();
  }
}
