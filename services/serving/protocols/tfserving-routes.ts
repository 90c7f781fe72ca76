/** TF Serving REST routes: model status, metadata (signature_def) and predict. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadInput,
  NotFound,
  readDecodedBody,
  sendJson,
  sendMaybeCompressed,
} from '../../../shared/index.js';
import { guarded, observed, parseVersion, type RouteContext } from './route-context.js';
import type { TensorSpec } from '../hosting/protocol.js';
import type { Servable } from '../hosting/servable.js';
import { decodePredict, encodePredict } from './tfserving-codec.js';
import { labelledBy, TF_CLASSES_KEY } from './class-labels.js';
import type { ElemType } from '../tensors/tensors.js';

const PATH =
  /^\/v1\/models\/([^/:]+)(?:\/versions\/([^/:]+))?(?:\/labels\/([^/:]+))?(\/metadata|:[a-z]+)?\/?$/;

const DTYPE: Record<ElemType, string> = {
  float32: 'DT_FLOAT',
  float64: 'DT_DOUBLE',
  float16: 'DT_HALF',
  int8: 'DT_INT8',
  int16: 'DT_INT16',
  int32: 'DT_INT32',
  int64: 'DT_INT64',
  uint8: 'DT_UINT8',
  uint16: 'DT_UINT16',
  uint32: 'DT_UINT32',
  uint64: 'DT_UINT64',
  bool: 'DT_BOOL',
};

const OK_STATUS = { error_code: 'OK', error_message: '' };

export async function handleTfServing(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  ctx: RouteContext,
): Promise<boolean> {
  const m = PATH.exec(path);
  if (!m) return false;
  const name = decodeURIComponent(m[1]!);
  const action = m[4];
  const isPost = req.method === 'POST';
  if (action?.startsWith(':')) {
    if (!isPost) return false;
    await observed(ctx, req, res, name, 'tfserving', async () => {
      const servable = ctx.fleet.get(name);
      const version = versionOf(name, m[2], m[3]);
      if (action !== ':predict')
        throw new BadInput(`${action.slice(1)} is not supported; use :predict`);
      const io = await servable.signature(version);
      const body = await readDecodedBody(req, ctx.maxBodyBytes);
      const { inputs, format } = decodePredict(body, io, name);
      const result = await ctx.traffic.infer(req, res, name, servable, inputs, version);
      await sendMaybeCompressed(
        req,
        res,
        encodePredict(
          result.outputs,
          io.outputs.map((s) => s.name),
          format,
          result.labels,
        ),
      );
    });
    return true;
  }
  if (isPost) return false;
  await guarded(ctx, req, res, async () => {
    const servable = ctx.fleet.get(name);
    const version = versionOf(name, m[2], m[3]);
    if (action === '/metadata') sendJson(res, 200, await metadata(servable, version));
    else sendJson(res, 200, await status(servable, version));
  });
  return true;
}

function versionOf(
  model: string,
  version: string | undefined,
  label: string | undefined,
): number | undefined {
  if (label !== undefined)
    throw new NotFound(`version labels are not supported ("${label}"); use /versions/<generation>`);
  return parseVersion(model, version);
}

async function status(servable: Servable, version: number | undefined) {
  const loaded = servable.loadedVersions();
  if (version === undefined) {
    const versions = loaded.length > 0 ? loaded.map(String) : servable.ready() ? ['0'] : [];
    return {
      model_version_status: versions.map((v) => ({
        version: v,
        state: 'AVAILABLE',
        status: OK_STATUS,
      })),
    };
  }
  if (loaded.includes(version)) {
    return {
      model_version_status: [{ version: String(version), state: 'AVAILABLE', status: OK_STATUS }],
    };
  }
  const known = (await servable.describe()).versions;
  if (!known.includes(version)) {
    throw new NotFound(
      `model "${servable.name}" has no version ${version}; known versions: ${known.join(', ') || 'none'}`,
    );
  }
  return { model_version_status: [{ version: String(version), state: 'END', status: OK_STATUS }] };
}

async function metadata(servable: Servable, version: number | undefined) {
  const d = await servable.describe(version);
  const tensors = (specs: TensorSpec[]) =>
    Object.fromEntries(
      specs.map((s) => [
        s.name,
        {
          dtype: DTYPE[s.type],
          tensor_shape: {
            dim: s.shape.map((size) => ({ size: String(size), name: '' })),
            unknown_rank: false,
          },
          name: s.name,
        },
      ]),
    );
  return {
    model_spec: {
      name: servable.name,
      signature_name: '',
      version: d.gen === undefined ? '' : String(d.gen),
    },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: {
            inputs: tensors(d.io.inputs),
            outputs: {
              ...tensors(d.io.outputs),
              // The class of each row, beside the scores (see encodePredict).
              ...(d.labels && d.io.outputs.length > 1 && labelledBy(d.io.outputs, d.labels)
                ? {
                    [TF_CLASSES_KEY]: {
                      dtype: 'DT_STRING',
                      tensor_shape: { dim: [{ size: '-1', name: '' }], unknown_rank: false },
                      name: TF_CLASSES_KEY,
                    },
                  }
                : {}),
            },
            method_name: 'tensorflow/serving/predict',
          },
        },
      },
    },
  };
}
