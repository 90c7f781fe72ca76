import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInput } from '../../../shared/errors.js';
import { decodeShard, encodeShard, SHARD_HEADER_BYTES } from '../../../shared/store/shard-codec.js';
import { image, tabular } from './helpers.js';

test('tabular shards round-trip, decoded as views over the buffer', () => {
  const b = tabular(5, 3);
  const buf = encodeShard(b);
  assert.equal(buf.length, SHARD_HEADER_BYTES + 5 * 3 * 4 + 5 * 4);
  assert.equal(buf.toString('latin1', 0, 4), 'SWS1');
  const d = decodeShard(buf);
  assert.deepEqual(d, b);
  assert.equal(d.kind === 'tabular' && d.features.buffer, buf.buffer, 'zero-copy');
});

test('image shards round-trip with padding before the labels', () => {
  const b = image(3, 3, 3, 1); // 27 pixel bytes: padded to 28
  const buf = encodeShard(b);
  assert.equal(buf.length, SHARD_HEADER_BYTES + 28 + 3 * 4);
  assert.equal(buf[SHARD_HEADER_BYTES + 27], 0, 'padding is zeroed');
  assert.ok(buf.subarray(24, 32).equals(Buffer.alloc(8)), 'reserved header bytes are zeroed');
  assert.deepEqual(decodeShard(buf), b);
});

test('an unaligned buffer still decodes (by copy)', () => {
  const enc = encodeShard(tabular(4, 2));
  const host = Buffer.alloc(enc.length + 1);
  enc.copy(host, 1);
  const d = decodeShard(host.subarray(1));
  assert.deepEqual(d, tabular(4, 2));
});

test('malformed shards and batches are refused', () => {
  assert.throws(() => decodeShard(Buffer.from('nope nope nope nope nope nope nope')), BadInput);
  const buf = encodeShard(tabular(2, 2));
  assert.throws(() => decodeShard(buf.subarray(0, buf.length - 4)), /header says/);
  const bad = { ...tabular(2, 2), labels: new Float32Array(3) };
  assert.throws(() => encodeShard(bad), /batch sizes disagree/);
});
