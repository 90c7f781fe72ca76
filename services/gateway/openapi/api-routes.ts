import { tokenApi } from '../auth/token-routes.js';
import { clusterApi } from '../cluster/cluster-routes.js';
import { configApi } from '../config/config-routes.js';
import { rulesApi } from '../config/rules-routes.js';
import { datasetApi } from '../datasets/dataset-routes.js';
import { dashboardApi } from '../dashboard/dashboard-api.js';
import { deliveryApi } from '../delivery/delivery-routes.js';
import { modelApi } from '../models/model-routes.js';
import { trafficApi } from '../models/traffic-routes.js';
import { rolloutApi } from '../models/rollout-routes.js';
import { versionPolicyApi } from '../models/version-policy-routes.js';
import { servingApi } from '../serving/serving-routes.js';
import { sessionApi } from '../sessions/session-routes.js';
import { inferenceApi, probeApi } from './protocol-routes.js';
import { defineRoute, type RouteSpec } from './route-spec.js';

/** The document's own route (openapi-route.ts mounts it). */
export const openapiApi = {
  document: defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    permission: 'public',
    tag: 'meta',
    summary: 'This OpenAPI document',
  }),
};

/**
 * Every route the gateway answers, from the declarations its route modules mount (tests
 * check that each express route is mounted from one of these and each of these is mounted),
 * plus the inference protocols and probes it answers outside express.
 */
export const API_ROUTES: readonly RouteSpec[] = [
  ...Object.values(tokenApi),
  clusterApi.whoami,
  ...Object.values(datasetApi),
  ...Object.values(sessionApi),
  ...Object.values(modelApi),
  ...Object.values(trafficApi),
  ...Object.values(rolloutApi),
  ...Object.values(versionPolicyApi),
  clusterApi.servingStats,
  ...Object.values(servingApi),
  clusterApi.cluster,
  ...Object.values(dashboardApi),
  ...Object.values(rulesApi),
  ...Object.values(configApi),
  ...Object.values(deliveryApi),
  ...Object.values(openapiApi),
  ...Object.values(inferenceApi),
  ...Object.values(probeApi),
];

/** The routes mounted on the express app. */
export const REST_ROUTES = API_ROUTES.filter((r) => (r.kind ?? 'rest') === 'rest');
