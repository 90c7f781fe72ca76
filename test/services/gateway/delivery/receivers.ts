import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { connect, type ChannelModel } from 'amqplib';

export interface Received {
  body: string;
  headers: IncomingHttpHeaders;
}

/** A webhook receiver answering `status()` (changeable), recording every request. */
export async function webhookReceiver(status: () => number = () => 200) {
  const got: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status();
      if (code < 300) got.push({ body: Buffer.concat(chunks).toString(), headers: req.headers });
      res.writeHead(code).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    got,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A QoS 1 subscriber with a persistent session, so it misses nothing across broker restarts. */
export async function mqttSubscriber(url: string, topic: string, clientId: string) {
  const got: string[] = [];
  const c: MqttClient = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200 });
  c.on('error', () => undefined);
  c.on('message', (_t, payload) => got.push(payload.toString()));
  await new Promise<void>((resolve) => c.once('connect', () => resolve()));
  await c.subscribeAsync(topic, { qos: 1 });
  return { got, close: () => c.endAsync(true) };
}

/** Declares a durable queue and collects what arrives on it. */
export async function amqpConsumer(url: string, queue: string) {
  const got: { body: string; contentType?: string; persistent: boolean }[] = [];
  const conn: ChannelModel = await connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: true });
  await ch.consume(queue, (msg) => {
    if (!msg) return; // the server cancelled the consumer
    got.push({
      body: msg.content.toString(),
      persistent: msg.properties.deliveryMode === 2,
      ...(msg.properties.contentType ? { contentType: String(msg.properties.contentType) } : {}),
    });
    ch.ack(msg);
  });
  return { got, close: () => conn.close() };
}
