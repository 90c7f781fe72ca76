import { createHmac } from 'node:crypto';
import type { DeliveryChannel, DeliveryJob } from '../../../../shared/index.js';

type Webhook = Extract<DeliveryChannel, { type: 'webhook' }>;

/** `sha256=<hex>` HMAC of the exact body bytes, as receivers recompute it. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * POSTs one delivery. Any non-2xx answer, network error or timeout rejects, so BullMQ retries.
 * `X-Swarmml-Delivery` is stable across retries: receivers dedupe on it.
 */
export async function sendWebhook(
  ch: Webhook,
  job: DeliveryJob,
  deliveryId: string,
): Promise<void> {
  const headers: Record<string, string> = {
    ...ch.headers,
    'content-type': job.contentType,
    'x-swarmml-delivery': deliveryId,
    'x-swarmml-rule': job.ruleId,
    'x-swarmml-prediction': job.predictionId,
  };
  if (ch.secret) headers['x-swarmml-signature'] = signBody(ch.secret, job.payload);
  const res = await fetch(ch.url, {
    method: 'POST',
    headers,
    body: job.payload,
    signal: AbortSignal.timeout(ch.timeoutMs),
  });
  // Drain the body so the keep-alive socket is reused.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`webhook ${ch.url} answered ${res.status}`);
}
