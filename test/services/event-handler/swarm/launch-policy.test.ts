import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../shared/errors.js';
import {
  checkLaunchRequest,
  type LaunchPolicy,
  type LaunchRequest,
} from '../../../../shared/index.js';

const policy: LaunchPolicy = {
  images: ['swarmml/app:*', 'ghcr.io/lab/trainer:1.2'],
  networks: ['swarmml_net'],
  maxCpus: 4,
  maxMemoryMb: 8192,
};

function refusal(req: LaunchRequest, p: LaunchPolicy = policy): AppError {
  try {
    checkLaunchRequest(req, p);
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(req)} to be refused`);
}

test('allow-listed images and plain options pass', () => {
  checkLaunchRequest({ image: 'swarmml/app:3f2a9c1e' }, policy);
  checkLaunchRequest({ image: 'ghcr.io/lab/trainer:1.2', network: 'swarmml_net' }, policy);
  checkLaunchRequest(
    { mounts: [{ type: 'tmpfs', target: '/scratch' }], limits: { cpus: 4 } },
    policy,
  );
  checkLaunchRequest({}, policy);
});

test('every forbidden option is refused with 403 NOT_ALLOWED and names the field', () => {
  const cases: Array<[LaunchRequest, string]> = [
    [{ image: 'alpine:latest' }, 'image'],
    [{ image: 'ghcr.io/lab/trainer:1.3' }, 'image'],
    [{ image: 'swarmml/ap' }, 'image'],
    [{ mounts: [{ type: 'bind', source: '/', target: '/host' }] }, 'mounts'],
    [{ mounts: [{ source: '/var/run/docker.sock', target: '/s' }] }, 'mounts'],
    [{ mounts: [{ type: 'volume', source: 'data', target: '/d' }] }, 'mounts'],
    [{ privileged: true }, 'privileged'],
    [{ network: 'host' }, 'network'],
    [{ networkMode: 'host' }, 'network'],
    [{ network: 'container:abc' }, 'network'],
    [{ network: 'other_net' }, 'network'],
    [{ capAdd: ['SYS_ADMIN'] }, 'capAdd'],
    [{ devices: ['/dev/kvm'] }, 'devices'],
    [{ limits: { cpus: 8 } }, 'cpus'],
    [{ limits: { memoryMb: 10_000 } }, 'memoryMb'],
  ];
  for (const [req, field] of cases) {
    const err = refusal(req);
    assert.equal(err.code, 'NOT_ALLOWED', JSON.stringify(req));
    assert.equal(err.status, 403);
    assert.equal((err.details as { field: string }).field, field, JSON.stringify(req));
  }
});

test('volumes and GPUs follow the policy switches', () => {
  checkLaunchRequest(
    { mounts: [{ type: 'volume', source: 'data', target: '/d' }] },
    { ...policy, allowVolumes: true },
  );
  assert.equal(
    refusal(
      { mounts: [{ type: 'bind', source: '/x', target: '/d' }] },
      { ...policy, allowVolumes: true },
    ).code,
    'NOT_ALLOWED',
  );
  checkLaunchRequest({ device: 'gpu' }, policy);
  assert.equal(refusal({ device: 'gpu' }, { ...policy, allowGpu: false }).code, 'NOT_ALLOWED');
});
