import type { ErrorRequestHandler } from 'express';
import { sendError, type Logger } from '../../../shared/index.js';

/** Express's end of the one error path: shared/http's mapper answers, as every service's does. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    sendError(req, res, err, log);
  };
}
