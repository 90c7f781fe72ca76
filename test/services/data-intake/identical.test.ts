import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
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
  h = await startIntakeHarness(r);
});
after(async () => {
  await h.close();
  await r.stop();
});

const versions = async (name: string): Promise<number[]> =>
  (await call(h, 'GET', `/api/v1/datasets/${name}`)).body.versions.map(
    (v: { version: number }) => v.version,
  );

test('the same file again makes no version; force=true makes one', async () => {
  const text = libsvm(300, 5);
  const v1 = await upload(h, 'same', text, '?seed=7');
  assert.equal(v1.status, 201);
  assert.equal(v1.body.uploadSha256, createHash('sha256').update(text).digest('hex'));
  const keys = await allKeys(r, h.prefix);
  const events = await h.events.length();

  const again = await upload(h, 'same', text, '?seed=7');
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal(again.body.identical, true);
  assert.equal(again.body.version, 1);
  assert.equal(again.body.sha256, v1.body.sha256);
  assert.deepEqual(await versions('same'), [1]);
  assert.deepEqual(await allKeys(r, h.prefix), keys, 'no staged shard left behind');
  assert.equal(await h.events.length(), events, 'no dataset.version event');

  const forced = await upload(h, 'same', text, '?seed=7&force=true');
  assert.equal(forced.status, 201);
  assert.equal(forced.body.version, 2);
  assert.equal(forced.body.identical, undefined);
  assert.deepEqual(await versions('same'), [1, 2]);
});

test('same bytes parsed or split differently are a new version', async () => {
  const text = libsvm(100, 4);
  assert.equal((await upload(h, 'opts', text)).status, 201);
  const otherSeed = await upload(h, 'opts', text, '?seed=1');
  assert.equal(otherSeed.status, 201);
  const otherKind = await upload(h, 'opts', text, '?seed=1&labelKind=regression');
  assert.equal(otherKind.status, 201);
  assert.equal(otherKind.body.labelKind, 'regression');
  assert.deepEqual(await versions('opts'), [1, 2, 3]);
  // Only the latest counts: the first file again is new next to v3.
  assert.equal((await upload(h, 'opts', text)).status, 201);
});

test('other bytes holding the same rows (gzip of the file) are identical too', async () => {
  const text = libsvm(200, 3);
  assert.equal((await upload(h, 'rows', text)).status, 201);
  const gz = await upload(h, 'rows', gzipSync(text));
  assert.equal(gz.status, 200, JSON.stringify(gz.body));
  assert.equal(gz.body.identical, true);
  const changed = await upload(h, 'rows', text.replace(/^0 /, '1 '));
  assert.equal(changed.status, 201, 'one label changed');
  assert.deepEqual(await versions('rows'), [1, 2]);
});
