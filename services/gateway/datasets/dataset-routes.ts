import { z } from 'zod';
import {
  DatasetName,
  DatasetStore,
  EventLog,
  NotFound,
  type DatasetVersionMeta,
  AppendBody,
  createSampleAppender,
  datasetView,
  DatasetUploadQuery,
  versionView,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { routeMounter } from '../openapi/mount-route.js';
import { defineRoute, named } from '../openapi/route-spec.js';
import { jsonRows, MAX_BINARY_BYTES, RowsQuery, sendBinaryRows } from './rows-response.js';
import { proxyUpload } from './upload-proxy.js';

/** `latest`, `3` or `v3`. */
const VersionParam = z
  .string()
  .regex(/^(latest|v?\d+)$/, 'expected latest or a version number')
  .describe('`latest`, or a version number (`3` or `v3`)')
  .transform((s) => (s === 'latest' ? s : Number(s.replace(/^v/, ''))))
  .pipe(z.union([z.literal('latest'), z.number().int().min(1, 'versions start at 1')]));

const NameParams = z.object({ name: DatasetName });
const VersionParams = z.object({ name: DatasetName, v: VersionParam });

const DeleteQuery = z.object({
  force: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('delete even when models were trained on it (admins only: it loses their lineage)'),
});

/** The dataset routes, declared once: mounted from these and documented from these. */
export const datasetApi = {
  list: defineRoute({
    method: 'get',
    path: '/api/v1/datasets',
    permission: 'read',
    tag: 'datasets',
    summary: 'List datasets',
  }),
  upload: defineRoute({
    method: 'post',
    path: '/api/v1/datasets/:name',
    permission: 'write',
    tag: 'datasets',
    summary:
      'Upload a dataset file (libsvm, CSV, ARFF, JSON lines, IDX, image archive) as a new version',
    description:
      'The body streams through to the data-intake service. The format comes from `format`, ' +
      'else the content type, the file name or the bytes; gzip is unpacked. JSON lines go as ' +
      'application/x-ndjson (application/json is refused with 415).',
    params: NameParams,
    query: DatasetUploadQuery,
    body: {
      raw: {
        'application/octet-stream': { type: 'string', format: 'binary' },
        'text/csv': { type: 'string' },
        'application/x-ndjson': { type: 'string' },
        'application/gzip': { type: 'string', format: 'binary' },
        'application/zip': { type: 'string', format: 'binary' },
        'application/x-tar': { type: 'string', format: 'binary' },
      },
    },
    status: 201,
    errors: {
      400: 'a malformed file: the message gives the line and column',
      409: 'a concurrent change to the dataset',
      413: 'the body is over UPLOAD_LIMIT_BYTES (declared or streamed); nothing is stored',
      415: 'an unknown `format`, a body of no known format, or JSON lines sent as application/json',
      503: 'the data-intake service is not reachable',
    },
  }),
  append: defineRoute({
    method: 'post',
    path: '/api/v1/datasets/:name/append',
    permission: 'write',
    tag: 'datasets',
    summary: 'Append labelled samples as a new version',
    params: NameParams,
    body: named('AppendBody', AppendBody),
    bodyExample: { rows: [{ features: [5.1, 3.5, 1.4, 0.2], label: 'setosa' }] },
    status: 201,
    errors: {
      400: 'rows that do not fit the dataset (feature count, label kind), or an image dataset',
      409: 'a concurrent change to the dataset',
    },
  }),
  get: defineRoute({
    method: 'get',
    path: '/api/v1/datasets/:name',
    permission: 'read',
    tag: 'datasets',
    summary: 'A dataset and its versions',
    params: NameParams,
    errors: { 404: 'no such dataset' },
  }),
  version: defineRoute({
    method: 'get',
    path: '/api/v1/datasets/:name/versions/:v',
    permission: 'read',
    tag: 'datasets',
    summary: "A version's metadata and statistics (`latest` or a number)",
    params: VersionParams,
    errors: { 404: 'no such dataset or version' },
  }),
  deleteVersion: defineRoute({
    method: 'delete',
    path: '/api/v1/datasets/:name/versions/:v',
    permission: 'write',
    tag: 'datasets',
    summary: 'Delete a version (force=true, admins only, even when models were trained on it)',
    params: VersionParams,
    query: DeleteQuery,
    errors: {
      403: 'force=true without the admin role',
      404: 'no such dataset or version',
      409: 'models were trained on this version (force=true deletes anyway)',
    },
  }),
  rows: defineRoute({
    method: 'get',
    path: '/api/v1/datasets/:name/versions/:v/rows',
    permission: 'read',
    tag: 'datasets',
    summary: 'Read a range of rows (binary shard layout, or JSON)',
    params: VersionParams,
    query: RowsQuery,
    produces: 'application/octet-stream',
    errors: {
      400: `start beyond the version, over ${MAX_BINARY_BYTES} bytes of binary rows, or too many JSON rows`,
      404: 'no such dataset or version',
    },
  }),
};

/** `latest` or a version number → that version's metadata. */
async function resolveVersion(
  datasets: DatasetStore,
  name: string,
  v: 'latest' | number,
): Promise<DatasetVersionMeta> {
  if (v === 'latest') {
    const info = await datasets.getDataset(name);
    if (info.latest === null) throw new NotFound(`dataset ${name} has no versions`, { name });
    return datasets.getVersion(name, info.latest);
  }
  return datasets.getVersion(name, v);
}

/**
 * `/api/v1/datasets`: uploads stream through to the data-intake service; reads, deletes,
 * appends and the row reader work on the store here.
 */
export const datasetRoutes: RouteModule = (router, ctx) => {
  const datasets = new DatasetStore(ctx.redis, ctx.keys);
  const events = new EventLog(ctx.redis, ctx.keys);
  const appendSamples = createSampleAppender({ datasets, events, keys: ctx.keys, log: ctx.log });
  const upload = {
    intakeUrl: ctx.config.INTAKE_URL,
    internalToken: ctx.config.adminToken ?? '',
    limitBytes: ctx.config.UPLOAD_LIMIT_BYTES,
  };
  const mount = routeMounter(router, ctx);

  mount(datasetApi.list, async () => datasets.listDatasets());

  mount(datasetApi.upload, async ({ params }, req, res) => {
    await proxyUpload(upload, params.name, req, res);
  });

  mount(datasetApi.append, async ({ params, body }) =>
    versionView(await appendSamples(params.name, body.rows, body)),
  );

  mount(datasetApi.get, async ({ params }) => datasetView(await datasets.getDataset(params.name)));

  mount(datasetApi.version, async ({ params }) =>
    versionView(await resolveVersion(datasets, params.name, params.v)),
  );

  mount(datasetApi.deleteVersion, async ({ params, query }, req) => {
    const forced = query.force === 'true' || query.force === '1';
    // Dropping a version that models were trained on loses their lineage: admins only.
    if (forced) await ctx.auth.check(req, 'admin');
    const meta = await resolveVersion(datasets, params.name, params.v);
    await datasets.deleteVersion(meta.name, meta.version, { force: forced });
    return { name: meta.name, version: meta.version, deleted: true };
  });

  mount(datasetApi.rows, async ({ params, query }, _req, res) => {
    const meta = await resolveVersion(datasets, params.name, params.v);
    if (query.format === 'json') return jsonRows(datasets, meta, query);
    try {
      await sendBinaryRows(res, datasets, meta, query);
    } catch (err) {
      // Once the header is out the only honest signal left is a cut connection.
      if (!res.headersSent) throw err;
      ctx.log.warn({ err, dataset: meta.name, version: meta.version }, 'row stream failed');
      res.destroy();
    }
    return undefined;
  });
};
