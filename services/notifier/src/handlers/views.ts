/**
 * JSON views returned by the API (snake_case, dates RFC 3339). Secrets are
 * never part of a view; the plain secret is returned once, by create and
 * rotate, beside the view.
 */
import type { AttemptDoc, DeliveryDoc, EndpointDoc, QueueDoc } from '../infra/collections.js';

/** An endpoint as the API shows it. */
export interface EndpointView {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  agent_ids: string[];
  enabled: boolean;
  /** Set when the notifier disabled it: `gone` (410) or `failing`. */
  disabled_reason: string | null;
  /** When the previous secret stops signing (during a rotation grace), else null. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

/** Endpoint → view. */
export function endpointView(d: EndpointDoc, now = new Date()): EndpointView {
  const expiring = d.secrets
    .filter((s) => s.expiresAt !== null && s.expiresAt > now)
    .map((s) => s.expiresAt!.getTime());
  return {
    id: d._id,
    url: d.url,
    description: d.description,
    event_types: d.eventTypes,
    agent_ids: d.agentIds,
    enabled: d.enabled,
    disabled_reason: d.disabledReason,
    previous_secret_expires_at:
      expiring.length > 0 ? new Date(Math.max(...expiring)).toISOString() : null,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}

/** A delivery (one event to one endpoint) as the API shows it. */
export interface DeliveryView {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  agent_id: string;
  session_id: string;
  /** `pending` (queued or retrying), `delivered`, `failed` (dead letter), `aborted` (by the receiver). */
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  /** Pending only: when the next attempt is due. */
  next_attempt_at: string | null;
  created_at: string;
  completed_at: string | null;
}

/** Queued or finished delivery → view. */
export function deliveryView(d: QueueDoc | DeliveryDoc): DeliveryView {
  const finished = 'status' in d;
  return {
    id: d._id,
    endpoint_id: d.endpointId,
    event_id: d.eventId,
    event_type: d.eventType,
    agent_id: d.agentId,
    session_id: d.sessionId,
    status: finished ? d.status : 'pending',
    attempts: d.attempts,
    last_status_code: d.lastStatusCode,
    last_error: d.lastError,
    next_attempt_at: finished ? null : d.dueAt.toISOString(),
    created_at: d.createdAt.toISOString(),
    completed_at: finished ? d.completedAt.toISOString() : null,
  };
}

/** One attempt as the API shows it. */
export interface AttemptView {
  id: string;
  delivery_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  at: string;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  /** First 1 KiB of the response body. */
  response_body: string | null;
  outcome: string;
  trigger: string;
}

/** Attempt → view. */
export function attemptView(a: AttemptDoc): AttemptView {
  return {
    id: a._id,
    delivery_id: a.deliveryId,
    endpoint_id: a.endpointId,
    event_id: a.eventId,
    event_type: a.eventType,
    attempt: a.attempt,
    at: a.at.toISOString(),
    status_code: a.statusCode,
    latency_ms: a.latencyMs,
    error: a.error,
    response_body: a.responseBody,
    outcome: a.outcome,
    trigger: a.trigger,
  };
}

/** Opaque page cursor: base64url of `{t, id}` (sort key of the last item). */
export function encodeCursor(t: Date, id: string): string {
  return Buffer.from(JSON.stringify({ t: t.getTime(), id })).toString('base64url');
}

/** Decodes a cursor; undefined when absent or malformed. */
export function decodeCursor(c: unknown): { t: Date; id: string } | undefined {
  if (typeof c !== 'string' || c === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as {
      t?: unknown;
      id?: unknown;
    };
    if (typeof v.t === 'number' && typeof v.id === 'string') return { t: new Date(v.t), id: v.id };
  } catch {
    /* fall through */
  }
  return undefined;
}
