/**
 * Errors → gRPC status codes, in one place: the gateway's AppErrors (auth, bad input) and
 * the HTTP statuses serving replicas answer, mapped the way Triton maps its own errors.
 */
import { randomUUID } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { AppError, type Logger } from '../../../shared/index.js';

/** A serving replica answered a non-2xx status; `message` is its protocol error. */
export class ReplicaError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
    this.name = 'ReplicaError';
  }
}

/** An error that already names its gRPC status (FAILED_PRECONDITION and the like). */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcStatusError';
  }
}

/** HTTP status → gRPC status. */
export function statusOf(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
    case 415:
    case 422:
      return status.INVALID_ARGUMENT;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.NOT_FOUND;
    case 409:
      return status.ALREADY_EXISTS;
    case 413:
    case 429:
      return status.RESOURCE_EXHAUSTED;
    case 501:
      return status.UNIMPLEMENTED;
    case 502:
    case 503:
      return status.UNAVAILABLE;
    case 504:
      return status.DEADLINE_EXCEEDED;
    default:
      return httpStatus >= 400 && httpStatus < 500 ? status.INVALID_ARGUMENT : status.INTERNAL;
  }
}

/** Any thrown value → the error a grpc-js callback takes; unexpected ones are logged. */
export function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.message };
  if (err instanceof ReplicaError) return { code: statusOf(err.httpStatus), details: err.message };
  if (err instanceof AppError) return { code: statusOf(err.status), details: err.message };
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('E')) {
    // the replica went away mid-request (a connection error that could not be retried)
    return { code: status.UNAVAILABLE, details: `serving replica failed: ${code}` };
  }
  const errorId = randomUUID();
  log.error({ err, errorId }, 'gRPC call failed');
  return { code: status.INTERNAL, details: `internal error (errorId ${errorId})` };
}
