import {
  BadInput,
  checkLaunchRequest,
  Forbidden,
  type EventLog,
  type LaunchPolicy,
  NotFound,
  parseDatasetRef,
  type CreateSessionRequest,
  type DatasetStore,
  type ModelRegistry,
  parseTrainerParams,
  BatchInferParams,
} from '../../../shared/index.js';

/**
 * Checks a session request against what exists before anything is queued: the dataset
 * and version, the trainer and its params, the generation to score with. Answers the
 * request with the dataset pinned to a version, so a later push cannot change what runs.
 */
export async function validateSessionRequest(
  d: {
    datasets: DatasetStore;
    registry: ModelRegistry;
    events: EventLog;
    policy: LaunchPolicy;
    who: string;
  },
  req: CreateSessionRequest,
): Promise<CreateSessionRequest> {
  if (req.container) {
    try {
      checkLaunchRequest({ ...req.container, device: req.device }, d.policy);
    } catch (err) {
      if (err instanceof Forbidden) {
        // Refused requests are archived: someone asked the Docker-socket holder for more.
        await d.events.append({
          kind: 'security.denied',
          payload: {
            reason: err.message,
            details: err.details ?? null,
            by: d.who,
            model: req.model,
          },
        });
      }
      throw err;
    }
  }
  const ref = parseDatasetRef(req.dataset);
  const info = await d.datasets.getDataset(ref.name).catch((err: unknown) => {
    if (err instanceof NotFound) {
      throw new NotFound(`dataset ${ref.name} not found`, { field: 'dataset', dataset: ref.name });
    }
    throw err;
  });
  const version = ref.version ?? info.latest;
  if (!version)
    throw new NotFound(`dataset ${ref.name} has no committed version`, { field: 'dataset' });
  await d.datasets.getVersion(ref.name, version).catch((err: unknown) => {
    if (err instanceof NotFound) {
      throw new NotFound(`dataset ${ref.name} has no version ${version}`, {
        field: 'dataset',
        versions: info.versions.map((v) => v.version),
      });
    }
    throw err;
  });
  let params = req.params;
  if (req.kind === 'train' && req.trainer !== 'external') {
    const p = parseTrainerParams({ ...req.params, trainer: req.trainer });
    params = { ...p };
    delete params.trainer;
  }
  if (req.trainer === 'external' && !req.container?.image && !req.container?.command) {
    throw new BadInput(
      'an external trainer needs container.image (swarm) or container.command (local)',
      {
        field: 'container',
      },
    );
  }
  if (req.kind === 'batch-infer') {
    params = BatchInferParams.parse(req.params);
    const gen = req.generation
      ? await d.registry.getGeneration(req.model, req.generation)
      : await d.registry.getProduction(req.model);
    if (!gen) throw new NotFound(`model ${req.model} has no production generation to score with`);
  }
  return { ...req, dataset: `${ref.name}@${version}`, params };
}
