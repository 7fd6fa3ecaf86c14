/**
 * Which endpoints receive an event, and in which lane.
 *
 * An endpoint matches when it is enabled, belongs to the event's tenant (the
 * seed-000 default endpoint, tenant `*`, belongs to all), its agent filter is
 * empty or lists the agent, and its event-type filter is empty or lists the
 * type. Operational events of the notifier itself
 * (`message_attempt_exhausted`, `endpoint_disabled`) go only to endpoints
 * that list them explicitly, and never to the endpoint they are about (so a
 * dead endpoint cannot feed itself).
 *
 * Lanes: deliveries of one endpoint are split over `partitions` lanes by a
 * hash of the session id; a lane is the unit a replica leases, and all
 * deliveries of one (endpoint, session) pair share a lane, which is what
 * keeps them in order.
 */

/** Event types the notifier emits itself. */
export const OPERATIONAL_TYPES: ReadonlySet<string> = new Set([
  'message_attempt_exhausted',
  'endpoint_disabled',
]);

/** Tenant id of the default endpoint: matches every tenant. */
export const ALL_TENANTS = '*';

/** The part of an endpoint that matching reads. */
export interface MatchableEndpoint {
  id: string;
  tenantId: string;
  enabled: boolean;
  eventTypes: readonly string[];
  agentIds: readonly string[];
}

/** The part of an event that matching reads. */
export interface MatchableEvent {
  type: string;
  tenantId: string;
  agentId: string;
  /** For operational events: the endpoint they are about. */
  aboutEndpointId?: string;
}

/** True when `endpoint` should receive `event`. */
export function matches(endpoint: MatchableEndpoint, event: MatchableEvent): boolean {
  if (!endpoint.enabled) return false;
  if (endpoint.tenantId !== ALL_TENANTS && endpoint.tenantId !== event.tenantId) return false;
  if (endpoint.agentIds.length > 0 && !endpoint.agentIds.includes(event.agentId)) return false;
  if (OPERATIONAL_TYPES.has(event.type)) {
    return endpoint.eventTypes.includes(event.type) && endpoint.id !== event.aboutEndpointId;
  }
  return endpoint.eventTypes.length === 0 || endpoint.eventTypes.includes(event.type);
}

/** FNV-1a 32-bit hash of a string. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Lane id `<endpointId>:<partition>` of a session's deliveries to an endpoint. */
export function laneId(endpointId: string, sessionId: string, partitions: number): string {
  return `${endpointId}:${fnv1a(sessionId) % partitions}`;
}

/** Delivery id of an event to an endpoint: `<endpointId>.<eventId>` (endpoint ids have no dots). */
export function deliveryId(endpointId: string, eventId: string): string {
  return `${endpointId}.${eventId}`;
}
