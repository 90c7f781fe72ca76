/** Response and request examples shown in the OpenAPI document. */

export const tokens = {
  tokens: [
    {
      id: '9f2c41d0',
      name: 'ci',
      role: 'operator',
      created: '2025-01-06T10:00:00.000Z',
      rateLimit: 50,
    },
  ],
};

export const tokenCreated = {
  token: 'sk_3b0d…(shown once)',
  id: '9f2c41d0',
  name: 'ci',
  role: 'operator',
  created: '2025-01-06T10:00:00.000Z',
  rateLimit: 50,
};

export const deliveryConfig = {
  channels: {
    'ops-hook': { type: 'webhook', url: 'https://ops.example/in', secret: 'at-least-8-chars' },
    plant: { type: 'mqtt', url: 'mqtt://broker:1883', topic: 'preds/digits', qos: 1 },
    lake: { type: 'amqp', url: 'amqp://user:pass@rabbit', routingKey: 'predictions' },
    screen: { type: 'ws', topic: 'alerts' },
  },
  formatters: {
    alert: {
      type: 'template',
      template: { model: '{{model}}', class: '{{output.argmax}}', p: '{{output.max}}' },
    },
    line: { type: 'csv', columns: ['time', 'model', 'output.argmax', 'output.max'] },
  },
  rules: [
    {
      id: 'alerts',
      model: 'digits',
      when: { topClassIn: [3, 5], maxScoreOver: 0.9 },
      channel: 'ops-hook',
      formatter: 'alert',
    },
    { id: 'audit', model: '*', sample: 0.1, channel: 'lake', formatter: 'line' },
  ],
};

export const decisionRules = {
  stop: { plateauEpochs: 8 },
  accept: { metric: 'valAccuracy', margin: 0.005 },
  retrain: [{ model: 'plant-state', dataset: 'plant', newSamples: 500 }],
};

export const configVersion = {
  kind: 'delivery',
  version: 3,
  doc: deliveryConfig,
  updatedAt: 1736157600000,
  author: 'ops',
};

export const deliveryStatus = {
  applied: { delivery: 3 },
  counts: { waiting: 0, active: 2, delayed: 1, failed: 0, dead: 4 },
};

export const deadList = {
  dead: [
    {
      id: 'd-42',
      job: {
        ruleId: 'alerts',
        channel: 'ops-hook',
        predictionId: 'req-17',
        payload: '{"model":"digits","class":3,"p":0.97}',
        contentType: 'application/json',
        enqueuedAt: 1736157600000,
      },
      failedReason: 'webhook answered 502',
      attempts: 5,
      failedAt: 1736157631000,
    },
  ],
  total: 1,
};

export const sourcesStatus = {
  sources: [
    {
      id: 'plant',
      type: 'mqtt',
      dataset: 'plant',
      state: 'running',
      received: 1200,
      appended: 1190,
      rejected: 10,
      lastError: null,
    },
  ],
};

export const pushResult = {
  accepted: 2,
  rejected: [{ index: 1, error: 'load.cpu: not a finite number' }],
  version: 7,
  total: 1402,
};
