import type Docker from 'dockerode';

/** The parts of a service's spec the backend changes; the rest is passed back as it was. */
export interface ServiceSpec {
  Labels?: Record<string, string>;
  Mode?: unknown;
  TaskTemplate?: { ForceUpdate?: number };
  [key: string]: unknown;
}

/**
 * Updates a service from its current spec, at the version it was read at (the Engine refuses
 * an update made from an older one). False when the service is gone.
 */
export async function updateService(
  docker: Docker,
  serviceId: string,
  change: (spec: ServiceSpec) => ServiceSpec,
): Promise<boolean> {
  const service = docker.getService(serviceId);
  const info = (await service.inspect().catch((err: { statusCode?: number }) => {
    if (err.statusCode === 404) return undefined;
    throw err;
  })) as { Version: { Index: number }; Spec: ServiceSpec } | undefined;
  if (!info) return false;
  await service.update({ version: info.Version.Index, ...change(info.Spec) });
  return true;
}

/** Removes a service; one already gone is not an error. */
export async function removeService(docker: Docker, serviceId: string): Promise<void> {
  await docker
    .getService(serviceId)
    .remove()
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 404) throw err;
    });
}
