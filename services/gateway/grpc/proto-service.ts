/** Loads `inference.GRPCInferenceService` from the .proto files beside this module. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/**
 * The folder of grpc_service.proto and model_config.proto: next to this module in the source
 * tree, and copied next to the compiled one by `npm run build`.
 */
export const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

/** How messages look in JS; messages.ts types them accordingly. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  // int64 as decimal strings: INT64 contents keep every digit.
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  objects: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

export interface InferencePackage {
  GRPCInferenceService: grpc.ServiceClientConstructor;
}

/** The `inference` package (servers add its service; tests build clients from it). */
export function loadInferencePackage(): InferencePackage {
  const file = `${PROTO_DIR}grpc_service.proto`;
  if (!existsSync(file)) throw new Error(`gRPC service definition missing: ${file}`);
  const def = protoLoader.loadSync('grpc_service.proto', LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as { inference: InferencePackage };
  return pkg.inference;
}

/**
 * The service definition the gateway serves. ModelInfer, the hot path, skips proto-loader's
 * conversion to and from plain objects: requests arrive as protobufjs messages (int64 fields
 * as Long, read through infer-codec.ts) and answers are encoded from plain objects directly.
 */
export function serverServiceDefinition(): grpc.ServiceDefinition {
  const def = loadInferencePackage().GRPCInferenceService.service;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => `${PROTO_DIR}${target}`;
  root.loadSync('grpc_service.proto', { keepCase: true });
  const request = root.lookupType('inference.ModelInferRequest');
  const response = root.lookupType('inference.ModelInferResponse');
  const infer = def.ModelInfer!;
  return {
    ...def,
    ModelInfer: {
      ...infer,
      requestDeserialize: (bytes: Buffer) => request.decode(bytes),
      responseSerialize: (value: object) => Buffer.from(response.encode(value).finish()),
    },
  };
}
