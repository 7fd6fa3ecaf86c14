// NATS subjects and headers of the tgbridge contracts (docs/contracts.md).
// Event payloads: canonical JSON of tgbridge.events.v1.Event; command
// payloads: canonical JSON of the tgbridge.connector.v1 request/response.

/** JetStream stream holding all events. */
export const EVENTS_STREAM = 'TG_EVENTS';
/** Every event subject starts with this; consume everything with `tg.evt.>`. */
export const EVENT_SUBJECT_PREFIX = 'tg.evt';
/** Every command subject starts with this. */
export const COMMAND_SUBJECT_PREFIX = 'tg.cmd';
/** Header of a failed command reply; value = CommandError.code. */
export const COMMAND_ERROR_HEADER = 'Tg-Error';

/** Event.type values producers emit today (consumers must tolerate others). */
export const EventType = {
  NewMessage: 'new_message',
  MessageEdited: 'message_edited',
  MessageDeleted: 'message_deleted',
  MessageRead: 'message_read',
  UserTyping: 'user_typing',
  SessionAuthorized: 'session_authorized',
  SessionConnected: 'session_connected',
  ConnectionLost: 'connection_lost',
  ConnectionRestored: 'connection_restored',
  SessionExpired: 'session_expired',
  SessionLoggedOut: 'session_logged_out',
  /** Notifier: a webhook delivery was dead-lettered (payload `exhausted`). */
  MessageAttemptExhausted: 'message_attempt_exhausted',
  /** Notifier: a webhook endpoint was disabled (payload `endpointDisabled`). */
  EndpointDisabled: 'endpoint_disabled',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Command names: the last token of `tg.cmd.<session_id>.<command>`. */
export const Command = {
  SendMessage: 'send_message',
  SendMedia: 'send_media',
  UploadFilePart: 'upload_file_part',
  GetDialogs: 'get_dialogs',
  GetHistory: 'get_history',
  ReadHistory: 'read_history',
  DownloadMedia: 'download_media',
} as const;
export type Command = (typeof Command)[keyof typeof Command];

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** True when `s` can be one subject token (no dots, wildcards or spaces). */
export function isSubjectToken(s: string): boolean {
  return TOKEN.test(s);
}

function token(name: string, value: string): string {
  if (!isSubjectToken(value)) {
    throw new Error(
      `${name} ${JSON.stringify(value)} is not a valid NATS subject token ([A-Za-z0-9_-]+)`,
    );
  }
  return value;
}

/** `tg.evt.<tenant>.<agent>.<session>.<type>` for an event. */
export function eventSubject(e: {
  tenantId: string;
  agentId: string;
  sessionId: string;
  type: string;
}): string {
  return [
    EVENT_SUBJECT_PREFIX,
    token('tenantId', e.tenantId),
    token('agentId', e.agentId),
    token('sessionId', e.sessionId),
    token('type', e.type),
  ].join('.');
}

/** `tg.cmd.<session>.<command>` for a command request. */
export function commandSubject(sessionId: string, command: Command): string {
  return [COMMAND_SUBJECT_PREFIX, token('sessionId', sessionId), command].join('.');
}

/** `tg.cmd.<session>.>`: what the owning shard subscribes to. */
export function commandWildcard(sessionId: string): string {
  return `${COMMAND_SUBJECT_PREFIX}.${token('sessionId', sessionId)}.>`;
}
