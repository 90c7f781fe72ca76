import mqtt, { type MqttClient } from 'mqtt';
import type { DataSource } from '../../../shared/index.js';

type MqttSourceDef = Extract<DataSource, { type: 'mqtt' }>;

/**
 * Subscribes to a source topic with QoS 1 and a persistent session (stable client id,
 * clean: false), so the broker keeps messages published while the gateway is away.
 */
export class MqttSubscription {
  private client: MqttClient | undefined;

  constructor(
    private readonly def: MqttSourceDef,
    private readonly clientId: string,
    private readonly onMessage: (payload: Buffer, topic: string) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    const c = mqtt.connect(this.def.url, {
      clientId: this.clientId,
      clean: false,
      reconnectPeriod: 500,
      connectTimeout: 5000,
      ...(this.def.username ? { username: this.def.username } : {}),
      ...(this.def.password ? { password: this.def.password } : {}),
    });
    this.client = c;
    c.on('message', (topic, payload) => this.onMessage(payload, topic));
    c.on('error', (err) => this.onError(err));
    // Subscribe on every connect (idempotent): a broker that lost its state has nothing to
    // resume. start() resolves once the first subscription is acknowledged, so a source
    // reported as started is one the broker already delivers to.
    let subscribed: (() => void) | undefined;
    c.on('connect', () => {
      c.subscribe(this.def.topic, { qos: 1 }, (err) => {
        if (err) this.onError(err);
        else subscribed?.();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`mqtt ${this.def.url}: not subscribed to ${this.def.topic} in 5 s`)),
        5000,
      );
      subscribed = () => {
        clearTimeout(timer);
        subscribed = undefined;
        resolve();
      };
    }).catch((err: Error) => {
      // Keep trying in the background; report once.
      this.onError(err);
    });
  }

  /**
   * `forget`: the source was removed or moved to another topic, so drop the broker-side
   * subscription; otherwise (shutdown) keep it, and the broker queues messages meanwhile.
   */
  async stop(forget = false): Promise<void> {
    if (forget && this.client?.connected) {
      await this.client.unsubscribeAsync(this.def.topic).catch(() => undefined);
    }
    await this.client?.endAsync().catch(() => undefined);
    this.client = undefined;
  }
}
