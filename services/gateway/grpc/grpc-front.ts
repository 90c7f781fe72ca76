/**
 * The gateway's gRPC port (KServe v2 / Triton `inference.GRPCInferenceService`, plaintext
 * HTTP/2 as Triton serves it), built without listening so tests choose the port.
 */
import * as grpc from '@grpc/grpc-js';
import { inferenceService, type InferenceServiceDeps } from './inference-service.js';
import { serverServiceDefinition } from './proto-service.js';

/** The HTTP path's body limit, so the same tensors fit both. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export class GrpcFront {
  private readonly server: grpc.Server;
  private bound = false;

  constructor(deps: InferenceServiceDeps) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      // channelz keeps per-call counters for a debugging service this server does not offer
      'grpc.enable_channelz': 0,
    });
    this.server.addService(serverServiceDefinition(), inferenceService(deps));
  }

  /** Listens on `host:port` (0: a free port) and resolves with the port bound. */
  listen(port: number, host: string): Promise<number> {
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(err);
        else {
          this.bound = true;
          resolve(bound);
        }
      });
    });
  }

  /** Stops taking calls, lets running ones finish for `graceMs`, then cuts the rest. */
  close(graceMs = 2_000): Promise<void> {
    if (!this.bound) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
