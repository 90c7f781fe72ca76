/**
 * A worker task that Swarm takes back from its node before any container ran is placed again
 * rather than reported as an exit. The fault is Swarm's constraint enforcer rejecting a task
 * that holds a named generic resource (a GPU id) on any update of its node. Caused for real it
 * would also reject the GPU workers of the swarm tests running beside this file (any label
 * change on the shared node does), so here the engine is a stand-in holding one service's
 * tasks; the multi-node drain test meets the real fault when its GPU node is made active again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { WorkerExit } from '../../../services/event-handler/backend.js';
import { SwarmBackend } from '../../../services/event-handler/swarm/swarm-backend.js';
import {
  CONSTRAINT_REFUSAL,
  type SwarmTask,
} from '../../../services/event-handler/swarm/swarm-tasks.js';
import { waitFor } from '../../helpers/wait.js';

const SESSION = 's-placed-again';
const SERVICE = 'svc1';

/** One worker service in an engine: its tasks, and the forced updates it was given. */
class OneServiceEngine {
  tasks: SwarmTask[] = [];
  forceUpdates: number[] = [];
  removed = false;
  /** task listings served: each poll makes one */
  taskReads = 0;
  private n = 0;

  addTask(status: SwarmTask['Status']): void {
    this.n += 1;
    this.tasks.push({
      ID: `task${this.n}`,
      ServiceID: SERVICE,
      NodeID: 'node-gpu',
      CreatedAt: `2026-12-06T10:00:${String(this.n).padStart(2, '0')}Z`,
      DesiredState: 'running',
      Status: status,
    });
  }

  refuseNewest(): void {
    const t = this.tasks.at(-1)!;
    t.Status = {
      State: 'rejected',
      Message: 'task rejected by constraint enforcer',
      Err: CONSTRAINT_REFUSAL,
    };
  }

  asDocker(): Docker {
    const service = {
      inspect: async () => ({
        Version: { Index: 10 + this.forceUpdates.length },
        Spec: {
          Labels: { 'swarmml.session': SESSION },
          TaskTemplate: { ForceUpdate: this.forceUpdates.at(-1) ?? 0 },
        },
      }),
      update: async (spec: { TaskTemplate: { ForceUpdate: number } }) => {
        this.forceUpdates.push(spec.TaskTemplate.ForceUpdate);
      },
      remove: async () => {
        this.removed = true;
      },
      logs: async () => Buffer.alloc(0),
    };
    const engine = {
      getEvents: async () => new PassThrough(),
      listServices: async () =>
        this.removed
          ? []
          : [
              {
                ID: SERVICE,
                Spec: { Labels: { 'swarmml.scope': 't', 'swarmml.session': SESSION } },
              },
            ],
      listTasks: async () => {
        this.taskReads += 1;
        return this.tasks;
      },
      listNodes: async () => [{ ID: 'node-gpu', Status: { State: 'ready' } }],
      getService: () => service,
      getContainer: () => ({ logs: async () => Buffer.alloc(0) }),
    };
    return engine as unknown as Docker;
  }
}

/** A backend polling `engine` every `pollMs`, and the exits it reports. */
function watch(engine: OneServiceEngine, pollMs: number) {
  const backend = new SwarmBackend({
    docker: engine.asDocker(),
    scope: 't',
    image: 'unused',
    pollMs,
  });
  const exits: WorkerExit[] = [];
  backend.onExit((e) => exits.push(e));
  return { backend, exits };
}

test('a task refused before it ran is placed again; one that ran ends the worker', async () => {
  const engine = new OneServiceEngine();
  engine.addTask({ State: 'assigned' });
  const { backend, exits } = watch(engine, 20);
  try {
    await backend.start();
    engine.refuseNewest();
    await waitFor(() => engine.forceUpdates.length === 1, { what: 'a forced update' });
    assert.deepEqual(engine.forceUpdates, [1], 'ForceUpdate raised by one');
    // Until Swarm lists the successor the refused task is still the newest: not placed twice.
    const seen = engine.taskReads;
    await waitFor(() => engine.taskReads >= seen + 3, { what: 'three more polls' });
    assert.equal(engine.forceUpdates.length, 1);
    engine.addTask({ State: 'pending', Message: 'no suitable node' });
    assert.equal(exits.length, 0);
    // Refused once more, then it runs and exits: the exit is reported once.
    engine.refuseNewest();
    await waitFor(() => engine.forceUpdates.length === 2, { what: 'a second forced update' });
    engine.addTask({
      State: 'complete',
      ContainerStatus: { ContainerID: 'c1', ExitCode: 0 },
    });
    const exit = await waitFor(() => exits.at(0), { what: 'the exit' });
    assert.equal(exit.sessionId, SESSION);
    assert.equal(exit.exitCode, 0);
    assert.equal(engine.removed, true, 'the finished service removed');
    assert.equal(exits.length, 1);
  } finally {
    await backend.close();
  }
});

test('a task refused after its container started is an exit, with Swarm reason', async () => {
  const engine = new OneServiceEngine();
  engine.addTask({
    State: 'rejected',
    Err: CONSTRAINT_REFUSAL,
    ContainerStatus: { ContainerID: 'c9', ExitCode: 137 },
  });
  const { backend, exits } = watch(engine, 20);
  try {
    const exit = await waitFor(() => exits.at(0), { what: 'the exit' });
    assert.equal(exit.error, CONSTRAINT_REFUSAL);
    assert.equal(exit.exitCode, 137);
    assert.deepEqual(engine.forceUpdates, []);
  } finally {
    await backend.close();
  }
});

test('refused again and again: after ten placements the refusal is the exit', async () => {
  const engine = new OneServiceEngine();
  engine.addTask({ State: 'assigned' });
  engine.refuseNewest();
  const { backend, exits } = watch(engine, 10);
  try {
    for (let i = 1; i <= 10; i++) {
      await waitFor(() => engine.forceUpdates.length === i, { what: `placement ${i}` });
      engine.addTask({ State: 'assigned' });
      engine.refuseNewest();
    }
    const exit = await waitFor(() => exits.at(0), { what: 'the exit' });
    assert.equal(exit.error, CONSTRAINT_REFUSAL);
    assert.equal(exit.exitCode, null);
    assert.equal(engine.forceUpdates.length, 10);
  } finally {
    await backend.close();
  }
});
