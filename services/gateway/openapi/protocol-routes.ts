import { z } from 'zod';
import { defineRoute, named } from './route-spec.js';

/*
 * Routes the gateway answers outside express: the inference protocols, which the inference
 * proxy forwards to a serving replica byte for byte (the replica parses and validates the
 * tensors), and the health probes. Declared here for the document only; a test calls each
 * inference route through a gateway in front of a real serving replica.
 */

const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

const V2Tensor = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  datatype: z.enum(DATATYPES),
  parameters: z.record(z.string(), z.unknown()).optional(),
  data: z
    .array(z.unknown())
    .optional()
    .describe('values in row-major order, flat or nested; absent for binary tensor data'),
});

const V2InferRequest = named(
  'KServeInferRequest',
  z.object({
    id: z.string().optional().describe('echoed in the answer'),
    parameters: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('e.g. binary_data_output: true'),
    inputs: z.array(V2Tensor).min(1),
    outputs: z
      .array(
        z.object({ name: z.string(), parameters: z.record(z.string(), z.unknown()).optional() }),
      )
      .optional()
      .describe('which outputs to return (all when omitted)'),
  }),
);

const V2InferResponse = named(
  'KServeInferResponse',
  z.object({
    model_name: z.string(),
    model_version: z.string().optional().describe('the generation that answered'),
    id: z.string().optional(),
    outputs: z.array(V2Tensor),
  }),
);

const TfPredictRequest = named(
  'TfPredictRequest',
  z.union([
    z.object({
      signature_name: z.string().optional(),
      instances: z.array(z.unknown()).describe('row format: one entry per example'),
    }),
    z.object({
      signature_name: z.string().optional(),
      inputs: z
        .union([z.array(z.unknown()), z.record(z.string(), z.unknown())])
        .describe('columnar format: a tensor, or tensors by input name'),
    }),
  ]),
);

const TfPredictResponse = named(
  'TfPredictResponse',
  z.union([z.object({ predictions: z.array(z.unknown()) }), z.object({ outputs: z.unknown() })]),
);

const Model = z.string().describe('model name');
const Version = z.string().regex(/^\d+$/).describe('generation number');

const binary = { type: 'string', format: 'binary' } as const;

const INFER_ERRORS = {
  400: 'a request that does not fit the model (tensor names, shapes, datatypes)',
  404: 'no such model or version',
  413: 'a body over 64 MiB',
  502: 'the replica failed mid-answer',
  503: 'no serving replica is reachable, or the model is not loaded yet',
} as const;

const META_ERRORS = {
  404: 'no such model or version',
  502: 'the replica failed mid-answer',
  503: 'no serving replica is reachable',
} as const;

const inference = { tag: 'inference', kind: 'inference' } as const;

