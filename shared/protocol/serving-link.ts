/**
 * The serving link: the gateway's inference requests to a serving replica as length-framed
 * messages on one upgraded connection, many in flight at once, instead of an HTTP/1.1
 * exchange each. Measured here, a proxy hop over HTTP (undici) costs the gateway 100-150 µs
 * of CPU a request and the replica 30; over frames, 40 and 4 (docs/serving.md).
 *
 * A frame is `[u32 length of the rest][u32 id][u32 head bytes][head JSON][body]`, big-endian.
 * A request's head is its method, path and headers; an answer's is its status and headers.
 * The id pairs an answer with its request; answers may come in any order.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';

/** The `Upgrade` token both ends name; a replica that does not know it answers HTTP. */
export const SERVING_LINK_PROTOCOL = 'swarmml-link/1';
/** The path of the upgrade request on a replica's main port. */
export const SERVING_LINK_PATH = '/internal/link';

const Headers = z.record(z.string(), z.union([z.string(), z.array(z.string())]));

export const LinkRequestHead = z.object({
  method: z.string().min(1).max(16),
  path: z.string().min(1).max(8192),
  headers: Headers,
});
export type LinkRequestHead = z.infer<typeof LinkRequestHead>;

export const LinkAnswerHead = z.object({
  /** 0: the replica gave up on the answer part way (what a cut HTTP connection would say) */
  status: z.number().int().min(0).max(599),
  headers: Headers,
});
export type LinkAnswerHead = z.infer<typeof LinkAnswerHead>;

export interface LinkFrame {
  id: number;
  /** the head's JSON, not yet parsed: each end checks it against its own schema */
  head: string;
  body: Buffer;
}

const PREFIX = 12;

/** One frame's bytes, as buffers to write in one go (the body is not copied). */
export function encodeFrame(id: number, head: unknown, body: Buffer): Buffer[] {
  const headBytes = Buffer.from(JSON.stringify(head));
  const prefix = Buffer.allocUnsafe(PREFIX);
  prefix.writeUInt32BE(8 + headBytes.length + body.length, 0);
  prefix.writeUInt32BE(id, 4);
  prefix.writeUInt32BE(headBytes.length, 8);
  return body.length > 0 ? [prefix, headBytes, body] : [prefix, headBytes];
}

/**
 * Writes frames on a link's socket; the frames of one event-loop turn leave in one write.
 * Each of a server's requests comes in its own I/O callback, so the flush waits for the check
 * phase (`setImmediate`, after them all), not for the end of the callback (`nextTick`): per
 * callback, it was still a write per request.
 */
export class FrameWriter {
  private corked = false;

  constructor(private readonly socket: Writable) {}

  send(id: number, head: unknown, body: Buffer): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    for (const part of encodeFrame(id, head, body)) this.socket.write(part);
  }
}

/** A frame longer than a reader's limit: the connection is out of step or hostile. */
export class FrameTooLarge extends Error {
  readonly code = 'LINK_FRAME_TOO_LARGE';
}

/**
 * Cuts a byte stream into frames. Chunks are kept as they come and joined once a whole
 * frame is in, so a large body arriving in many chunks is copied once, not once a chunk.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;

  /** `maxFrameBytes`: the most one frame may carry, head and body together. */
  constructor(private readonly maxFrameBytes: number) {}

  /** The frames that `chunk` completes, in order; throws FrameTooLarge. */
  push(chunk: Buffer): LinkFrame[] {
    this.chunks.push(chunk);
    this.have += chunk.length;
    const frames: LinkFrame[] = [];
    for (;;) {
      if (this.have < PREFIX) return frames;
      const first = this.peek(PREFIX);
      const rest = first.readUInt32BE(0);
      if (rest > this.maxFrameBytes + 8) {
        throw new FrameTooLarge(`a frame of ${rest} bytes is over ${this.maxFrameBytes}`);
      }
      const headLength = first.readUInt32BE(8);
      if (headLength > rest - 8) throw new FrameTooLarge('a frame head longer than its frame');
      if (this.have < 4 + rest) return frames;
      const whole = this.take(4 + rest);
      frames.push({
        id: whole.readUInt32BE(4),
        head: whole.toString('utf8', PREFIX, PREFIX + headLength),
        body: whole.subarray(PREFIX + headLength),
      });
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length < n) this.chunks = [Buffer.concat(this.chunks)];
    const all = this.chunks[0]!;
    const out = all.subarray(0, n);
    if (all.length === n) this.chunks.shift();
    else this.chunks[0] = all.subarray(n);
    this.have -= n;
    return out;
  }
}
