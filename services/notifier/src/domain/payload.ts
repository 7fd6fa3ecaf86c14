/**
 * Event → webhook body. The body is seed 000's JSON (`event`, `session_id`,
 * `message{id, from{id, first_name, last_name, username, phone}, chat{id,
 * type}, text, date, reply_to_message_id}`) plus `event_id`, `agent_id`,
 * `occurred_at`, `sequence`; session and other events carry their own fields
 * instead of `message` (docs/webhooks.md has one example per type).
 *
 * Numbers: Telegram user/chat ids and `sequence` are int64 in the contract
 * (strings in proto JSON); the webhook renders them as JSON numbers like seed
 * 000 does. Every current Telegram id is below 2^53, so this is exact; an id
 * beyond Number.MAX_SAFE_INTEGER would be sent as a string rather than lose
 * precision. Optional fields the seed lists are `null` when absent.
 * Message dates are RFC 3339 UTC with second precision (`2025-12-20T10:30:00Z`,
 * as in the seed); `occurred_at` keeps milliseconds.
 */
import {
  chatTypeToJSON,
  mediaTypeToJSON,
  sessionStatusToJSON,
  type Chat,
  type Message,
  type User,
} from '@tgbridge/proto/common/v1/common';
import type { Event } from '@tgbridge/proto/events/v1/events';

/** JSON value of a webhook body. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** int64 decimal string → JSON number when exact, else the string; absent → null. */
export function int64(v: string | undefined | null): number | string | null {
  if (v === undefined || v === null || v === '') return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** Enum JSON name (`CHAT_TYPE_PRIVATE`) → webhook string (`private`). */
export function enumString(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length).toLowerCase() : name.toLowerCase();
}

/** Date → `2025-12-20T10:30:00Z` (seconds, as in seed 000); absent → null. */
export function secondsIso(d: Date | undefined): string | null {
  if (!d) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function user(u: User | undefined): Json {
  if (!u) return null;
  return {
    id: int64(u.id),
    first_name: u.firstName ?? null,
    last_name: u.lastName ?? null,
    username: u.username ?? null,
    phone: u.phone ?? null,
  };
}

function chat(c: Chat | undefined): Json {
  if (!c) return null;
  const out: { [key: string]: Json } = {
    id: int64(c.id),
    type: enumString(chatTypeToJSON(c.type), 'CHAT_TYPE_'),
  };
  if (c.title !== undefined) out.title = c.title;
  if (c.username !== undefined) out.username = c.username;
  return out;
}

/** Seed 000's `message` object, plus `edit_date`, `out` and `media` when present. */
export function messageJson(m: Message): Json {
  const out: { [key: string]: Json } = {
    id: m.id,
    from: user(m.from),
    chat: chat(m.chat),
    text: m.text,
    date: secondsIso(m.date),
    reply_to_message_id: m.replyToMessageId ?? null,
  };
  if (m.editDate) out.edit_date = secondsIso(m.editDate);
  if (m.out) out.out = true;
  if (m.senderChat) out.sender_chat = chat(m.senderChat);
  if (m.media) {
    out.media = {
      type: enumString(mediaTypeToJSON(m.media.type), 'MEDIA_TYPE_'),
      mime_type: m.media.mimeType ?? null,
      size: int64(m.media.size),
      file_name: m.media.fileName ?? null,
      width: m.media.width ?? null,
      height: m.media.height ?? null,
      duration: m.media.duration ?? null,
      downloadable: m.media.downloadable,
    };
  }
  return out;
}

/**
 * The webhook body of an event, as an object with keys in a fixed order
 * (`event`, `session_id`, the type's fields, then `event_id`, `agent_id`,
 * `occurred_at`, `sequence`, and `recovered` when true).
 */
export function webhookBody(e: Event): { [key: string]: Json } {
  const body: { [key: string]: Json } = { event: e.type, session_id: e.sessionId };
  const p = e.payload;
  switch (p?.$case) {
    case 'message':
      body.message = p.value.message ? messageJson(p.value.message) : null;
      break;
    case 'deleted':
      body.chat_id = int64(p.value.chatId);
      body.message_ids = p.value.messageIds;
      break;
    case 'read':
      body.chat_id = int64(p.value.chatId);
      body.max_id = p.value.maxId;
      body.outbox = p.value.outbox;
      body.still_unread_count = p.value.stillUnreadCount ?? null;
      break;
    case 'typing':
      body.chat_id = int64(p.value.chatId);
      body.user_id = int64(p.value.userId);
      body.action = p.value.action;
      break;
    case 'session':
      body.status = enumString(sessionStatusToJSON(p.value.status), 'SESSION_STATUS_');
      body.reason = p.value.reason ?? null;
      body.user = user(p.value.user);
      if (p.value.lostAt) body.lost_at = p.value.lostAt.toISOString();
      break;
    case 'exhausted':
      body.endpoint_id = p.value.endpointId;
      body.delivery_id = p.value.deliveryId;
      body.failed_event_id = p.value.eventId;
      body.failed_event_type = p.value.eventType;
      body.attempts = p.value.attempts;
      body.last_status_code = p.value.lastStatusCode ?? null;
      body.last_error = p.value.lastError ?? null;
      break;
    case 'endpointDisabled':
      body.endpoint_id = p.value.endpointId;
      body.reason = p.value.reason;
      break;
    default:
      break;
  }
  body.event_id = e.eventId;
  body.agent_id = e.agentId;
  body.occurred_at = e.occurredAt ? e.occurredAt.toISOString() : null;
  body.sequence = int64(e.sequence) ?? 0;
  if (e.recovered) body.recovered = true;
  return body;
}

/** The exact bytes sent (and signed): `JSON.stringify(webhookBody(e))`. */
export function webhookBodyText(e: Event): string {
  return JSON.stringify(webhookBody(e));
}
