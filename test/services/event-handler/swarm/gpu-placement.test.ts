import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import type { WorkerExit } from '../../../../services/event-handler/backend.js';
import {
  SCOPE_LABEL,
  SwarmBackend,
} from '../../../../services/event-handler/swarm/swarm-backend.js';
import { nodeFacts } from '../../../../services/event-handler/swarm/swarm-placement.js';
import { waitFor } from '../../../helpers/wait.js';
import { dockerCli, swarmEnv } from './swarm-env.js';

// The daemon advertises a fake NVIDIA-GPU (ensure-docker.sh with SWARMML_FAKE_GPUS), so "no GPU
// node" is shown by the missing `gpu` label and "a GPU node appears" by adding it: restarting
// dockerd with other flags mid-suite would disturb every other swarm test.
const env = swarmEnv();
let skip: string | false = env.skip;
let gpuIds: string[] = [];
let nodeId = '';
if (!skip) {
  nodeId = dockerCli(['info', '-f', '{{.Swarm.NodeID}}']);
  const facts = nodeFacts((await env.docker!.getNode(nodeId).inspect()) as never);
  gpuIds = facts.generic['NVIDIA-GPU'] ?? [];
  if (gpuIds.length === 0) {
    skip = 'dockerd was started without --node-generic-resource NVIDIA-GPU=<id>';
    console.log(`# gpu placement test skipped: ${skip}`);
  }
}

describe('GPU sessions on a swarm', { skip }, () => {
  const docker = env.docker as Docker;
  const scope = `t-${randomUUID().slice(0, 8)}`;
  const backend = new SwarmBackend({
    docker,
    scope,
    image: 'debian:bookworm-slim',
    namePrefix: scope,
    pollMs: 300,
  });
  const exits: WorkerExit[] = [];
  backend.onExit((e) => exits.push(e));
  const hadLabel = skip
    ? ''
    : dockerCli(['node', 'inspect', nodeId, '-f', '{{index .Spec.Labels "gpu"}}']);

  after(async () => {
    await backend.close();
    const left = await docker.listServices({ filters: { label: [`${SCOPE_LABEL}=${scope}`] } });
    for (const s of left)
      await docker
        .getService(s.ID)
        .remove()
        .catch(() => {});
    if (hadLabel) dockerCli(['node', 'update', '--label-add', `gpu=${hadLabel}`, nodeId]);
    else dockerCli(['node', 'update', '--label-rm', 'gpu', nodeId], { allowFail: true });
  });

  test('stays pending with a clear reason until a node labelled gpu=true advertises a GPU', async () => {
    dockerCli(['node', 'update', '--label-rm', 'gpu', nodeId], { allowFail: true });
    const p = await backend.launch({
      sessionId: `gpu-${randomUUID()}`,
      kind: 'train',
      // `env` itself: sh would drop DOCKER_RESOURCE_NVIDIA-GPU (not a valid shell name).
      command: ['env'],
      env: {},
      device: 'gpu',
      limits: { cpus: 0.2, memoryMb: 32 },
    });
    assert.deepEqual(p.constraints, ['node.labels.gpu==true']);
    assert.match(p.pendingReason ?? '', /no ready node has label gpu=true/);
    const waiting = await waitFor(
      async () => {
        const v = await backend.inspectWorker(p.workerId);
        return v.phase === 'waiting' && /no suitable node/.test(v.reason ?? '') ? v : undefined;
      },
      { timeoutMs: 15_000, what: 'the scheduler to give a reason' },
    );
    assert.equal(waiting.state, 'pending');
    assert.equal(exits.length, 0);

    dockerCli(['node', 'update', '--label-add', 'gpu=true', nodeId]);
    const exit = await waitFor(() => exits.find((e) => e.workerId === p.workerId), {
      timeoutMs: 30_000,
      what: 'the GPU session to run and end',
    });
    assert.equal(exit.exitCode, 0);
    // Swarm hands the reserved device id to the task, as it would a real GPU's.
    assert.ok(
      exit.lastLogs?.some((l) => gpuIds.some((id) => l === `DOCKER_RESOURCE_NVIDIA-GPU=${id}`)),
      JSON.stringify(exit),
    );
  });
});
