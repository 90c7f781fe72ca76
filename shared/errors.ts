/**
 * Typed errors with a stable `code`. Domain code throws these; only the gateway's
 * error middleware turns them into HTTP responses (see docs/errors.md).
 */
export class AppError extends Error {
  readonly status: number = 500;
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The shape sent across process boundaries and in HTTP bodies. */
  toJSON(): SerializedError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export class BadInput extends AppError {
  override readonly status = 400;
  constructor(message: string, details?: unknown, code = 'BAD_INPUT') {
    super(code, message, details);
  }
}

export class Unauthorized extends AppError {
  override readonly status = 401;
  constructor(message = 'missing or invalid API token', details?: unknown) {
    super('UNAUTHORIZED', message, details);
  }
}

export class Forbidden extends AppError {
  override readonly status = 403;
  constructor(message: string, details?: unknown, code = 'FORBIDDEN') {
    super(code, message, details);
  }
}

export class NotFound extends AppError {
  override readonly status = 404;
  constructor(message: string, details?: unknown, code = 'NOT_FOUND') {
    super(code, message, details);
  }
}

export class Conflict extends AppError {
  override readonly status = 409;
  constructor(message: string, details?: unknown, code = 'CONFLICT') {
    super(code, message, details);
  }
}

export class PayloadTooLarge extends AppError {
  override readonly status = 413;
  constructor(message: string, details?: unknown) {
    super('PAYLOAD_TOO_LARGE', message, details);
  }
}

export class UnsupportedMediaType extends AppError {
  override readonly status = 415;
  constructor(message: string, details?: unknown) {
    super('UNSUPPORTED_FORMAT', message, details);
  }
}

export class TooManyRequests extends AppError {
  override readonly status = 429;
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('RATE_LIMITED', message, { retryAfterS });
  }
}

export class Unavailable extends AppError {
  override readonly status = 503;
  /** Seconds a client should wait before retrying (sent as Retry-After) when known. */
  readonly retryAfterS: number | undefined;
  constructor(
    message: string,
    details?: unknown,
    code = 'UNAVAILABLE',
    opts: { retryAfterS?: number; cause?: unknown } = {},
  ) {
    super(code, message, details, { cause: opts.cause });
    this.retryAfterS = opts.retryAfterS;
  }
}

/** A serving replica failed while the gateway forwarded a request to it. */
export class BadGateway extends AppError {
  override readonly status = 502;
  constructor(message: string, details?: unknown) {
    super('BAD_GATEWAY', message, details);
  }
}

export interface SerializedError {
  name: string;
  code: string;
  message: string;
  details?: unknown;
}

const BY_NAME: Record<string, new (message: string, details?: unknown) => AppError> = {
  BadInput,
  Unauthorized,
  NotFound,
  Conflict,
  PayloadTooLarge,
  UnsupportedMediaType,
  Unavailable,
};

/** Rebuilds an AppError from its serialized form (child processes, WS replies). */
export function reviveError(e: SerializedError): AppError {
  const Ctor = BY_NAME[e.name];
  if (Ctor) {
    const err = new Ctor(e.message, e.details);
    (err as { code: string }).code = e.code;
    return err;
  }
  return new AppError(e.code, e.message, e.details);
}

/**
 * Every error code the platform emits, with its status and what a user should do.
 * docs/errors.md is checked against this table by a test.
 */
export const ERROR_CODES = {
  BAD_INPUT: {
    status: 400,
    meaning: 'the request or an uploaded file is malformed',
    action: 'fix the input at the path/line given in the body',
  },
  UNAUTHORIZED: {
    status: 401,
    meaning: 'no token, or an unknown token',
    action: 'send `Authorization: Bearer <token>`',
  },
  FORBIDDEN: {
    status: 403,
    meaning: 'the token role may not do this',
    action: 'use a token with a larger role',
  },
  NOT_ALLOWED: {
    status: 403,
    meaning: 'a session asked for an image or option outside the allow-list',
    action: 'use an allow-listed image; no bind mounts, privileges or host network',
  },
  NOT_FOUND: {
    status: 404,
    meaning: 'the model, dataset, version, session or route does not exist',
    action: 'check the name; the body lists known names where useful',
  },
  CONFLICT: {
    status: 409,
    meaning: 'the change conflicts with current state (e.g. deleting production)',
    action: 'read the message, change state first, or force where offered',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    meaning: 'the body exceeds the configured limit',
    action: 'split the upload or raise the limit in config',
  },
  UNSUPPORTED_FORMAT: {
    status: 415,
    meaning: 'unknown dataset or body format',
    action: 'pass one of the listed formats',
  },
  RATE_LIMITED: {
    status: 429,
    meaning: 'the token exceeded its rate limit',
    action: 'retry after Retry-After seconds',
  },
  UNAVAILABLE: {
    status: 503,
    meaning: 'a dependency (Redis, a model process) is not ready',
    action: 'retry shortly',
  },
  BAD_GATEWAY: {
    status: 502,
    meaning: 'a serving replica failed while answering an inference request',
    action: 'retry; if it persists, read the serving logs',
  },
  INTERNAL: { status: 500, meaning: 'a bug', action: 'report it with the errorId from the body' },
} as const satisfies Record<string, { status: number; meaning: string; action: string }>;
