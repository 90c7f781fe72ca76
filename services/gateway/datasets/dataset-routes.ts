import { z } from 'zod';
import {
  checkName,
  DatasetStore,
  EventLog,
  NotFound,
  type DatasetVersionMeta,
  AppendBody,
  createSampleAppender,
  datasetView,
  versionView,
} from '../../../shared/index.js';
import type { RouteModule } from '../http/route-context.js';
import { jsonRows, RowsQuery, sendBinaryRows } from './rows-response.js';
import { proxyUpload } from './upload-proxy.js';

const VersionParam = z.union([
  z.literal('latest'),
  z.coerce.number().int().min(1, 'versions start at 1'),
]);

const DeleteQuery = z.object({ force: z.enum(['true', 'false', '1', '0']).optional() });

/** `name@latest` or `name@vN` → version number. */
async function resolveVersion(
  datasets: DatasetStore,
  name: string,
  raw: string,
): Promise<DatasetVersionMeta> {
  checkName(name, 'dataset');
  const v = VersionParam.parse(raw.replace(/^v/, ''));
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

  router.get('/api/v1/datasets', ctx.guard('read'), async (_req, res) => {
    res.json(await datasets.listDatasets());
  });

  router.post('/api/v1/datasets/:name', ctx.guard('write'), async (req, res) => {
    await proxyUpload(upload, String(req.params.name), req, res);
  });

  router.post('/api/v1/datasets/:name/append', ctx.guard('write'), async (req, res) => {
    const body = AppendBody.parse(req.body);
    const meta = await appendSamples(String(req.params.name), body.rows, body);
    res.status(201).json(versionView(meta));
  });

  router.get('/api/v1/datasets/:name', ctx.guard('read'), async (req, res) => {
    const name = checkName(String(req.params.name), 'dataset');
    res.json(datasetView(await datasets.getDataset(name)));
  });

  router.get('/api/v1/datasets/:name/versions/:v', ctx.guard('read'), async (req, res) => {
    const meta = await resolveVersion(datasets, String(req.params.name), String(req.params.v));
    res.json(versionView(meta));
  });

  router.delete('/api/v1/datasets/:name/versions/:v', ctx.guard('write'), async (req, res) => {
    const { force } = DeleteQuery.parse(req.query);
    const forced = force === 'true' || force === '1';
    // Dropping a version that models were trained on loses their lineage: admins only.
    if (forced) await ctx.auth.check(req, 'admin');
    const meta = await resolveVersion(datasets, String(req.params.name), String(req.params.v));
    await datasets.deleteVersion(meta.name, meta.version, { force: forced });
    res.json({ name: meta.name, version: meta.version, deleted: true });
  });

  router.get('/api/v1/datasets/:name/versions/:v/rows', ctx.guard('read'), async (req, res) => {
    const q = RowsQuery.parse(req.query);
    const meta = await resolveVersion(datasets, String(req.params.name), String(req.params.v));
    if (q.format === 'json') {
      res.json(await jsonRows(datasets, meta, q));
      return;
    }
    try {
      await sendBinaryRows(res, datasets, meta, q);
    } catch (err) {
      // Once the header is out the only honest signal left is a cut connection.
      if (!res.headersSent) throw err;
      ctx.log.warn({ err, dataset: meta.name, version: meta.version }, 'row stream failed');
      res.destroy();
    }
  });
};