/** KServe v2 (Open Inference Protocol) and TF Serving REST, as the gateway forwards them. */
export const inferenceApi = {
  v2Server: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2',
    permission: 'read',
    summary: 'KServe v2 server metadata: name, version, extensions',
    errors: { 503: META_ERRORS[503] },
  }),
  v2Live: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/health/live',
    permission: 'public',
    summary: 'KServe v2 liveness of a serving replica',
    errors: { 503: META_ERRORS[503] },
  }),
  v2Ready: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/health/ready',
    permission: 'public',
    summary: 'KServe v2 readiness: 503 until the replica has loaded its models',
    errors: { 503: 'not ready, or no serving replica is reachable' },
  }),
  v2Models: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models',
    permission: 'read',
    summary: 'Models the replica serves (KServe model repository extension)',
    errors: { 503: META_ERRORS[503] },
  }),
  v2Model: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models/:model',
    permission: 'read',
    summary: 'KServe v2 model metadata: versions, platform, input and output tensors',
    params: z.object({ model: Model }),
    errors: META_ERRORS,
  }),
  v2ModelReady: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models/:model/ready',
    permission: 'read',
    summary: 'KServe v2 model readiness (503 while loading)',
    params: z.object({ model: Model }),
    errors: { ...META_ERRORS, 503: 'the model is not ready, or no replica is reachable' },
  }),
  v2ModelConfig: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models/:model/config',
    permission: 'read',
    summary: "Triton's model configuration (max_batch_size, dims), for perf_analyzer",
    params: z.object({ model: Model }),
    errors: META_ERRORS,
  }),
  v2Version: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models/:model/versions/:version',
    permission: 'read',
    summary: 'KServe v2 metadata of one generation',
    params: z.object({ model: Model, version: Version }),
    errors: META_ERRORS,
  }),
  v2VersionReady: defineRoute({
    ...inference,
    method: 'get',
    path: '/v2/models/:model/versions/:version/ready',
    permission: 'read',
    summary: 'KServe v2 readiness of one generation',
    params: z.object({ model: Model, version: Version }),
    errors: { ...META_ERRORS, 503: 'the generation is not ready, or no replica is reachable' },
  }),
  v2Infer: defineRoute({
    ...inference,
    method: 'post',
    path: '/v2/models/:model/infer',
    permission: 'predict',
    summary: 'KServe v2 inference on the production generation (JSON or binary tensors)',
    description:
      'Binary tensor data: send application/octet-stream with the JSON header first and its ' +
      'length in Inference-Header-Content-Length. Answers in kind.',
    params: z.object({ model: Model }),
    body: { raw: { 'application/json': V2InferRequest, 'application/octet-stream': binary } },
    bodyExample: {
      inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }],
    },
    response: V2InferResponse,
    errors: INFER_ERRORS,
  }),
  v2VersionInfer: defineRoute({
    ...inference,
    method: 'post',
    path: '/v2/models/:model/versions/:version/infer',
    permission: 'predict',
    summary: 'KServe v2 inference on one generation',
    params: z.object({ model: Model, version: Version }),
    body: { raw: { 'application/json': V2InferRequest, 'application/octet-stream': binary } },
    response: V2InferResponse,
    errors: INFER_ERRORS,
  }),
  tfStatus: defineRoute({
    ...inference,
    method: 'get',
    path: '/v1/models/:model',
    permission: 'read',
    summary: 'TF Serving model status (model_version_status)',
    params: z.object({ model: Model }),
    errors: META_ERRORS,
  }),
  tfVersionStatus: defineRoute({
    ...inference,
    method: 'get',
    path: '/v1/models/:model/versions/:version',
    permission: 'read',
    summary: 'TF Serving status of one generation',
    params: z.object({ model: Model, version: Version }),
    errors: META_ERRORS,
  }),
  tfMetadata: defineRoute({
    ...inference,
    method: 'get',
    path: '/v1/models/:model/metadata',
    permission: 'read',
    summary: 'TF Serving metadata (signature_def)',
    params: z.object({ model: Model }),
    errors: META_ERRORS,
  }),
  tfVersionMetadata: defineRoute({
    ...inference,
    method: 'get',
    path: '/v1/models/:model/versions/:version/metadata',
    permission: 'read',
    summary: 'TF Serving metadata of one generation',
    params: z.object({ model: Model, version: Version }),
    errors: META_ERRORS,
  }),
  tfPredict: defineRoute({
    ...inference,
    method: 'post',
    path: '/v1/models/:model:predict',
    permission: 'predict',
    summary: 'TF Serving predict (row `instances` or columnar `inputs`)',
    params: z.object({ model: Model }),
    body: { raw: { 'application/json': TfPredictRequest } },
    bodyExample: { instances: [[5.1, 3.5, 1.4, 0.2]] },
    response: TfPredictResponse,
    errors: { ...INFER_ERRORS, 400: `${INFER_ERRORS[400]}; :classify and :regress are not served` },
  }),
  tfVersionPredict: defineRoute({
    ...inference,
    method: 'post',
    path: '/v1/models/:model/versions/:version:predict',
    permission: 'predict',
    summary: 'TF Serving predict on one generation',
    params: z.object({ model: Model, version: Version }),
    body: { raw: { 'application/json': TfPredictRequest } },
    response: TfPredictResponse,
    errors: INFER_ERRORS,
  }),
};

/** Liveness and readiness, for Docker and load balancers: no token. */
export const probeApi = {
  live: defineRoute({
    method: 'get',
    path: '/healthz',
    permission: 'public',
    tag: 'meta',
    summary: 'Liveness: the process answers',
    kind: 'probe',
  }),
  ready: defineRoute({
    method: 'get',
    path: '/readyz',
    permission: 'public',
    tag: 'meta',
    summary: 'Readiness: 503 with the failed dependencies (Redis) until they answer',
    kind: 'probe',
    errors: { 503: 'a dependency does not answer' },
  }),
};
