import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  explainPending,
  nodeFacts,
  placementFor,
  type NodeFacts,
} from '../../../../services/event-handler/swarm/swarm-placement.js';
import {
  serviceName,
  workerServiceSpec,
} from '../../../../services/event-handler/swarm/swarm-service-spec.js';

const plain: NodeFacts = { hostname: 'a', ready: true, labels: {}, generic: {} };
const gpuNode: NodeFacts = {
  hostname: 'g',
  ready: true,
  labels: { gpu: 'true', pool: 'train' },
  generic: { 'NVIDIA-GPU': ['GPU-0'] },
};

test('GPU sessions need the gpu label and one NVIDIA-GPU', () => {
  const r = placementFor({ kind: 'train', device: 'gpu' }, [plain]);
  assert.deepEqual(r, { constraints: ['node.labels.gpu==true'], gpuKind: 'NVIDIA-GPU' });
  assert.deepEqual(placementFor({ kind: 'train', device: 'gpu' }, [plain], { gpuKind: null }), {
    constraints: ['node.labels.gpu==true'],
  });
  assert.match(explainPending(r, [plain]) ?? '', /label gpu=true.*no node advertises NVIDIA-GPU/);
  assert.equal(explainPending(r, [plain, { ...gpuNode, labels: { gpu: 'true' } }]), undefined);
  assert.match(
    explainPending(r, [
      { ...plain, labels: { gpu: 'true' } },
      { ...gpuNode, labels: {} },
    ]) ?? '',
    /nodes that match the labels advertise no NVIDIA-GPU/,
  );
});

test('budgets over 5 h go to low-priority nodes; pools apply only where labelled', () => {
  assert.deepEqual(
    placementFor({ kind: 'train', device: 'cpu', timeBudgetS: 5 * 3600 }, [plain]).constraints,
    [],
  );
  assert.deepEqual(
    placementFor({ kind: 'train', device: 'cpu', timeBudgetS: 5 * 3600 + 1 }, [plain]).constraints,
    ['node.labels.priority==low'],
  );
  // A session moved past MOVE_AFTER_S resumes there whatever its budget.
  assert.deepEqual(
    placementFor({ kind: 'train', device: 'cpu', timeBudgetS: 60, lowPriority: true }, [plain])
      .constraints,
    ['node.labels.priority==low'],
  );
  assert.deepEqual(placementFor({ kind: 'train', device: 'cpu' }, [plain, gpuNode]).constraints, [
    'node.labels.pool==train',
  ]);
  assert.deepEqual(placementFor({ kind: 'serve', device: 'cpu' }, [plain, gpuNode]).constraints, [
    'node.labels.pool==prod',
  ]);
  const r = placementFor({ kind: 'serve', device: 'cpu' }, [plain, gpuNode]);
  assert.match(explainPending(r, [plain, gpuNode]) ?? '', /label pool=prod/);
  assert.equal(
    explainPending({ constraints: [] }, [{ ...plain, ready: false }]),
    'no swarm node is ready',
  );
});

test('node facts read labels, readiness and generic resources from the Engine API shape', () => {
  const f = nodeFacts({
    Description: {
      Hostname: 'h',
      Resources: {
        GenericResources: [
          { NamedResourceSpec: { Kind: 'NVIDIA-GPU', Value: 'GPU-1' } },
          { DiscreteResourceSpec: { Kind: 'SSD', Value: 2 } },
        ],
      },
    },
    Spec: { Labels: { gpu: 'true' }, Availability: 'drain' },
    Status: { State: 'ready' },
  });
  assert.deepEqual(f.generic, { 'NVIDIA-GPU': ['GPU-1'], SSD: ['#0', '#1'] });
  assert.equal(f.ready, false, 'a drained node takes no work');
});

test('worker service spec: one task, no restart, limits, reservations, GPU resource, dnsrr', () => {
  const s = workerServiceSpec(
    {
      sessionId: 'Sess_01/ABC',
      kind: 'train',
      command: ['trainer'],
      env: { A: '1' },
      device: 'gpu',
      limits: { cpus: 2, memoryMb: 512, pids: 100 },
    },
    { constraints: ['node.labels.gpu==true'], gpuKind: 'NVIDIA-GPU' },
    { image: 'swarmml/app:x', network: 'swarmml_net' },
  );
  assert.equal(s.Name, 'swarmml-worker-sess-01-abc');
  const t = s.TaskTemplate as {
    ContainerSpec: { Args: string[]; Env: string[]; Image: string };
    Resources: { Limits: object; Reservations: { GenericResources: unknown[]; NanoCPUs: number } };
    RestartPolicy: { Condition: string };
  };
  assert.deepEqual(t.ContainerSpec.Args, ['trainer']);
  assert.ok(t.ContainerSpec.Env.includes('SWARMML_DEVICE=gpu'));
  assert.deepEqual(t.Resources.Limits, {
    NanoCPUs: 2e9,
    MemoryBytes: 512 * 1024 * 1024,
    Pids: 100,
  });
  assert.equal(t.Resources.Reservations.NanoCPUs, 1e9);
  assert.deepEqual(t.Resources.Reservations.GenericResources, [
    { DiscreteResourceSpec: { Kind: 'NVIDIA-GPU', Value: 1 } },
  ]);
  assert.equal(t.RestartPolicy.Condition, 'none');
  assert.equal(s.EndpointSpec?.Mode, 'dnsrr');
  assert.ok(serviceName('x'.repeat(100)).length <= 63);
});
