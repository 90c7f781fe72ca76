/** The Delivery page's document edits: what it sends the API for each Save and Delete. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entriesOf,
  holdsMaskedSecret,
  maskUrl,
  withEntry,
  withoutEntry,
} from '../../web/src/pages/delivery-doc.js';

const delivery = () => ({
  channels: {
    a: { type: 'ws', topic: 'x' },
    hook: { type: 'webhook', url: 'http://h/in', secret: '***' },
    b: { type: 'ws', topic: 'y' },
  },
  formatters: { raw: { type: 'json' } },
  rules: [{ id: 'r1', model: '*', channel: 'a', formatter: 'raw' }],
});

test('a map entry is replaced in its place, added at the end, or removed; the rest is untouched', () => {
  const doc = delivery();
  const edited = withEntry(doc, 'channels', 'hook', { type: 'ws', topic: 'z' }, 'hook');
  assert.deepEqual(Object.keys(edited.doc.channels as object), ['a', 'hook', 'b']);
  assert.equal(edited.prefix, 'channels.hook.');
  assert.deepEqual(edited.doc.rules, doc.rules);
  assert.deepEqual(doc.channels.hook.secret, '***', 'the input document is not changed');

  const added = withEntry(doc, 'formatters', undefined, { type: 'csv' }, 'line');
  assert.deepEqual(Object.keys(added.doc.formatters as object), ['raw', 'line']);
  assert.equal(added.prefix, 'formatters.line.');

  const gone = withoutEntry(doc, 'channels', 'a');
  assert.deepEqual(Object.keys(gone.channels as object), ['hook', 'b']);
});

test('a list entry is found by id; its problems are named by index, as the API names them', () => {
  const doc = {
    sources: [
      { id: 's1', type: 'http' },
      { id: 's2', type: 'http' },
    ],
  };
  const edited = withEntry(doc, 'sources', 's2', { id: 's2', type: 'mqtt' }, 's2');
  assert.equal(edited.prefix, 'sources.1.');
  assert.deepEqual(edited.doc.sources, [
    { id: 's1', type: 'http' },
    { id: 's2', type: 'mqtt' },
  ]);
  const added = withEntry(doc, 'sources', undefined, { id: 's3' }, 's3');
  assert.equal(added.prefix, 'sources.2.');
  assert.deepEqual(
    entriesOf(withoutEntry(doc, 'sources', 's1'), 'sources').map(([k]) => k),
    ['s2'],
  );
  // A first entry in a document that has none yet.
  assert.deepEqual(withEntry(null, 'sources', undefined, { id: 'n' }, 'n').doc, {
    sources: [{ id: 'n' }],
  });
});

test('masked credentials are recognised; passwords in URLs are masked for display', () => {
  assert.equal(holdsMaskedSecret(delivery().channels.hook), true);
  assert.equal(holdsMaskedSecret({ type: 'amqp', url: 'amqp://u:***@rabbit' }), true);
  assert.equal(holdsMaskedSecret(delivery().channels.a), false);
  assert.equal(maskUrl('amqp://user:pass@rabbit:5672/v'), 'amqp://user:***@rabbit:5672/v');
  assert.equal(maskUrl('http://h:8080/in'), 'http://h:8080/in');
  assert.equal(maskUrl('mqtt://broker:1883'), 'mqtt://broker:1883');
});
