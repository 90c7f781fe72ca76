import type { StoredEvent } from '../../../shared/index.js';
import type { WsTopicPublisher } from './channels/senders.js';

/** What the WebSocket side offers: push a never-archived event to a topic's subscribers. */
export interface LiveTopicSink {
  publish(topic: string, event: StoredEvent): void;
}

/** WebSocket topic a `ws` channel's deliveries go to: `delivery:<channel topic>`. */
export function deliveryTopic(topic: string): string {
  return `delivery:${topic}`;
}

/**
 * The `ws` channel's sender: each delivery becomes a live `delivery` event on
 * `delivery:<topic>`, its payload parsed when the formatter made JSON.
 */
export function wsTopicPublisher(sink: () => LiveTopicSink | undefined): WsTopicPublisher {
  let seq = 0;
  return {
    publish(topic, m) {
      const target = sink();
      if (!target) throw new Error('no WebSocket hub in this process');
      let data: unknown = m.payload;
      if (/\bjson\b/.test(m.contentType)) {
        try {
          data = JSON.parse(m.payload);
        } catch {
          // a plugin may label text as JSON; subscribers then get the text
        }
      }
      target.publish(deliveryTopic(topic), {
        id: `live-d${++seq}`,
        kind: 'delivery',
        payload: { rule: m.ruleId, contentType: m.contentType, data },
        time: new Date().toISOString(),
      });
    },
  };
}
