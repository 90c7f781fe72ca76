import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dueToMove } from '../../../services/event-handler/session-mover.js';

const now = Date.parse('2026-01-01T06:00:00Z');
const running = (startedHoursAgo: number, constraints: string[] = []) => ({
  state: 'running' as const,
  started: new Date(now - startedHoursAgo * 3600_000).toISOString(),
  placement: { backend: 'swarm', workerId: 'w', constraints },
});
const FIVE_HOURS = 5 * 3600;

test('a session moves once it has run past the threshold with a checkpoint, not before', () => {
  assert.equal(dueToMove(running(5.1), 1024, FIVE_HOURS, now), true);
  assert.equal(dueToMove(running(4.9), 1024, FIVE_HOURS, now), false);
});

test('no move without a checkpoint, on a low-priority node already, when off, or when not running', () => {
  assert.equal(dueToMove(running(6), 0, FIVE_HOURS, now), false, 'it would start over');
  assert.equal(
    dueToMove(running(6, ['node.labels.priority==low']), 1024, FIVE_HOURS, now),
    false,
    'placed there for its budget, or moved before',
  );
  assert.equal(dueToMove(running(6), 1024, 0, now), false, 'MOVE_AFTER_S=0 turns it off');
  assert.equal(dueToMove({ ...running(6), state: 'starting' }, 1024, FIVE_HOURS, now), false);
});
