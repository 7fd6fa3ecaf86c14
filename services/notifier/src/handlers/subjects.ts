/**
 * NATS request/reply API of the notifier (docs/contracts.md "Notifier API").
 * The gateway forwards the webhook REST routes here, tenant-scoped by the
 * caller's principal. Requests and replies are JSON (snake_case keys, like
 * the REST bodies). Replies: `{ok: true, ...}` or `{ok: false, status,
 * code, error}` where `status` is the HTTP status the gateway should use.
 * All replicas subscribe in queue group `notifier`.
 */

/** Subject prefix of the API. */
export const API_PREFIX = 'tg.notifier';
/** Queue group of the API subscriptions. */
export const API_QUEUE = 'notifier';
/** Core NATS notice that endpoints changed (replicas reload their cache). */
export const CHANGED_SUBJECT = 'tg.notifier.changed';

/** Every API subject. */
export const ApiSubject = {
  EndpointsCreate: 'tg.notifier.endpoints.create',
  EndpointsList: 'tg.notifier.endpoints.list',
  EndpointsGet: 'tg.notifier.endpoints.get',
  EndpointsUpdate: 'tg.notifier.endpoints.update',
  EndpointsDelete: 'tg.notifier.endpoints.delete',
  EndpointsRotate: 'tg.notifier.endpoints.rotate',
  EndpointsRecover: 'tg.notifier.endpoints.recover',
  DeliveriesList: 'tg.notifier.deliveries.list',
  DeliveriesGet: 'tg.notifier.deliveries.get',
  DeliveriesReplay: 'tg.notifier.deliveries.replay',
  AttemptsList: 'tg.notifier.attempts.list',
} as const;
export type ApiSubject = (typeof ApiSubject)[keyof typeof ApiSubject];

/**
 * `subject` under another prefix (NOTIFIER_SUBJECT_PREFIX): several
 * independent notifier deployments (tests) can share one NATS server.
 */
export function withPrefix(subject: string, prefix: string): string {
  return prefix === API_PREFIX ? subject : `${prefix}${subject.slice(API_PREFIX.length)}`;
}
