import assert from 'node:assert/strict';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseDataset, parseIdx } from '../../../../services/data-intake/parse/index.js';
import {
  chunks,
  collect,
  FASHION_MNIST,
  makeIdx,
  makeTar,
  makeZip,
  rejectsWith,
} from './helpers.js';

const T10K_IMAGES = `${FASHION_MNIST}t10k-images-idx3-ubyte.gz`;
const T10K_LABELS = `${FASHION_MNIST}t10k-labels-idx1-ubyte.gz`;
const haveFashion = existsSync(T10K_IMAGES) && existsSync(T10K_LABELS);

describe('IDX parsing', () => {
  test('real Fashion-MNIST t10k from two gzip streams: 10,000 28x28 grey images, 10 classes', async (t) => {
    if (!haveFashion) return t.skip('dataset-fashion-mnist is not installed');
    const p = await parseIdx(createReadStream(T10K_IMAGES), createReadStream(T10K_LABELS), {
      batchRows: 4096,
    });
    assert.equal(p.info.kind, 'image');
    assert.equal(p.info.count, 10_000);
    assert.deepEqual(p.info.imageShape, { height: 28, width: 28, channels: 1 });
    assert.equal(p.info.labelNames?.length, 10);
    let rows = 0;
    const histogram = new Array<number>(10).fill(0);
    for await (const b of p.batches()) {
      assert.equal(b.kind, 'image');
      assert.equal(b.kind === 'image' && b.pixels.length, b.rows * 784);
      rows += b.rows;
      for (const l of b.labels) histogram[l]!++;
    }
    assert.equal(rows, 10_000);
    assert.deepEqual(histogram, new Array(10).fill(1000), 'Fashion-MNIST test set is balanced');
  });

  test('a tar holding the real IDX pair is one upload', async (t) => {
    if (!haveFashion) return t.skip('dataset-fashion-mnist is not installed');
    const tarball = await makeTar([
      ['fashion/', null],
      ['fashion/README.txt', Buffer.from('hello')],
      ['fashion/t10k-images-idx3-ubyte.gz', readFileSync(T10K_IMAGES)],
      ['fashion/t10k-labels-idx1-ubyte.gz', readFileSync(T10K_LABELS)],
    ]);
    const p = await parseDataset(chunks(tarball, 65_536), { filename: 'fashion.tar' });
    assert.equal(p.info.format, 'idx');
    assert.equal(p.info.count, 10_000);
    assert.equal((await collect(p)).rows, 10_000);
  });

  test('a zip of small plain IDX files keeps pixels and labels in order', async () => {
    const imgs = [0, 1, 2].map((v) => new Uint8Array(6).fill(v * 10));
    const { images, labels } = makeIdx(imgs, [2, 0, 1], 2, 3);
    const zip = makeZip([
      ['labels.idx1-ubyte', labels],
      ['images.idx3-ubyte', images],
    ]);
    const p = await parseDataset(chunks(zip, 100), { batchRows: 2 });
    assert.deepEqual(p.info.imageShape, { height: 2, width: 3, channels: 1 });
    const got = await collect(p);
    assert.deepEqual(got.labels, [2, 0, 1]);
    assert.deepEqual(
      got.batches.map((b) => b.rows),
      [2, 1],
    );
    const last = got.batches[1]!;
    assert.deepEqual(last.kind === 'image' && Array.from(last.pixels), new Array(6).fill(20));
  });

  test('bad input: mismatched counts, a wrong magic, a truncated images file', async () => {
    const imgs = [new Uint8Array(4), new Uint8Array(4)];
    const { images, labels } = makeIdx(imgs, [0], 2, 2, true);
    await rejectsWith(parseIdx(chunks(images), chunks(labels)), 'BAD_INPUT', {
      reason: 'idx count mismatch',
    });
    await rejectsWith(parseIdx(chunks(labels), chunks(labels)), 'BAD_INPUT', {
      reason: 'bad idx images',
    });
    const ok = makeIdx(imgs, [0, 1], 2, 2);
    const p = await parseIdx(chunks(ok.images.subarray(0, 20)), chunks(ok.labels));
    await rejectsWith(collect(p), 'BAD_INPUT', { reason: 'truncated idx' });
  });
});
