/**
 * Serving's end of the serving link (shared/protocol/serving-link.ts): the gateway upgrades a
 * connection to the main port and sends inference requests on it as frames; each is answered
 * by the same handler as an HTTP request, and answers written in the same loop turn go out
 * in one write. Only the main port accepts it: the direct port checks a client's token per
 * request, which a link does not carry.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  FrameReader,
  FrameWriter,
  LinkRequestHead,
  SERVING_LINK_PATH,
  SERVING_LINK_PROTOCOL,
  type Logger,
} from '../../../shared/index.js';
import { runLinked } from './link-exchange.js';

export interface LinkServerOptions {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  log: Logger;
  /** the largest request body a frame may carry (serving's own body limit) */
  maxBodyBytes: number;
}

/** Room for a request's head beside its body in one frame. */
const HEAD_ROOM_BYTES = 64 * 1024;

export interface LinkServer {
  /** connections open now */
  readonly open: number;
  close(): void;
}

/** Accepts serving links on `server`'s upgrade requests. */
export function acceptServingLinks(server: Server, o: LinkServerOptions): LinkServer {
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (
      req.url !== SERVING_LINK_PATH ||
      req.headers.upgrade?.toLowerCase() !== SERVING_LINK_PROTOCOL
    ) {
      const asked = (req.headers.upgrade ?? '').slice(0, 40);
      const text = JSON.stringify({ error: `no upgrade to "${asked}" here` });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${SERVING_LINK_PROTOCOL}\r\n` +
        `connection: Upgrade\r\n\r\n`,
    );
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    serveLink(socket, head, o);
  });
  return {
    get open() {
      return sockets.size;
    },
    close() {
      for (const s of sockets) s.destroy();
    },
  };
}

function serveLink(socket: Duplex, head: Buffer, o: LinkServerOptions): void {
  (socket as Duplex & { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  const reader = new FrameReader(o.maxBodyBytes + HEAD_ROOM_BYTES);
  const writer = new FrameWriter(socket);
  const onFrames = (chunk: Buffer) => {
    let frames;
    try {
      frames = reader.push(chunk);
    } catch (err) {
      o.log.warn({ err }, 'serving link out of step: closed');
      socket.destroy();
      return;
    }
    for (const frame of frames) {
      const parsed = parseHead(frame.head);
      if (typeof parsed === 'string') {
        const text = JSON.stringify({ error: parsed, code: 'BAD_INPUT' });
        writer.send(
          frame.id,
          { status: 400, headers: { 'content-type': 'application/json' } },
          Buffer.from(text),
        );
        continue;
      }
      runLinked(o.handle, parsed, frame.body, (answer, body) =>
        writer.send(frame.id, answer, body),
      );
    }
  };
  socket.on('data', onFrames);
  socket.on('error', (err) => o.log.debug({ err }, 'serving link error'));
  if (head.length > 0) onFrames(head);
}

/** A request head, or why it is not one. */
function parseHead(text: string): LinkRequestHead | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'a link request head that is not JSON';
  }
  const head = LinkRequestHead.safeParse(value);
  return head.success ? head.data : `a bad link request head: ${head.error.issues[0]?.message}`;
}
