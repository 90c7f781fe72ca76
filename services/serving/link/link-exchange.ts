/**
 * One request that came over the serving link, as the request and response objects serving's
 * HTTP handler takes: the same routes, checks, errors and headers answer it, whichever way
 * it came. Only what the handler and shared/http use is there (the body as a stream, the
 * headers, the answer's head and body); the answer is kept whole and sent as one frame.
 */
import { Readable, Writable } from 'node:stream';
import type { IncomingMessage, OutgoingHttpHeader, ServerResponse } from 'node:http';
import type { LinkAnswerHead, LinkRequestHead } from '../../../shared/index.js';

class LinkRequest extends Readable {
  /** the whole body came in its frame (shared/http's sendError reads this) */
  readonly complete = true;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;

  constructor(head: LinkRequestHead, body: Buffer) {
    super();
    this.method = head.method;
    this.url = head.path;
    this.headers = head.headers;
    if (body.length > 0) this.push(body);
    this.push(null);
  }

  override _read(): void {}
}

type HeaderValue = string | string[];

function headerValue(v: OutgoingHttpHeader): HeaderValue {
  return Array.isArray(v) ? v.map(String) : String(v);
}

class LinkResponse extends Writable {
  statusCode = 200;
  headersSent = false;
  private readonly head: Record<string, HeaderValue> = {};
  private readonly parts: Buffer[] = [];
  private answered = false;

  constructor(private readonly onAnswer: (head: LinkAnswerHead, body: Buffer) => void) {
    super();
  }

  setHeader(name: string, value: OutgoingHttpHeader): this {
    this.head[name.toLowerCase()] = headerValue(value);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.head[name.toLowerCase()];
  }

  hasHeader(name: string): boolean {
    return name.toLowerCase() in this.head;
  }

  removeHeader(name: string): void {
    delete this.head[name.toLowerCase()];
  }

  writeHead(status: number, headers?: Record<string, OutgoingHttpHeader | undefined>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) {
      if (v !== undefined) this.setHeader(k, v);
    }
    this.headersSent = true;
    return this;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.headersSent = true;
    this.parts.push(chunk);
    cb();
  }

  override _final(cb: () => void): void {
    this.answer({ status: this.statusCode, headers: this.head }, this.parts);
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    // Cut part way (an error after the head went out): what a cut HTTP connection says.
    this.answer({ status: 0, headers: {} }, []);
    cb(err);
  }

  private answer(head: LinkAnswerHead, parts: Buffer[]): void {
    if (this.answered) return;
    this.answered = true;
    this.onAnswer(head, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }
}

/**
 * Runs `handle` on one linked request; `onAnswer` gets its answer once, whole (status 0 when
 * the handler cut it off).
 */
export function runLinked(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  head: LinkRequestHead,
  body: Buffer,
  onAnswer: (head: LinkAnswerHead, body: Buffer) => void,
): void {
  // The handler is written against node:http's types; these two carry every member it uses.
  handle(
    new LinkRequest(head, body) as unknown as IncomingMessage,
    new LinkResponse(onAnswer) as unknown as ServerResponse,
  );
}
