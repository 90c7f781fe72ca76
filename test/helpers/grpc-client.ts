/**
 * A @grpc/grpc-js client of `inference.GRPCInferenceService`, built from the gateway's .proto
 * files, with promise-returning unary calls (tests and the serving benchmark).
 */
import * as grpc from '@grpc/grpc-js';
import { loadInferencePackage } from '../../services/gateway/grpc/proto-service.js';

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: unknown, md: grpc.Metadata, cb: Callback) => void;

export interface InferenceClient {
  /**
   * `method` is the RPC's name (`ModelInfer`, ...); `token` goes in `authorization`, and
   * `metadata` beside it.
   */
  call<T = any>(
    method: string,
    req: unknown,
    token?: string,
    metadata?: Record<string, string>,
  ): Promise<T>;
  close(): void;
}

export function inferenceClient(address: string): InferenceClient {
  const Ctor = loadInferencePackage().GRPCInferenceService;
  const client = new Ctor(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.enable_channelz': 0,
  });
  return {
    call<T>(
      method: string,
      req: unknown,
      token?: string,
      metadata: Record<string, string> = {},
    ): Promise<T> {
      const md = new grpc.Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      const fn = (client as unknown as Record<string, UnaryMethod>)[method];
      if (!fn) throw new Error(`no RPC ${method}`);
      return new Promise((resolve, reject) => {
        fn.call(client, req, md, (err, res) => (err ? reject(err) : resolve(res as T)));
      });
    },
    close: () => client.close(),
  };
}

/** Whether a rejection is a gRPC error with this status (for assert.rejects). */
export const hasStatus =
  (code: grpc.status, detail?: RegExp) =>
  (err: unknown): boolean => {
    const e = err as grpc.ServiceError;
    return e.code === code && (detail === undefined || detail.test(e.details));
  };
