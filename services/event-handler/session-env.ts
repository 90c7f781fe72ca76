import { workerToken, type CreateSessionRequest } from '../../shared/index.js';
import type { HandlerConfig } from './config.js';

/**
 * Whether the session runs one of this platform's own workers (the trainer or batch inference
 * of the built-in image) rather than a command or image its requester chose: no command, and
 * in swarm mode no image other than the trainer image (the process backend ignores images).
 */
export function runsBuiltinWorker(req: CreateSessionRequest, config: HandlerConfig): boolean {
  if (req.container?.command?.length) return false;
  const image = req.container?.image;
  return config.BACKEND === 'process' || image === undefined || image === config.TRAINER_IMAGE;
}

/**
 * The worker contract's environment (docs/workers.md): what any trainer, built-in or in
 * another language, gets to find its data, report events and upload its generation.
 *
 * Only the built-in workers get a Redis URL, with their own ACL user (reading datasets, adding
 * generations; docs/security.md): code someone else wrote never holds store credentials and
 * reaches the platform only through the gateway, with a token scoped to its session.
 */
export function sessionEnv(
  sessionId: string,
  req: CreateSessionRequest,
  config: HandlerConfig,
  handlerWsUrl: string,
): Record<string, string> {
  const store: Record<string, string> = runsBuiltinWorker(req, config)
    ? {
        REDIS_URL: config.workerRedis[req.kind === 'batch-infer' ? 'batch-infer' : 'trainer'],
        SWARMML_PREFIX: config.SWARMML_PREFIX,
      }
    : {};
  return {
    SWARMML_SESSION: sessionId,
    SWARMML_KIND: req.kind,
    SWARMML_MODEL: req.model,
    SWARMML_DATASET: req.dataset,
    SWARMML_TRAINER: req.trainer,
    SWARMML_PARAMS: JSON.stringify(req.params),
    SWARMML_DEVICE: req.device,
    SWARMML_TIME_BUDGET_S: String(req.timeBudgetS),
    SWARMML_CHECKPOINT_EVERY_S: String(config.CHECKPOINT_EVERY_S),
    ...(req.generation ? { SWARMML_GENERATION: String(req.generation) } : {}),
    SWARMML_GATEWAY_URL: config.GATEWAY_URL,
    SWARMML_HANDLER_URL: handlerWsUrl,
    SWARMML_TOKEN: workerToken(sessionId, config.internalToken),
    ...store,
    LOG_LEVEL: config.LOG_LEVEL,
    PATH: config.PATH,
    HOME: config.HOME,
  };
}
