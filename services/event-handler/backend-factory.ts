import { handlerHttpUrl, policyFromConfig, spareToken, type Logger } from '../../shared/index.js';
import type { Backend } from './backend.js';
import type { HandlerConfig } from './config.js';
import { ProcessBackend } from './process-backend.js';
import { SwarmBackend } from './swarm/swarm-backend.js';

/** The backend config asks for: local child processes, or one Swarm service per session. */
export function createBackend(config: HandlerConfig, log: Logger): Backend {
  if (config.BACKEND === 'process') {
    return new ProcessBackend(log, {
      warm: config.WARM_TRAINER,
      baseEnv: { PATH: config.PATH, HOME: config.HOME },
    });
  }
  const secrets = config.SWARM_WORKER_SECRETS.split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [name = '', target] = s.split(':');
      return { name, ...(target ? { target } : {}) };
    });
  return new SwarmBackend({
    image: config.TRAINER_IMAGE,
    scope: config.SWARM_SCOPE,
    ...(config.SWARM_NETWORK ? { network: config.SWARM_NETWORK } : {}),
    secrets,
    policy: policyFromConfig(config.ALLOWED_IMAGES, config.ALLOWED_COMMANDS),
    stopGraceMs: config.STOP_GRACE_MS,
    // Spares reach the handler where workers do: without that address there are none.
    ...(config.WARM_TRAINER && config.HANDLER_WS_URL
      ? {
          spares: {
            waitUrl: (id: string) =>
              handlerHttpUrl(config.HANDLER_WS_URL!, `/spares/${encodeURIComponent(id)}/session`),
            token: (id: string) => spareToken(id, config.internalToken),
          },
        }
      : {}),
    log,
  });
}
