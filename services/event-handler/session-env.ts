import { workerToken, type CreateSessionRequest } from '../../shared/index.js';
import type { HandlerConfig } from './config.js';

/**
 * The worker contract's environment (docs/workers.md): what any trainer, built-in or in
 * another language, gets to find its data, report events and upload its generation.
 */
export function sessionEnv(
  sessionId: string,
  req: CreateSessionRequest,
  config: HandlerConfig,
  handlerWsUrl: string,
): Record<string, string> {
  return {
    SWARMML_SESSION: sessionId,
    SWARMML_KIND: req.kind,
    SWARMML_MODEL: req.model,
    SWARMML_DATASET: req.dataset,
    SWARMML_TRAINER: req.trainer,
    SWARMML_PARAMS: JSON.stringify(req.params),
    SWARMML_DEVICE: req.device,
    SWARMML_TIME_BUDGET_S: String(req.timeBudgetS),
    ...(req.generation ? { SWARMML_GENERATION: String(req.generation) } : {}),
    SWARMML_GATEWAY_URL: config.GATEWAY_URL,
    SWARMML_HANDLER_URL: handlerWsUrl,
    SWARMML_TOKEN: workerToken(sessionId, config.internalToken),
    REDIS_URL: config.REDIS_URL,
    SWARMML_PREFIX: config.SWARMML_PREFIX,
    LOG_LEVEL: config.LOG_LEVEL,
    PATH: config.PATH,
    HOME: config.HOME,
  };
}
