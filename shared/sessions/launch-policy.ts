import { Forbidden } from '../errors.js';

/**
 * What a session asks of its worker container. Only `image` and the limits are ever honoured;
 * the other fields exist so that a request naming them can be refused rather than ignored.
 */
export interface LaunchRequest {
  image?: string;
  /** Local mode runs this as a host process: its executable must be allow-listed. */
  command?: readonly string[];
  /** Any bind mount is refused; named volumes only when the policy allows them. */
  mounts?: Array<{ type?: string; source?: string; target?: string }>;
  privileged?: boolean;
  /** `host` is always refused; other names must be in `policy.networks`. */
  network?: string;
  networkMode?: string;
  capAdd?: string[];
  devices?: string[];
  device?: 'cpu' | 'gpu';
  limits?: { cpus?: number; memoryMb?: number; pids?: number };
}

/** The allow-list from the event handler's config. */
export interface LaunchPolicy {
  /**
   * Images a session may run: exact references, or prefixes ending in `*`
   * (`swarmml/app:*`, `ghcr.io/our-lab/*`).
   */
  images: readonly string[];
  /** Executables a local-mode session may run as `command[0]`. @defaultValue [] (none) */
  commands?: readonly string[];
  /** Networks a session may name besides the default one. @defaultValue [] */
  networks?: readonly string[];
  /** Whether named volumes may be mounted. @defaultValue false */
  allowVolumes?: boolean;
  /** @defaultValue true */
  allowGpu?: boolean;
  /** Upper bounds on the limits a session may ask for. */
  maxCpus?: number;
  maxMemoryMb?: number;
  maxPids?: number;
}

function refuse(message: string, field: string, value: unknown): never {
  throw new Forbidden(message, { field, value }, 'NOT_ALLOWED');
}

export function imageAllowed(image: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) =>
    pattern.endsWith('*') ? image.startsWith(pattern.slice(0, -1)) : image === pattern,
  );
}

/**
 * Refuses, with `Forbidden(..., 'NOT_ALLOWED')`, any request for an image or an option outside
 * the policy. Pure: the caller answers 403 and archives a security event; nothing is launched.
 */
export function checkLaunchRequest(req: LaunchRequest, policy: LaunchPolicy): void {
  if (req.image !== undefined && !imageAllowed(req.image, policy.images)) {
    refuse(`image ${req.image} is not allow-listed`, 'image', req.image);
  }
  if (req.command !== undefined && req.command.length > 0) {
    const exe = req.command[0] ?? '';
    if (!(policy.commands ?? []).includes(exe))
      refuse(`command ${exe} is not allow-listed`, 'command', exe);
  }
  if (req.privileged === true) refuse('privileged mode is not allowed', 'privileged', true);
  for (const net of [req.network, req.networkMode]) {
    if (net === undefined) continue;
    if (net === 'host' || net.startsWith('container:')) {
      refuse(`network ${net} is not allowed`, 'network', net);
    }
    if (!(policy.networks ?? []).includes(net)) {
      refuse(`network ${net} is not allow-listed`, 'network', net);
    }
  }
  if (req.capAdd !== undefined && req.capAdd.length > 0) {
    refuse('added capabilities are not allowed', 'capAdd', req.capAdd);
  }
  if (req.devices !== undefined && req.devices.length > 0) {
    refuse('host devices are not allowed', 'devices', req.devices);
  }
  for (const m of req.mounts ?? []) {
    // A mount without an explicit type is treated as the dangerous kind: a bind.
    const type = m.type ?? 'bind';
    if (type === 'tmpfs') continue;
    if (type === 'volume' && policy.allowVolumes === true) continue;
    refuse(`${type} mounts are not allowed`, 'mounts', m);
  }
  if (req.device === 'gpu' && policy.allowGpu === false) {
    refuse('GPU sessions are not allowed', 'device', 'gpu');
  }
  const l = req.limits ?? {};
  const over = (v: number | undefined, max: number | undefined): boolean =>
    v !== undefined && max !== undefined && v > max;
  if (over(l.cpus, policy.maxCpus))
    refuse(`cpus ${l.cpus} exceeds ${policy.maxCpus}`, 'cpus', l.cpus);
  if (over(l.memoryMb, policy.maxMemoryMb)) {
    refuse(`memoryMb ${l.memoryMb} exceeds ${policy.maxMemoryMb}`, 'memoryMb', l.memoryMb);
  }
  if (over(l.pids, policy.maxPids))
    refuse(`pids ${l.pids} exceeds ${policy.maxPids}`, 'pids', l.pids);
}

/** The policy from the comma lists in config (ALLOWED_IMAGES, ALLOWED_COMMANDS). */
export function policyFromConfig(images: string, commands: string): LaunchPolicy {
  const list = (s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return { images: list(images), commands: list(commands) };
}
