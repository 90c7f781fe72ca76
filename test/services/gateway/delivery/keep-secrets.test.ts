import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keepMaskedSecrets } from '../../../../services/gateway/delivery/keep-secrets.js';
import { redactSecrets } from '../../../../services/gateway/delivery/redact-secrets.js';

const stored = {
  sources: [
    { id: 'plant', type: 'mqtt', url: 'mqtt://reader:broker-pw@broker:1883', topic: 'a/+' },
    { id: 'line', type: 'amqp', url: 'amqp://mq', queue: 'q', password: 'amqp-pw' },
    { id: 'push', type: 'http', dataset: 'd' },
  ],
};

test('a masked document saved as read gets its secrets back, entries matched by id', () => {
  const masked = redactSecrets(stored) as typeof stored;
  assert.equal(masked.sources[0]!.url, 'mqtt://reader:***@broker:1883');
  // reordered, and the entry without credentials changed: still the operator's to save
  const next = {
    sources: [masked.sources[1], masked.sources[0], { ...masked.sources[2], dataset: 'e' }],
  };
  const { doc, refused } = keepMaskedSecrets(next, stored);
  assert.deepEqual(refused, []);
  assert.deepEqual(doc, {
    sources: [stored.sources[1], stored.sources[0], { ...stored.sources[2], dataset: 'e' }],
  });
});

test('an entry holding a credential may not change, come in clear, or be added', () => {
  const masked = redactSecrets(stored) as typeof stored;
  const moved = { ...masked.sources[0], url: 'mqtt://reader:***@elsewhere:1883' };
  const clear = stored.sources[1]; // the right secret, sent in clear: no way to test guesses
  const added = { id: 'new', type: 'amqp', url: 'amqp://mq', queue: 'q', password: 'mine' };
  const { refused } = keepMaskedSecrets(
    { sources: [moved, clear, masked.sources[2], added] },
    stored,
  );
  assert.deepEqual(refused, ['sources.plant', 'sources.line', 'sources.new']);
  // Removing a credential, or the whole entry, takes nothing from anyone.
  const stripped = { ...masked.sources[1], password: undefined };
  delete stripped.password;
  assert.deepEqual(keepMaskedSecrets({ sources: [stripped] }, stored).refused, []);
});

test('a mask with nothing stored behind it is refused, not saved as the secret "***"', () => {
  const next = { channels: { hook: { type: 'webhook', url: 'http://h/in', secret: '***' } } };
  assert.deepEqual(keepMaskedSecrets(next, null).refused, ['channels.hook']);
});
