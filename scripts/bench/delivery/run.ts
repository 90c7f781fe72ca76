// Delivery figures: throughput per channel (messages/s, end to end through BullMQ and the
// broker to a consumer) and the latency a delivery adds, from publish() to the consumer,
// at p50/p99, paced (one in flight) and under load. Real Redis, mosquitto, RabbitMQ.
//   npx tsx scripts/bench/delivery/run.ts [--n 2000] [--paced 200] [--concurrency 32]
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { Keys, type Prediction } from '../../../shared/index.js';
import { LiveConfig } from '../../../shared/store/live-config.js';
import { DeliveryService } from '../../../services/gateway/delivery/delivery-service.js';
import { putConfigDocument } from '../../../services/gateway/delivery/config-documents.js';
import { startTestRedis } from '../../../test/helpers/redis.js';
import {
  startMosquitto,
  startRabbit,
  mosquittoMissing,
  rabbitMissing,
} from '../../../test/helpers/brokers.js';
import {
  amqpConsumer,
  mqttSubscriber,
  webhookReceiver,
} from '../../../test/services/gateway/delivery/receivers.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    paced: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
  },
});
const N = Number(values.n);
const PACED = Number(values.paced);
const now = () => performance.timeOrigin + performance.now();

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function pred(i: number): Prediction {
  return {
    id: `b-${i}`,
    model: 'bench',
    generation: 1,
    time: new Date().toISOString(),
    inputs: { metadata: { t0: now() } },
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [1, 3], data: [0.1, 0.8, 0.1] }],
  };
}

/** A consumer's arrivals as [id, t0, arrival time]. */
type Arrivals = Map<string, number>;
function record(arr: Arrivals, body: string): void {
  const m = JSON.parse(body) as { id: string; t0: number };
  if (!arr.has(m.id)) arr.set(m.id, now() - m.t0);
}

async function wsHub() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise<void>((r) => client.once('open', () => r()));
  return {
    client,
    publish: (_topic: string, m: { payload: string }) => {
      for (const c of wss.clients) c.send(m.payload);
    },
    close: async () => {
      client.close();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

async function main() {
  const missing = mosquittoMissing() ?? rabbitMissing();
  if (missing) throw new Error(missing);
  const [redis, mq, rb] = await Promise.all([startTestRedis(), startMosquitto(), startRabbit()]);
  const hub = await wsHub();
  const keys = new Keys(`bench-${randomUUID().slice(0, 6)}`);
  const client = redis.client();
  const live = new LiveConfig(client, keys);
  const svc = new DeliveryService({
    redis: client,
    keys,
    live,
    ws: hub,
    concurrency: Number(values.concurrency),
    mqttClientIdBase: `bench-${randomUUID().slice(0, 6)}`,
  });
  await svc.start();
  await live.start();

  const arrivals: Record<string, Arrivals> = {
    webhook: new Map(),
    mqtt: new Map(),
    amqp: new Map(),
    ws: new Map(),
  };
  const hook = await webhookReceiver();
  const origPush = hook.got.push.bind(hook.got);
  hook.got.push = (...xs) => {
    for (const x of xs) record(arrivals.webhook!, x.body);
    return origPush(...xs);
  };
  const sub = await mqttSubscriber(mq.url, 'bench/preds', `bench-sub-${randomUUID().slice(0, 6)}`);
  const subPush = sub.got.push.bind(sub.got);
  sub.got.push = (...xs) => {
    for (const x of xs) record(arrivals.mqtt!, x);
    return subPush(...xs);
  };
  const cons = await amqpConsumer(rb.url, 'bench-preds');
  const consPush = cons.got.push.bind(cons.got);
  cons.got.push = (...xs) => {
    for (const x of xs) record(arrivals.amqp!, x.body);
    return consPush(...xs);
  };
  hub.client.on('message', (d: Buffer) => record(arrivals.ws!, d.toString()));

  const doc = {
    channels: {
      webhook: { type: 'webhook', url: hook.url, secret: 'bench-secret-123' },
      mqtt: { type: 'mqtt', url: mq.url, topic: 'bench/preds' },
      amqp: { type: 'amqp', url: rb.url, routingKey: 'bench-preds' },
      ws: { type: 'ws', topic: 'bench' },
    },
    formatters: {
      slim: {
        type: 'template',
        template: { id: '{{id}}', t0: '{{inputs.metadata.t0}}', class: '{{output.argmax}}' },
      },
    },
  };

  const rows: string[] = [];
  for (const channel of ['webhook', 'mqtt', 'amqp', 'ws'] as const) {
    const { version } = await putConfigDocument(live, 'delivery', {
      ...doc,
      rules: [{ id: `to-${channel}`, model: '*', channel, formatter: 'slim' }],
    });
    while (svc.applied().delivery !== version) await new Promise((r) => setTimeout(r, 10));
    const arr = arrivals[channel]!;

    // Paced: one prediction at a time, each waited for: the latency delivery adds when idle.
    arr.clear();
    for (let i = 0; i < PACED; i++) {
      const id = `b-${i}`;
      await svc.publish(pred(i));
      while (!arr.has(id)) await new Promise((r) => setImmediate(r));
    }
    const paced = [...arr.values()];

    // Load: N predictions published in batches of 100 as fast as Redis takes them.
    arr.clear();
    const t0 = now();
    for (let i = 0; i < N; i += 100) {
      await svc.publish(
        Array.from({ length: Math.min(100, N - i) }, (_, k) => pred(PACED + i + k)),
      );
    }
    while (arr.size < N) await new Promise((r) => setTimeout(r, 5));
    const secs = (now() - t0) / 1000;
    const loaded = [...arr.values()];
    const row = {
      channel,
      n: N,
      msgsPerS: Math.round(N / secs),
      pacedP50ms: +pct(paced, 50).toFixed(2),
      pacedP99ms: +pct(paced, 99).toFixed(2),
      loadP50ms: +pct(loaded, 50).toFixed(1),
      loadP99ms: +pct(loaded, 99).toFixed(1),
    };
    console.log(JSON.stringify(row));
    rows.push(
      `| ${channel} | ${row.msgsPerS} | ${row.pacedP50ms} | ${row.pacedP99ms} | ${row.loadP50ms} | ${row.loadP99ms} |`,
    );
  }
  console.log(
    `\nN=${N} per channel, paced=${PACED}, worker concurrency=${values.concurrency}\n` +
      '| channel | msgs/s (end to end) | paced p50 ms | paced p99 ms | under load p50 ms | under load p99 ms |\n' +
      '|---|---|---|---|---|---|\n' +
      rows.join('\n'),
  );
  await svc.close();
  await live.close();
  await Promise.all([hook.close(), sub.close(), cons.close(), hub.close()]);
  await Promise.all([redis.stop(), mq.stop(), rb.stop()]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
