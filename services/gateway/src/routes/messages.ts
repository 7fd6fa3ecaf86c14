/**
 * Messaging routes, forwarded to the connector shard that owns the session
 * over NATS request/reply (`tg.cmd.<session_id>.<command>`,
 * proto/tgbridge/connector/v1):
 *
 * - `POST /api/telegram/send-message` exactly as seed 000 (`session_id`,
 *   `chat_id`, `message`, `reply_to` → `message_id`, `sent_at`), plus an
 *   optional `Idempotency-Key` header mapped to Telegram's random_id.
 * - `GET /api/telegram/chats` (dialogs with unread counts),
 *   `GET /api/telegram/chats/{chat_id}/messages` (history, paginated),
 *   `POST /api/telegram/read`, `GET /api/telegram/media/{session_id}/{chat_id}/{message_id}`
 *   (streamed download), `POST /api/telegram/send-media` (multipart upload).
 *
 * No shard answering means the session is not live: 409 SESSION_NOT_CONNECTED.
 * Connector errors map through `replyCommandError` (FLOOD_WAIT → 429 + Retry-After).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { traceRequest } from '@tgbridge/platform/telemetry';
import { sessionModel } from '@tgbridge/sessions';
import { COMMAND_ERROR_HEADER, Command, commandSubject } from '@tgbridge/proto/subjects';
import {
  CommandError,
  DownloadMediaResponse,
  GetDialogsResponse,
  GetHistoryResponse,
  SendMediaResponse,
  SendMessageResponse,
  type Dialog,
} from '@tgbridge/proto/connector/v1/connector';
import {
  ChatType,
  MediaType,
  type Chat,
  type Media,
  type Message,
  type User,
} from '@tgbridge/proto/common/v1/common';
import type { GatewayDeps } from '../deps.js';
import { principalOf, replyCommandError, replyError } from './errors.js';
import { errorResponses, SessionId } from './schemas.js';

const ChatId = Type.Union([Type.Integer(), Type.String({ pattern: '^-?[0-9]{1,20}$' })], {
  description: 'Bot API chat id (user id, -chat id, -100channel id)',
});
const CHUNK = 512 * 1024;
const MAX_UPLOAD = 50 * 1024 * 1024;
const ERRORS = errorResponses(400, 401, 403, 404, 409, 429, 500, 503, 504);

/** A command failed; carries the connector's CommandError (or a gateway-side one). */
class CommandFailed extends Error {
  constructor(readonly error: CommandError) {
    super(error.code);
  }
}

/**
 * Sends one command to the owning shard and returns the response JSON.
 * @throws CommandFailed with SESSION_NOT_CONNECTED (no responders), TIMEOUT, or the connector's error
 */
export async function sendCommand(
  deps: GatewayDeps,
  sessionId: string,
  command: Command,
  body: unknown,
  timeoutMs = 30_000,
): Promise<unknown> {
  let msg: Msg;
  try {
    const subject = commandSubject(sessionId, command);
    msg = await traceRequest('tg.cmd', subject, natsHeaders(), (headers) =>
      deps.nats.request(subject, JSON.stringify(body), { timeout: timeoutMs, headers }),
    );
  } catch (e) {
    const text = `${(e as Error)?.name ?? ''} ${(e as Error)?.message ?? ''}`;
    if (/no ?responders|503/i.test(text))
      throw new CommandFailed({
        code: 'SESSION_NOT_CONNECTED',
        message: 'The session is not connected (no connector shard holds it)',
        retryAfterSeconds: 0,
      });
    if (/timeout/i.test(text))
      throw new CommandFailed({
        code: 'TIMEOUT',
        message: 'The connector did not answer in time',
        retryAfterSeconds: 0,
      });
    throw e;
  }
  if (msg.headers?.get(COMMAND_ERROR_HEADER))
    throw new CommandFailed(CommandError.fromJSON(msg.json()));
  return msg.json();
}

const num = (s: string | undefined): number | null => (s === undefined ? null : Number(s));

/** Seed 000 `from` object. */
export function userView(u: User | undefined): Record<string, unknown> | null {
  if (!u) return null;
  return {
    id: num(u.id),
    first_name: u.firstName ?? null,
    last_name: u.lastName ?? null,
    username: u.username ?? null,
    phone: u.phone ?? null,
    is_bot: u.isBot,
  };
}

