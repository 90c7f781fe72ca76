import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isValidationRow } from '../../../shared/index.js';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import { call, libsvm, startIntakeHarness, upload, type IntakeHarness } from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
const ROWS = 3000;
const DIM = 5;
before(async () => {
  r = await startTestRedis();
  // Small shards so that ranges cross shard boundaries.
  h = await startIntakeHarness(r, { intakeEnv: { SHARD_BYTES: '8192' } });
  const res = await upload(h, 'rows', libsvm(ROWS, DIM, 4));
  assert.equal(res.status, 201);
  assert.ok(res.body.shardCount > 5, `shards: ${res.body.shardCount}`);
});
after(async () => {
  await h.close();
  await r.stop();
});

/** The value written for row r, feature j by the harness's libsvm(). */
const expected = (row: number, j: number) => Math.fround(((row * 7 + j * 3) % 11) / 10);

function decode(buf: Buffer) {
  assert.equal(buf.toString('latin1', 0, 4), 'SWS1');
  assert.equal(buf.readUInt8(4), 1);
  assert.equal(buf.readUInt8(5), 1);
  const rows = buf.readUInt32LE(8);
  const dim = buf.readUInt32LE(12);
  assert.equal(buf.length, 32 + rows * dim * 4 + rows * 4);
  const copy = new Uint8Array(buf.subarray(32));
  const features = new Float32Array(copy.buffer, 0, rows * dim);
  const labels = new Float32Array(copy.buffer, rows * dim * 4, rows);
  return { rows, dim, features, labels };
}

async function binary(query: string) {
  const res = await fetch(`${h.url}/api/v1/datasets/rows/versions/1/rows?${query}`, {
    headers: { authorization: `Bearer ${h.token}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  return { res, ...decode(Buffer.from(await res.arrayBuffer())) };
}

test('a binary range across shards holds exactly those rows', async () => {
  const { rows, dim, features, labels, res } = await binary('start=1234&count=777');
  assert.equal(rows, 777);
  assert.equal(dim, DIM);
  assert.equal(res.headers.get('x-swarmml-rows'), '777');
  for (let i = 0; i < rows; i++) {
    const row = 1234 + i;
    assert.equal(labels[i], row % 4);
    for (let j = 0; j < dim; j++) assert.equal(features[i * dim + j], expected(row, j));
  }
});

test('the end of the version clamps the range', async () => {
  const { rows, labels } = await binary(`start=${ROWS - 10}&count=1000`);
  assert.equal(rows, 10);
  assert.equal(labels[9], (ROWS - 1) % 4);
  const empty = await binary(`start=${ROWS}&count=5`);
  assert.equal(empty.rows, 0);
  const beyond = await call(h, 'GET', `/api/v1/datasets/rows/versions/1/rows?start=${ROWS + 1}`);
  assert.equal(beyond.status, 400);
});

test('train and validation partition a range by the recorded split', async () => {
  const all = await binary('start=100&count=1500');
  const train = await binary('start=100&count=1500&split=train');
  const val = await binary('start=100&count=1500&split=validation');
  assert.equal(train.rows + val.rows, all.rows);
  assert.ok(val.rows > 200 && val.rows < 400, `validation rows ${val.rows}`);
  let t = 0;
  let v = 0;
  for (let i = 0; i < all.rows; i++) {
    const row = 100 + i;
    const side = isValidationRow(42, 0.2, row) ? val : train;
    const k = side === val ? v++ : t++;
    assert.equal(side.labels[k], all.labels[i]);
    assert.equal(side.features[k * DIM + 2], all.features[i * DIM + 2]);
  }
  // Paging over the whole version gives the recorded counts.
  const meta = await call(h, 'GET', '/api/v1/datasets/rows/versions/1');
  let trainRows = 0;
  for (let s = 0; s < ROWS; s += 1000)
    trainRows += (await binary(`start=${s}&count=1000&split=train`)).rows;
  assert.equal(trainRows, meta.body.split.trainCount);
});

test('JSON rows carry row indices and are capped at 1000', async () => {
  const res = await call(
    h,
    'GET',
    '/api/v1/datasets/rows/versions/latest/rows?start=10&count=20&format=json&split=validation',
  );
  assert.equal(res.status, 200);
  const b = res.body;
  assert.equal(b.rows, b.index.length);
  for (let i = 0; i < b.rows; i++) {
    assert.ok(isValidationRow(42, 0.2, b.index[i]));
    assert.ok(b.index[i] >= 10 && b.index[i] < 30);
    assert.equal(b.labels[i], b.index[i] % 4);
    assert.deepEqual(
      b.values[i],
      Array.from({ length: DIM }, (_, j) => expected(b.index[i], j)),
    );
  }
  assert.deepEqual(b.labelNames, ['0', '1', '2', '3']);
  const big = await call(h, 'GET', '/api/v1/datasets/rows/versions/1/rows?count=1001&format=json');
  assert.equal(big.status, 400);
  assert.equal(big.body.details.maxCount, 1000);
});

test('the Python stdlib reader in docs/datasets.md reads the binary layout', async (t) => {
  const probe = spawnSync('python3', ['--version']);
  if (probe.status !== 0) {
    t.skip('python3 not installed');
    return;
  }
  const doc = readFileSync('docs/datasets.md', 'utf8');
  const script = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(script, 'docs/datasets.md has a python block');
  const dir = mkdtempSync(join(tmpdir(), 'swarmml-py-'));
  try {
    writeFileSync(join(dir, 'read_rows.py'), script);
    // Async: the gateway under test runs in this process and must keep answering.
    const run = async (split: string) => {
      const p = await promisify(execFile)(
        'python3',
        [join(dir, 'read_rows.py'), h.url, h.token, 'rows', '1', split],
        { encoding: 'utf8', timeout: 30_000 },
      );
      return JSON.parse(p.stdout) as { rows: number; first: { values: number[]; label: number } };
    };
    const all = await run('all');
    assert.equal(all.rows, ROWS);
    assert.deepEqual(
      all.first.values,
      Array.from({ length: DIM }, (_, j) => expected(0, j)),
    );
    assert.equal(all.first.label, 0);
    const val = await run('validation');
    let want = 0;
    for (let i = 0; i < ROWS; i++) if (isValidationRow(42, 0.2, i)) want++;
    assert.equal(val.rows, want);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
