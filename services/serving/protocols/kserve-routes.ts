/** KServe Open Inference Protocol v2 REST routes, plus KServe's model list and Triton's model config. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readDecodedBody, sendJson, sendMaybeCompressed } from '../../../shared/index.js';
import { encodeInfer } from './kserve-codec.js';
import { guarded, observed, parseVersion, type RouteContext } from './route-context.js';
import { handleTriton } from './triton-routes.js';
import type { TensorSpec } from '../hosting/protocol.js';
import type { Description } from '../hosting/servable.js';
import { ELEM } from '../tensors/tensors.js';
import { LABEL_OUTPUT, labelledBy } from './class-labels.js';

const SERVER = { name: 'swarmml-serving', version: '0.1.0' };
const EXTENSIONS = [
  'binary_tensor_data',
  'classification',
  'model_configuration',
  // only the index here: load and unload are the gateway's, which lists model_repository
  'statistics',
];
const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|config|infer))?\/?$/;

const tensorMeta = (s: TensorSpec) => ({ name: s.name, datatype: ELEM[s.type].v2, shape: s.shape });

/** Handles `/v2...`; returns false when the path is not one of its routes. */
export async function handleKServe(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: RouteContext,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (path === '/v2' || path === '/v2/') {
    sendJson(res, 200, { ...SERVER, extensions: EXTENSIONS });
    return true;
  }
  if (path === '/v2/health/live') {
    sendJson(res, 200, { live: true });
    return true;
  }
  if (path === '/v2/health/ready') {
    const ready = ctx.fleet.ready();
    sendJson(res, ready ? 200 : 503, { ready });
    return true;
  }
  if (path === '/v2/models' || path === '/v2/models/') {
    sendJson(res, 200, { models: ctx.fleet.names() });
    return true;
  }
  if (await handleTriton(req, res, path, ctx)) return true;
  const m = MODEL_PATH.exec(path);
  if (!m) return false;
  const name = decodeURIComponent(m[1]!);
  const action = m[3];
  if (action === 'infer') {
    if (method !== 'POST') return false;
    await observed(ctx, req, res, name, 'kserve', async () => {
      const servable = ctx.fleet.get(name);
      const version = parseVersion(name, m[2]);
      const body = await readDecodedBody(req, ctx.maxBodyBytes);
      const header = req.headers['inference-header-content-length'];
      const decodeStart = performance.now();
      const request = await ctx.decoder.kserve(
        body,
        Array.isArray(header) ? header[0] : header,
        // Alone, a request is quickest decoded in place; the thread pays off under load.
        ctx.inflight > 1,
      );
      const decodeMs = performance.now() - decodeStart;
      const result = await ctx.traffic.infer(
        req,
        res,
        name,
        servable,
        request.inputs,
        version,
        request.id,
      );
      const encodeStart = performance.now();
      const encoded = encodeInfer({
        model: name,
        gen: result.gen,
        // The answer's `id` is its prediction id: the request's, else a fresh one.
        request: request.id === undefined ? { ...request, id: result.id } : request,
        outputs: result.outputs,
        ...(result.labels ? { labels: result.labels } : {}),
      });
      if (encoded.headerLength === undefined) await sendMaybeCompressed(req, res, encoded.body);
      else {
        await sendMaybeCompressed(req, res, encoded.parts, {
          'content-type': 'application/octet-stream',
          'inference-header-content-length': encoded.headerLength,
        });
      }
      const v = result.gen === undefined ? '' : String(result.gen);
      ctx.stats.phase(name, v, 'compute_input', Math.round(decodeMs * 1e6));
      ctx.stats.phase(
        name,
        v,
        'compute_output',
        Math.round((performance.now() - encodeStart) * 1e6),
      );
      return result.gen;
    });
    return true;
  }
  if (method !== 'GET') return false;
  await guarded(ctx, req, res, async () => {
    const servable = ctx.fleet.get(name);
    const version = parseVersion(name, m[2]);
    if (action === 'ready') {
      const ready = servable.ready(version);
      sendJson(res, ready ? 200 : 503, { name, ready });
      return;
    }
    const d = await servable.describe(version);
    sendJson(res, 200, action === 'config' ? tritonConfig(name, d) : modelMetadata(name, d));
  });
  return true;
}

function modelMetadata(name: string, d: Description) {
  return {
    name,
    versions: d.versions.map(String),
    platform: d.platform,
    inputs: d.io.inputs.map(tensorMeta),
    outputs: [
      ...d.io.outputs.map(tensorMeta),
      ...(d.labels && labelledBy(d.io.outputs, d.labels)
        ? [{ name: LABEL_OUTPUT, datatype: 'BYTES', shape: [-1] }]
        : []),
    ],
  };
}

/** Triton's model configuration (perf_analyzer reads max_batch_size and the dims from it). */
function tritonConfig(name: string, d: Description) {
  const dims = (s: TensorSpec) => (d.maxBatch > 0 ? s.shape.slice(1) : s.shape);
  const tensor = (s: TensorSpec) => ({
    name: s.name,
    data_type: `TYPE_${ELEM[s.type].v2}`,
    dims: dims(s),
  });
  return {
    name,
    platform: d.platform,
    backend: d.platform === 'onnxruntime_onnx' ? 'onnxruntime' : '',
    max_batch_size: d.maxBatch,
    input: d.io.inputs.map(tensor),
    output: d.io.outputs.map(tensor),
    ...(d.maxBatch > 0
      ? { dynamic_batching: { max_queue_delay_microseconds: d.maxDelayMs * 1000 } }
      : {}),
    ...(d.gen === undefined ? {} : { version_policy: { specific: { versions: [d.gen] } } }),
  };
}