/** Seed 000 `chat` object (type lowercase: private, group, supergroup, channel). */
export function chatView(c: Chat | undefined): Record<string, unknown> | null {
  if (!c) return null;
  const type =
    c.type === ChatType.UNSPECIFIED || c.type === ChatType.UNRECOGNIZED
      ? null
      : ChatType[c.type].toLowerCase();
  return { id: num(c.id), type, title: c.title ?? null, username: c.username ?? null };
}

function mediaView(m: Media | undefined): Record<string, unknown> | null {
  if (!m) return null;
  return {
    type: (MediaType[m.type] ?? 'OTHER').toLowerCase(),
    mime_type: m.mimeType ?? null,
    size: num(m.size),
    file_name: m.fileName ?? null,
    width: m.width ?? null,
    height: m.height ?? null,
    duration: m.duration ?? null,
    downloadable: m.downloadable,
  };
}

/** Seed 000 `message` object (dates as unix seconds). */
export function messageView(m: Message | undefined): Record<string, unknown> | null {
  if (!m) return null;
  return {
    id: m.id,
    from: userView(m.from),
    chat: chatView(m.chat),
    text: m.text,
    date: m.date ? Math.floor(m.date.getTime() / 1000) : null,
    reply_to_message_id: m.replyToMessageId ?? null,
    edit_date: m.editDate ? Math.floor(m.editDate.getTime() / 1000) : null,
    out: m.out,
    media: mediaView(m.media),
  };
}

function dialogView(d: Dialog): Record<string, unknown> {
  return {
    chat: chatView(d.chat),
    unread_count: d.unreadCount,
    unread_mentions_count: d.unreadMentionsCount,
    pinned: d.pinned,
    archived: d.archived,
    muted: d.muted,
    read_inbox_max_id: d.readInboxMaxId,
    read_outbox_max_id: d.readOutboxMaxId,
    last_message: messageView(d.topMessage),
  };
}

const MEDIA_TYPES: Record<string, MediaType> = {
  photo: MediaType.PHOTO,
  document: MediaType.DOCUMENT,
  video: MediaType.VIDEO,
  voice: MediaType.VOICE,
  audio: MediaType.AUDIO,
  animation: MediaType.ANIMATION,
  video_note: MediaType.VIDEO_NOTE,
};

