import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRedis, type TestRedis } from '../../helpers/redis.js';
import {
  allKeys,
  call,
  libsvm,
  startIntakeHarness,
  upload,
  type IntakeHarness,
} from './harness.js';

let r: TestRedis;
let h: IntakeHarness;
before(async () => {
  r = await startTestRedis();
  h = await startIntakeHarness(r, { gatewayEnv: { UPLOAD_LIMIT_BYTES: String(256 * 1024) } });
});
after(async () => {
  await h.close();
  await r.stop();
});

/** Keys other than the event archive (failed uploads archive nothing either). */
async function storedKeys(): Promise<string[]> {
  return (await allKeys(r, h.prefix)).filter((k) => !k.endsWith(':tokens'));
}

test('a malformed line is a 400 with line, column and reason; nothing is stored', async () => {
  const v1 = await upload(h, 'svm', libsvm(50, 3));
  assert.equal(v1.status, 201);
  const before = await storedKeys();
  const eventsBefore = await h.events.length();

  // The bad line comes early in a body far larger than socket buffers, so the intake
  // answers while the client is still sending.
  const lines = libsvm(2000, 3).split('\n');
  lines[2] = '1 1:0.5 2:abc 3:1';
  const body = lines.join('\n').repeat(20);
  const res = await upload(h, 'svm', body.slice(0, 200 * 1024));
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(res.body.error, 'BAD_INPUT');
  assert.deepEqual(res.body.details, {
    line: 3,
    col: 11,
    reason: "value 'abc' is not a number",
  });
  assert.equal(res.body.message, "value 'abc' is not a number at line 3, col 11");

  assert.deepEqual(await storedKeys(), before, 'no version and no staged shard left');
  assert.equal(await h.events.length(), eventsBefore, 'no dataset.version event');
  const v = await call(h, 'GET', '/api/v1/datasets/svm');
  assert.deepEqual(
    v.body.versions.map((x: { version: number }) => x.version),
    [1],
  );
  const meta = await call(h, 'GET', '/api/v1/datasets/svm/versions/1');
  assert.equal(meta.body.sha256, v1.body.sha256, 'the earlier version is untouched');
  const rows = await call(h, 'GET', '/api/v1/datasets/svm/versions/1/rows?format=json&count=50');
  assert.equal(rows.body.rows, 50);

  // The connection is usable again: the next upload succeeds.
  assert.equal((await upload(h, 'svm', libsvm(20, 3))).status, 201);
});

test('a body over the gateway limit is a 413, declared or streamed', async () => {
  const big = libsvm(6000, 8); // about 400 KB against a 256 KiB limit
  assert.ok(big.length > 256 * 1024);
  const declared = await upload(h, 'too-big', big);
  assert.equal(declared.status, 413, JSON.stringify(declared.body));
  assert.equal(declared.body.error, 'PAYLOAD_TOO_LARGE');

  const bytes = Buffer.from(big);
  const streamed = await fetch(`${h.url}/api/v1/datasets/too-big`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.token}` },
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < bytes.length; i += 16 * 1024)
          c.enqueue(bytes.subarray(i, i + 16 * 1024));
        c.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  assert.equal(streamed.status, 413);
  assert.equal(((await streamed.json()) as { error: string }).error, 'PAYLOAD_TOO_LARGE');
  assert.equal((await call(h, 'GET', '/api/v1/datasets/too-big')).status, 404);
  assert.deepEqual(
    (await allKeys(r, h.prefix)).filter((k) => k.includes('too-big')),
    [],
  );
});

test('the intake enforces its own limit too', async () => {
  const small = await startIntakeHarness(r, { intakeEnv: { UPLOAD_LIMIT_BYTES: '1000' } });
  try {
    const res = await upload(small, 'x', libsvm(200, 4));
    assert.equal(res.status, 413);
    assert.equal((await call(small, 'GET', '/api/v1/datasets/x')).status, 404);
  } finally {
    await small.close();
  }
});

test('an unknown format is a 415 listing the known ones', async () => {
  const named = await upload(h, 'fmt', libsvm(5, 2), '?format=parquet');
  assert.equal(named.status, 415);
  assert.equal(named.body.error, 'UNSUPPORTED_FORMAT');
  assert.ok(named.body.details.known.includes('libsvm'));
  const unrecognised = await upload(h, 'fmt', 'hello\nworld\n');
  assert.equal(unrecognised.status, 415);
  assert.equal((await call(h, 'GET', '/api/v1/datasets/fmt')).status, 404);
});

test('JSON lines sent as application/json are refused with a hint', async () => {
  const res = await upload(h, 'j', '{"features":[1],"label":0}', '', {
    'content-type': 'application/json',
  });
  assert.equal(res.status, 415);
  assert.match(res.body.message, /x-ndjson/);
});

test('two uploads to one name at once both succeed as distinct versions', async () => {
  const [a, b] = await Promise.all([
    upload(h, 'race', libsvm(3000, 5)),
    upload(h, 'race', libsvm(2000, 5)),
  ]);
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual([a.body.version, b.body.version].sort(), [1, 2]);
  const info = await call(h, 'GET', '/api/v1/datasets/race');
  const counts = info.body.versions.map((v: { count: number }) => v.count).sort();
  assert.deepEqual(counts, [2000, 3000]);
});

test('dataset names are letters, digits, . _ - only', async () => {
  for (const bad of ['has space', 'semi;colon', '.hidden', 'brace{x}', 'a'.repeat(129)]) {
    const res = await upload(h, bad, libsvm(5, 2));
    assert.equal(res.status, 400, `${bad}: ${JSON.stringify(res.body)}`);
    assert.match(res.body.message, /invalid dataset name/);
  }
  const ok = await upload(h, 'Good_name-1.0', libsvm(5, 2));
  assert.equal(ok.status, 201);
});

test('bad query parameters are a 400 naming the parameter', async () => {
  const res = await upload(h, 'q', libsvm(5, 2), '?fraction=2');
  assert.equal(res.status, 400);
  assert.equal(res.body.issues[0].path, 'fraction');
});
