/**
 * The messages of grpc_service.proto as @grpc/proto-loader hands them over with the options
 * in proto-service.ts: field names as in the .proto, int64 as decimal strings (numbers are
 * accepted when sending), enums as names, repeated fields and maps always present when
 * received; ModelInfer requests are protobufjs messages of the same shape with int64 as Long.
 * Only what the gateway reads or writes is typed.
 */

/** int64 as received: a decimal string (proto-loader), a Long (protobufjs decode) or a number. */
export type Int64 = string | number | { toString(): string };

export interface InferParameter {
  parameter_choice?:
    'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferInputTensor {
  name?: string;
  datatype?: string;
  shape?: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

export interface ModelInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs?: InferInputTensor[];
  outputs?: { name?: string; parameters?: Record<string, InferParameter> }[];
  raw_input_contents?: Uint8Array[];
}

export interface OutputTensor {
  name: string;
  datatype: string;
  shape: (string | number)[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  outputs: OutputTensor[];
  raw_output_contents?: Uint8Array[];
}

/** ModelReady, ModelMetadata, ModelConfig, ModelStatistics requests */
export interface ModelRef {
  name?: string;
  version?: string;
}

export interface RepositoryIndexRequest {
  repository_name?: string;
  ready?: boolean;
}

export interface RepositoryModelRequest {
  repository_name?: string;
  model_name?: string;
  parameters?: Record<string, unknown>;
}