/** Registers the messaging routes. */
export default async function messageRoutes(
  app: FastifyInstance,
  deps: GatewayDeps,
): Promise<void> {
  const sessions = sessionModel(deps.mongo);
  await app.register(multipart, { limits: { fileSize: MAX_UPLOAD, files: 1, fields: 10 } });
  const security = [{ apiKey: [] }, { bearer: [] }] as Array<Record<string, string[]>>;

  /** Checks the session belongs to the caller's tenant; replies 404 otherwise. */
  const owned = async (
    request: FastifyRequest,
    reply: FastifyReply,
    sessionId: string,
  ): Promise<boolean> => {
    const { tenantId } = principalOf(request);
    const doc = await sessions.findOne({ _id: sessionId, tenantId }, { _id: 1 }).lean();
    if (!doc) {
      replyError(reply, 404, 'SESSION_NOT_FOUND', 'Session not found');
      return false;
    }
    return true;
  };
  const fail = (reply: FastifyReply, e: unknown): FastifyReply => {
    if (e instanceof CommandFailed) return replyCommandError(reply, e.error);
    throw e;
  };

  app.post<{
    Body: {
      session_id: string;
      chat_id: number | string;
      message: string;
      reply_to?: number | null;
    };
    Headers: { 'idempotency-key'?: string };
  }>(
    '/api/telegram/send-message',
    {
      schema: {
        tags: ['messages'],
        security,
        summary: 'Send a text message (seed 000); Idempotency-Key makes retries safe',
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        }),
        body: Type.Object(
          {
            session_id: SessionId,
            chat_id: ChatId,
            message: Type.String({ minLength: 1, maxLength: 4096 }),
            reply_to: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            message_id: Type.Integer(),
            sent_at: Type.String(),
          }),
          ...ERRORS,
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (!(await owned(request, reply, b.session_id))) return reply;
      try {
        const res = SendMessageResponse.fromJSON(
          await sendCommand(deps, b.session_id, Command.SendMessage, {
            sessionId: b.session_id,
            chatId: String(b.chat_id),
            text: b.message,
            replyToMessageId: b.reply_to ?? undefined,
            idempotencyKey: request.headers['idempotency-key'],
          }),
        );
        return {
          success: true as const,
          message_id: res.messageId,
          sent_at: (res.sentAt ?? new Date()).toISOString(),
        };
      } catch (e) {
        return fail(reply, e);
      }
    },
  );

  app.get<{
    Querystring: { session_id: string; limit?: number; page_token?: string; archived?: boolean };
  }>(
    '/api/telegram/chats',
    {
      schema: {
        tags: ['messages'],
        security,
        summary: "The account's chats with unread counts (seed 003), paginated",
        querystring: Type.Object({
          session_id: SessionId,
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
          page_token: Type.Optional(Type.String()),
          archived: Type.Optional(Type.Boolean()),
        }),
        response: ERRORS,
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (!(await owned(request, reply, q.session_id))) return reply;
      try {
        const res = GetDialogsResponse.fromJSON(
          await sendCommand(deps, q.session_id, Command.GetDialogs, {
            sessionId: q.session_id,
            limit: q.limit ?? 50,
            pageToken: q.page_token ?? '',
            archived: q.archived ?? false,
          }),
        );
        return {
          success: true,
          chats: res.dialogs.map(dialogView),
          next_page_token: res.nextPageToken || null,
          total_count: res.totalCount,
        };
      } catch (e) {
        return fail(reply, e);
      }
    },
  );

  app.get<{
    Params: { chat_id: string };
    Querystring: { session_id: string; offset_id?: number; limit?: number };
  }>(
    '/api/telegram/chats/:chat_id/messages',
    {
      schema: {
        tags: ['messages'],
        security,
        summary:
          'Messages of a chat, newest first; pass next_offset_id as offset_id for older ones',
        params: Type.Object({ chat_id: Type.String({ pattern: '^-?[0-9]{1,20}$' }) }),
        querystring: Type.Object({
          session_id: SessionId,
          offset_id: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        }),
        response: ERRORS,
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (!(await owned(request, reply, q.session_id))) return reply;
      try {
        const res = GetHistoryResponse.fromJSON(
          await sendCommand(deps, q.session_id, Command.GetHistory, {
            sessionId: q.session_id,
            chatId: request.params.chat_id,
            offsetId: q.offset_id ?? 0,
            limit: q.limit ?? 50,
          }),
        );
        return {
          success: true,
          messages: res.messages.map(messageView),
          next_offset_id: res.nextOffsetId || null,
        };
      } catch (e) {
        return fail(reply, e);
      }
    },
  );

  app.post<{ Body: { session_id: string; chat_id: number | string; max_id?: number } }>(
    '/api/telegram/read',
    {
      schema: {
        tags: ['messages'],
        security,
        summary: 'Mark incoming messages of a chat read (up to max_id; all when omitted)',
        body: Type.Object(
          {
            session_id: SessionId,
            chat_id: ChatId,
            max_id: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
        response: ERRORS,
      },
    },
    async (request, reply) => {
      const b = request.body;
      if (!(await owned(request, reply, b.session_id))) return reply;
      try {
        await sendCommand(deps, b.session_id, Command.ReadHistory, {
          sessionId: b.session_id,
          chatId: String(b.chat_id),
          maxId: b.max_id ?? 0,
        });
        return { success: true };
      } catch (e) {
        return fail(reply, e);
      }
    },
  );

  app.get<{ Params: { session_id: string; chat_id: string; message_id: number } }>(
    '/api/telegram/media/:session_id/:chat_id/:message_id',
    {
      schema: {
        tags: ['messages'],
        security,
        summary: "Download a message's photo or file (streamed)",
        params: Type.Object({
          session_id: SessionId,
          chat_id: Type.String({ pattern: '^-?[0-9]{1,20}$' }),
          message_id: Type.Integer({ minimum: 1 }),
        }),
      },
    },
    async (request, reply) => {
      const p = request.params;
      if (!(await owned(request, reply, p.session_id))) return reply;
      const chunk = (offset: number) =>
        sendCommand(
          deps,
          p.session_id,
          Command.DownloadMedia,
          {
            sessionId: p.session_id,
            chatId: p.chat_id,
            messageId: p.message_id,
            offset: String(offset),
            limit: CHUNK,
          },
          60_000,
        ).then((j) => DownloadMediaResponse.fromJSON(j));
      let first: DownloadMediaResponse;
      try {
        first = await chunk(0);
      } catch (e) {
        return fail(reply, e);
      }
      const media = first.media;
      reply.header('content-type', media?.mimeType || 'application/octet-stream');
      if (media?.size) reply.header('content-length', media.size);
      if (media?.fileName)
        reply.header(
          'content-disposition',
          `attachment; filename*=UTF-8''${encodeURIComponent(media.fileName)}`,
        );
      async function* body(): AsyncGenerator<Buffer> {
        let res = first;
        let offset = 0;
        for (;;) {
          if (res.data.length) yield Buffer.from(res.data);
          offset += res.data.length;
          if (res.eof || res.data.length === 0) return;
          res = await chunk(offset);
        }
      }
      return reply.send(Readable.from(body()));
    },
  );

  app.post(
    '/api/telegram/send-media',
    {
      schema: {
        tags: ['messages'],
        security,
        summary:
          'Send a photo or document (multipart/form-data: session_id, chat_id, type, caption, reply_to, file)',
        consumes: ['multipart/form-data'],
      },
    },
    async (request, reply) => {
      const fields: Record<string, string> = {};
      let file: { data: Buffer; filename: string; mimetype: string } | undefined;
      try {
        for await (const part of request.parts()) {
          if (part.type === 'file')
            file = {
              data: await part.toBuffer(),
              filename: part.filename,
              mimetype: part.mimetype,
            };
          else fields[part.fieldname] = String(part.value);
        }
      } catch (e) {
        return replyError(
          reply,
          400,
          'VALIDATION_ERROR',
          `multipart body: ${(e as Error).message}`,
        );
      }
      const sessionId = fields.session_id ?? '';
      const chatId = fields.chat_id ?? '';
      const type = MEDIA_TYPES[fields.type ?? 'document'];
      if (
        !/^[0-9a-fA-F-]{36}$/.test(sessionId) ||
        !/^-?[0-9]{1,20}$/.test(chatId) ||
        type === undefined ||
        !file ||
        file.data.length === 0
      ) {
        return replyError(
          reply,
          400,
          'VALIDATION_ERROR',
          'session_id (uuid), chat_id, type (photo|document|video|voice|audio|animation|video_note) and a non-empty file are required',
        );
      }
      if (!(await owned(request, reply, sessionId))) return reply;
      const idem = request.headers['idempotency-key'];
      try {
        const base = {
          sessionId,
          chatId,
          type,
          fileName: file.filename || 'file',
          mimeType: file.mimetype,
          caption: fields.caption ?? '',
          replyToMessageId: fields.reply_to ? Number(fields.reply_to) : undefined,
          idempotencyKey: typeof idem === 'string' ? idem : undefined,
        };
        let req: Record<string, unknown>;
        if (file.data.length <= CHUNK) req = { ...base, data: file.data.toString('base64') };
        else {
          const uploadId = randomUUID();
          const total = Math.ceil(file.data.length / CHUNK);
          for (let part = 0; part < total; part++) {
            const data = file.data.subarray(part * CHUNK, (part + 1) * CHUNK);
            await sendCommand(
              deps,
              sessionId,
              Command.UploadFilePart,
              {
                sessionId,
                uploadId,
                part,
                totalParts: total,
                data: data.toString('base64'),
                fileSize: String(file.data.length),
              },
              60_000,
            );
          }
          req = { ...base, uploadId };
        }
        const res = SendMediaResponse.fromJSON(
          await sendCommand(deps, sessionId, Command.SendMedia, req, 60_000),
        );
        return {
          success: true,
          message_id: res.messageId,
          sent_at: (res.sentAt ?? new Date()).toISOString(),
          message: messageView(res.message),
        };
      } catch (e) {
        return fail(reply, e);
      }
    },
  );
}
