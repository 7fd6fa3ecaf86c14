/**
 * Commands from the gateway over NATS request/reply
 * (`tg.cmd.<session_id>.<command>`, proto/tgbridge/connector/v1): only the
 * shard holding a session's lease subscribes. Replies are the response's
 * canonical JSON, or header `Tg-Error: <code>` with a `CommandError` body.
 *
 * Every outbound Telegram call goes through the session's token bucket;
 * FLOOD_WAIT up to the configured threshold is waited out, longer ones are
 * returned as FLOOD_WAIT with retry_after_seconds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Api } from 'telegram';
import bigInt from 'big-integer';
import {
  headers as natsHeaders,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import type { Logger } from '@tgbridge/platform/logging';
import {
  CommandError,
  DownloadMediaRequest,
  DownloadMediaResponse,
  GetDialogsRequest,
  GetDialogsResponse,
  GetHistoryRequest,
  GetHistoryResponse,
  ReadHistoryRequest,
  ReadHistoryResponse,
  SendMediaRequest,
  SendMediaResponse,
  SendMessageRequest,
  SendMessageResponse,
  UploadFilePartRequest,
  UploadFilePartResponse,
  type Dialog,
} from '@tgbridge/proto/connector/v1/connector';
import { MediaType, type Message } from '@tgbridge/proto/common/v1/common';
import { COMMAND_ERROR_HEADER, Command, commandWildcard } from '@tgbridge/proto/subjects';
import type { Metrics } from '../metrics.js';
import type { SessionsRepo } from '../infra/sessions-repo.js';
import { RequestTimeoutError, floodWaitSeconds, rpcErrorName } from '../domain/errors.js';
import {
  largestPhotoSize,
  messageEvent,
  toProtoChat,
  toProtoMessage,
} from '../domain/event-mapping.js';
import { Lru } from '../domain/lru.js';
import { markedId, parseMarkedId } from '../domain/peers.js';
import { RateLimitedError } from '../domain/rate-limit.js';
import type { SessionRunner } from '../domain/session-runner.js';
import { inCommandSpan } from '../infra/spans.js';

/** A command failure with its CommandError code. */
export class CommandFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterSeconds = 0,
  ) {
    super(message);
    this.name = 'CommandFailure';
  }
}

/** What command handlers need. */
export interface CommandDeps {
  nc: NatsConnection;
  repo: SessionsRepo;
  metrics: Metrics;
  logger: Logger;
  floodMaxSleepS: number;
}

const CHAT_NOT_FOUND = new Set([
  'PEER_ID_INVALID',
  'CHAT_ID_INVALID',
  'CHANNEL_INVALID',
  'USER_ID_INVALID',
  'CHANNEL_PRIVATE',
  'INPUT_USER_DEACTIVATED',
]);
const FORBIDDEN = new Set([
  'CHAT_WRITE_FORBIDDEN',
  'USER_BANNED_IN_CHANNEL',
  'CHAT_ADMIN_REQUIRED',
  'CHAT_RESTRICTED',
  'YOU_BLOCKED_USER',
  'USER_IS_BLOCKED',
]);
const INVALID = new Set([
  'MESSAGE_EMPTY',
  'MESSAGE_TOO_LONG',
  'MEDIA_EMPTY',
  'MEDIA_INVALID',
  'FILE_PARTS_INVALID',
  'FILE_PART_EMPTY',
  'OFFSET_INVALID',
  'LIMIT_INVALID',
  'REPLY_TO_INVALID',
]);

/** Maps any error to a CommandError (never leaks message text or secrets). */
export function toCommandError(e: unknown): CommandError {
  if (e instanceof CommandFailure)
    return { code: e.code, message: e.message, retryAfterSeconds: e.retryAfterSeconds };
  if (e instanceof RateLimitedError)
    return {
      code: 'FLOOD_WAIT',
      message: 'outbound rate limit: too many queued requests for this session',
      retryAfterSeconds: e.retryAfterS,
    };
  const flood = floodWaitSeconds(e);
  if (flood !== undefined)
    return {
      code: 'FLOOD_WAIT',
      message: `Telegram asks to wait ${flood} s`,
      retryAfterSeconds: flood,
    };
  if (e instanceof RequestTimeoutError)
    return { code: 'TIMEOUT', message: 'Telegram did not answer in time', retryAfterSeconds: 0 };
  const name = rpcErrorName(e);
  if (name && CHAT_NOT_FOUND.has(name))
    return { code: 'CHAT_NOT_FOUND', message: name, retryAfterSeconds: 0 };
  if (name && FORBIDDEN.has(name))
    return { code: 'CHAT_WRITE_FORBIDDEN', message: name, retryAfterSeconds: 0 };
  if (name && INVALID.has(name))
    return { code: 'INVALID_ARGUMENT', message: name, retryAfterSeconds: 0 };
  if (name === 'MESSAGE_ID_INVALID' || name === 'MSG_ID_INVALID')
    return { code: 'MESSAGE_NOT_FOUND', message: name, retryAfterSeconds: 0 };
  if (name && /AUTH_KEY|SESSION_REVOKED|USER_DEACTIVATED/.test(name))
    return { code: 'SESSION_EXPIRED', message: name, retryAfterSeconds: 0 };
  if (/disconnected/i.test(String((e as Error)?.message)))
    return {
      code: 'SESSION_NOT_CONNECTED',
      message: 'session is reconnecting',
      retryAfterSeconds: 0,
    };
  return { code: 'INTERNAL', message: name ?? 'internal error', retryAfterSeconds: 0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Per-session command context: runner + deps. */
class Ctx {
  constructor(
    readonly r: SessionRunner,
    readonly d: CommandDeps,
  ) {}

  requireLive(): void {
    if (this.r.status === 'expired')
      throw new CommandFailure('SESSION_EXPIRED', 'Telegram revoked this session');
    if (!this.r.live)
      throw new CommandFailure(
        'SESSION_NOT_CONNECTED',
        'session is not connected to Telegram right now',
      );
  }

  /** Rate-limited Telegram call with FLOOD_WAIT handling. */
  async call<R extends Api.AnyRequest>(req: R): Promise<R['__response']> {
    this.requireLive();
    await this.r.bucket.take().catch((e: unknown) => {
      this.d.metrics.floodWaits.inc({ outcome: 'queue_full' });
      throw e;
    });
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.r.invoke(req);
      } catch (e) {
        const s = floodWaitSeconds(e);
        if (s !== undefined && s <= this.d.floodMaxSleepS && attempt < 2) {
          this.d.metrics.floodWaits.inc({ outcome: 'waited' });
          await sleep(s * 1000);
          continue;
        }
        if (s !== undefined) this.d.metrics.floodWaits.inc({ outcome: 'returned' });
        throw e;
      }
    }
  }

  /** InputPeer of a Bot API chat id; loads the dialog list once on a miss. @throws CommandFailure CHAT_NOT_FOUND */
  async peer(chatId: string): Promise<Api.TypeInputPeer> {
    let parsed: ReturnType<typeof parseMarkedId>;
    try {
      parsed = parseMarkedId(chatId);
    } catch (e) {
      throw new CommandFailure('INVALID_ARGUMENT', `chat_id: ${(e as Error).message}`);
    }
    const hit = this.r.peers.inputPeer(chatId);
    if (hit) return hit;
    await this.dialogsPage(100);
    const again = this.r.peers.inputPeer(chatId);
    if (again) return again;
    if (parsed.kind === 'user') {
      const res = await this.call(
        new Api.users.GetUsers({
          id: [new Api.InputUser({ userId: bigInt(parsed.id), accessHash: bigInt(0) })],
        }),
      ).catch(() => []);
      for (const u of res) this.r.peers.addUser(u);
      const third = this.r.peers.inputPeer(chatId);
      if (third) return third;
    }
    throw new CommandFailure('CHAT_NOT_FOUND', 'unknown chat_id for this account');
  }

  async dialogsPage(
    limit: number,
    offsetDate = 0,
    offsetId = 0,
    offsetPeer: Api.TypeInputPeer = new Api.InputPeerEmpty(),
    archived = false,
  ): Promise<Api.messages.TypeDialogs> {
    const res = await this.call(
      new Api.messages.GetDialogs({
        offsetDate,
        offsetId,
        offsetPeer,
        limit,
        hash: bigInt(0),
        folderId: archived ? 1 : undefined,
      }),
    );
    if (!(res instanceof Api.messages.DialogsNotModified))
      this.r.peers.addAll(res.users, res.chats);
    return res;
  }

  /** The message `id` of `chatId` (undefined when missing). */
  async message(chatId: string, id: number): Promise<Api.Message | undefined> {
    const { kind, id: bare } = parseMarkedId(chatId);
    const ids = [new Api.InputMessageID({ id })];
    let res: Api.messages.TypeMessages;
    if (kind === 'channel') {
      await this.peer(chatId);
      const ch = this.r.peers.inputChannel(bare);
      if (!ch) throw new CommandFailure('CHAT_NOT_FOUND', 'unknown chat_id for this account');
      res = await this.call(new Api.channels.GetMessages({ channel: ch, id: ids }));
    } else res = await this.call(new Api.messages.GetMessages({ id: ids }));
    if (res instanceof Api.messages.MessagesNotModified) return undefined;
    this.r.peers.addAll(res.users, res.chats);
    const m = res.messages.find(
      (x) => x instanceof Api.Message && x.id === id && markedId(x.peerId) === chatId,
    );
    return m instanceof Api.Message ? m : undefined;
  }
}

/** random_id for an idempotency key: first 8 bytes of SHA-256(session, key), signed. */
export function randomIdFor(sessionId: string, key: string | undefined): bigInt.BigInteger {
  const buf = key
    ? createHash('sha256').update(sessionId).update('\0').update(key).digest()
    : randomBytes(8);
  return bigInt(buf.readBigInt64BE(0).toString());
}

function sentMessageOf(u: Api.TypeUpdates): Api.Message | undefined {
  if (!(u instanceof Api.Updates || u instanceof Api.UpdatesCombined)) return undefined;
  for (const x of u.updates) {
    if (
      (x instanceof Api.UpdateNewMessage || x instanceof Api.UpdateNewChannelMessage) &&
      x.message instanceof Api.Message
    )
      return x.message;
  }
  return undefined;
}

async function sendMessage(c: Ctx, req: SendMessageRequest): Promise<SendMessageResponse> {
  const len = req.text.length;
  if (len < 1 || len > 4096)
    throw new CommandFailure('INVALID_ARGUMENT', 'text must be 1..4096 characters');
  const key = req.idempotencyKey || undefined;
  if (key) {
    const prev = await c.d.repo.findIdempotent(c.r.id, key);
    if (prev)
      return {
        messageId: prev.messageId,
        sentAt: prev.sentAt,
        duplicate: true,
        message: undefined,
      };
  }
  const peer = await c.peer(req.chatId);
  const randomId = randomIdFor(c.r.id, key);
  const res = await c.call(
    new Api.messages.SendMessage({
      peer,
      message: req.text,
      randomId,
      replyTo: req.replyToMessageId
        ? new Api.InputReplyToMessage({ replyToMsgId: req.replyToMessageId })
        : undefined,
      silent: req.silent || undefined,
      noWebpage: req.noWebpage || undefined,
    }),
  );
  let message: Message | undefined;
  let messageId: number;
  let date: number;
  if (res instanceof Api.UpdateShortSentMessage) {
    messageId = res.id;
    date = res.date;
    const self = c.r.mappingContext().self;
    const msg = new Api.Message({
      id: res.id,
      out: true,
      peerId: peerOf(req.chatId),
      fromId: new Api.PeerUser({ userId: bigInt(self.id) }),
      message: req.text,
      date: res.date,
      media: res.media,
      entities: res.entities,
      replyTo: req.replyToMessageId
        ? new Api.MessageReplyHeader({ replyToMsgId: req.replyToMessageId })
        : undefined,
    });
    const draft = messageEvent(msg, false, c.r.mappingContext());
    message = draft?.payload?.$case === 'message' ? draft.payload.value.message : undefined;
    await c.r.applyOwnPts(res.pts, res.ptsCount, draft);
  } else {
    const m = sentMessageOf(res);
    if (!m) throw new CommandFailure('INTERNAL', 'unexpected sendMessage result');
    messageId = m.id;
    date = m.date;
    await c.r.applyOwnUpdates(res);
    message = toProtoMessage(m, c.r.mappingContext());
  }
  const sentAt = new Date(date * 1000);
  if (key) await c.d.repo.rememberIdempotent(c.r.id, key, { messageId, sentAt });
  return { messageId, sentAt, duplicate: false, message };
}

function peerOf(chatId: string): Api.TypePeer {
  const { kind, id } = parseMarkedId(chatId);
  if (kind === 'user') return new Api.PeerUser({ userId: bigInt(id) });
  if (kind === 'chat') return new Api.PeerChat({ chatId: bigInt(id) });
  return new Api.PeerChannel({ channelId: bigInt(id) });
}

interface PageToken {
  d: number;
  i: number;
  c: string;
}

async function getDialogs(c: Ctx, req: GetDialogsRequest): Promise<GetDialogsResponse> {
  const limit = req.limit === 0 ? 50 : req.limit;
  if (limit < 1 || limit > 100)
    throw new CommandFailure('INVALID_ARGUMENT', 'limit must be 1..100');
  let tok: PageToken = { d: 0, i: 0, c: '' };
  if (req.pageToken) {
    try {
      tok = JSON.parse(Buffer.from(req.pageToken, 'base64url').toString('utf8')) as PageToken;
    } catch {
      throw new CommandFailure('INVALID_ARGUMENT', 'page_token is malformed');
    }
  }
  const offsetPeer = tok.c ? await c.peer(tok.c) : new Api.InputPeerEmpty();
  const res = await c.dialogsPage(limit, tok.d, tok.i, offsetPeer, req.archived);
  if (res instanceof Api.messages.DialogsNotModified)
    return { dialogs: [], nextPageToken: '', totalCount: res.count };
  const ctx = c.r.mappingContext();
  const byKey = new Map<string, Api.Message>();
  for (const m of res.messages)
    if (m instanceof Api.Message) byKey.set(`${markedId(m.peerId)}:${m.id}`, m);
  const dialogs: Dialog[] = [];
  let last: { d: number; i: number; c: string } | undefined;
  const now = Math.floor(Date.now() / 1000);
  for (const dl of res.dialogs) {
    if (!(dl instanceof Api.Dialog)) continue;
    const chatId = markedId(dl.peer);
    const top = byKey.get(`${chatId}:${dl.topMessage}`);
    const muteUntil = dl.notifySettings?.muteUntil ?? 0;
    dialogs.push({
      chat: toProtoChat(dl.peer, c.r.peers),
      unreadCount: dl.unreadCount,
      unreadMentionsCount: dl.unreadMentionsCount,
      pinned: Boolean(dl.pinned),
      archived: dl.folderId === 1,
      muted: muteUntil > now,
      topMessage: top ? toProtoMessage(top, ctx) : undefined,
      readInboxMaxId: dl.readInboxMaxId,
      readOutboxMaxId: dl.readOutboxMaxId,
    });
    if (top) last = { d: top.date, i: top.id, c: chatId };
  }
  const total = res instanceof Api.messages.DialogsSlice ? res.count : dialogs.length;
  const more =
    res instanceof Api.messages.DialogsSlice && dialogs.length === limit && last !== undefined;
  return {
    dialogs,
    nextPageToken: more ? Buffer.from(JSON.stringify(last)).toString('base64url') : '',
    totalCount: total,
  };
}

async function getHistory(c: Ctx, req: GetHistoryRequest): Promise<GetHistoryResponse> {
  const limit = req.limit === 0 ? 50 : req.limit;
  if (limit < 1 || limit > 100)
    throw new CommandFailure('INVALID_ARGUMENT', 'limit must be 1..100');
  const peer = await c.peer(req.chatId);
  const res = await c.call(
    new Api.messages.GetHistory({
      peer,
      offsetId: req.offsetId,
      limit,
      addOffset: 0,
      maxId: 0,
      minId: 0,
      offsetDate: 0,
      hash: bigInt(0),
    }),
  );
  if (res instanceof Api.messages.MessagesNotModified) return { messages: [], nextOffsetId: 0 };
  c.r.peers.addAll(res.users, res.chats);
  const ctx = c.r.mappingContext();
  const messages = res.messages
    .map((m) => toProtoMessage(m, ctx))
    .filter((m): m is Message => m !== undefined);
  const lastId = res.messages.at(-1)?.id ?? 0;
  return { messages, nextOffsetId: res.messages.length === limit ? lastId : 0 };
}

async function readHistory(c: Ctx, req: ReadHistoryRequest): Promise<ReadHistoryResponse> {
  const peer = await c.peer(req.chatId);
  if (peer instanceof Api.InputPeerChannel) {
    await c.call(
      new Api.channels.ReadHistory({
        channel: new Api.InputChannel({ channelId: peer.channelId, accessHash: peer.accessHash }),
        maxId: req.maxId,
      }),
    );
  } else {
    const res = await c.call(new Api.messages.ReadHistory({ peer, maxId: req.maxId }));
    await c.r.applyOwnPts(res.pts, res.ptsCount);
  }
  return {};
}

const MAX_CHUNK = 512 * 1024;

async function downloadMedia(c: Ctx, req: DownloadMediaRequest): Promise<DownloadMediaResponse> {
  const limit = req.limit === 0 ? MAX_CHUNK : req.limit;
  const offset = Number(req.offset);
  if (limit % 4096 !== 0 || limit > MAX_CHUNK || (1024 * 1024) % limit !== 0)
    throw new CommandFailure(
      'INVALID_ARGUMENT',
      'limit must be a multiple of 4096 dividing 1 MiB, at most 512 KiB',
    );
  if (!Number.isSafeInteger(offset) || offset < 0 || offset % limit !== 0)
    throw new CommandFailure('INVALID_ARGUMENT', 'offset must be a multiple of limit');
  const m = await c.message(req.chatId, req.messageId);
  if (!m) throw new CommandFailure('MESSAGE_NOT_FOUND', 'message not found');
  let location: Api.TypeInputFileLocation;
  let size: number;
  if (m.media instanceof Api.MessageMediaPhoto && m.media.photo instanceof Api.Photo) {
    const p = m.media.photo;
    const best = largestPhotoSize(p);
    if (!best) throw new CommandFailure('MESSAGE_NOT_FOUND', 'photo has no downloadable size');
    location = new Api.InputPhotoFileLocation({
      id: p.id,
      accessHash: p.accessHash,
      fileReference: p.fileReference,
      thumbSize: best.type,
    });
    size = best.size;
  } else if (
    m.media instanceof Api.MessageMediaDocument &&
    m.media.document instanceof Api.Document
  ) {
    const d = m.media.document;
    location = new Api.InputDocumentFileLocation({
      id: d.id,
      accessHash: d.accessHash,
      fileReference: d.fileReference,
      thumbSize: '',
    });
    size = Number(d.size.toString());
  } else throw new CommandFailure('MESSAGE_NOT_FOUND', 'message has no downloadable media');
  let data = Buffer.alloc(0);
  if (offset < size) {
    const res = await c.call(
      new Api.upload.GetFile({ location, offset: bigInt(offset), limit, precise: false }),
    );
    if (!(res instanceof Api.upload.File)) throw new CommandFailure('INTERNAL', 'file is on a CDN');
    data = Buffer.from(res.bytes);
  }
  const eof = offset + data.length >= size || data.length < limit;
  const media = offset === 0 ? toProtoMessage(m, c.r.mappingContext())?.media : undefined;
  return { data, offset: String(offset), eof, media };
}

interface Upload {
  fileId: bigInt.BigInteger;
  received: Set<number>;
  totalParts: number;
  size: number;
  big: boolean;
}

const uploads = new WeakMap<SessionRunner, Lru<string, Upload>>();
const BIG_FILE = 10 * 1024 * 1024;

async function uploadFilePart(c: Ctx, req: UploadFilePartRequest): Promise<UploadFilePartResponse> {
  if (!req.uploadId || req.totalParts < 1 || req.part < 0 || req.part >= req.totalParts)
    throw new CommandFailure(
      'INVALID_ARGUMENT',
      'upload_id, part and total_parts are required (0 <= part < total_parts)',
    );
  if (req.data.length === 0 || req.data.length > MAX_CHUNK)
    throw new CommandFailure('INVALID_ARGUMENT', 'data must be 1..524288 bytes');
  let map = uploads.get(c.r);
  if (!map) uploads.set(c.r, (map = new Lru(8)));
  let up = map.get(req.uploadId);
  if (!up) {
    const size = Number(req.fileSize);
    up = {
      fileId: randomIdFor(c.r.id, `upload:${req.uploadId}`),
      received: new Set(),
      totalParts: req.totalParts,
      size,
      big: size > BIG_FILE,
    };
    map.set(req.uploadId, up);
  }
  const bytes = Buffer.from(req.data);
  if (up.big)
    await c.call(
      new Api.upload.SaveBigFilePart({
        fileId: up.fileId,
        filePart: req.part,
        fileTotalParts: up.totalParts,
        bytes,
      }),
    );
  else await c.call(new Api.upload.SaveFilePart({ fileId: up.fileId, filePart: req.part, bytes }));
  up.received.add(req.part);
  return { partsReceived: up.received.size };
}

async function sendMedia(c: Ctx, req: SendMediaRequest): Promise<SendMediaResponse> {
  const name = req.fileName || 'file';
  const key = req.idempotencyKey || undefined;
  if (key) {
    const prev = await c.d.repo.findIdempotent(c.r.id, key);
    if (prev)
      return {
        messageId: prev.messageId,
        sentAt: prev.sentAt,
        duplicate: true,
        message: undefined,
      };
  }
  const peer = await c.peer(req.chatId);
  let file: Api.TypeInputFile;
  if (req.source?.$case === 'data') {
    const bytes = Buffer.from(req.source.value);
    if (bytes.length === 0 || bytes.length > MAX_CHUNK)
      throw new CommandFailure(
        'INVALID_ARGUMENT',
        'inline data must be 1..524288 bytes; use upload_file_part for larger files',
      );
    const fileId = randomIdFor(c.r.id, undefined);
    await c.call(new Api.upload.SaveFilePart({ fileId, filePart: 0, bytes }));
    file = new Api.InputFile({ id: fileId, parts: 1, name, md5Checksum: '' });
  } else if (req.source?.$case === 'uploadId') {
    const up = uploads.get(c.r)?.get(req.source.value);
    if (!up || up.received.size !== up.totalParts)
      throw new CommandFailure('UPLOAD_NOT_FOUND', 'unknown or incomplete upload_id');
    file = up.big
      ? new Api.InputFileBig({ id: up.fileId, parts: up.totalParts, name })
      : new Api.InputFile({ id: up.fileId, parts: up.totalParts, name, md5Checksum: '' });
  } else throw new CommandFailure('INVALID_ARGUMENT', 'data or upload_id is required');
  let media: Api.TypeInputMedia;
  if (req.type === MediaType.PHOTO) media = new Api.InputMediaUploadedPhoto({ file });
  else {
    const attributes: Api.TypeDocumentAttribute[] = [
      new Api.DocumentAttributeFilename({ fileName: name }),
    ];
    if (req.type === MediaType.VIDEO || req.type === MediaType.VIDEO_NOTE) {
      attributes.push(
        new Api.DocumentAttributeVideo({
          duration: req.duration ?? 0,
          w: req.width ?? 0,
          h: req.height ?? 0,
          roundMessage: req.type === MediaType.VIDEO_NOTE || undefined,
        }),
      );
    } else if (req.type === MediaType.VOICE || req.type === MediaType.AUDIO) {
      attributes.push(
        new Api.DocumentAttributeAudio({
          duration: Math.round(req.duration ?? 0),
          voice: req.type === MediaType.VOICE || undefined,
        }),
      );
    } else if (req.type === MediaType.ANIMATION)
      attributes.push(new Api.DocumentAttributeAnimated());
    media = new Api.InputMediaUploadedDocument({
      file,
      mimeType: req.mimeType || 'application/octet-stream',
      attributes,
      forceFile: req.type === MediaType.DOCUMENT || undefined,
    });
  }
  const res = await c.call(
    new Api.messages.SendMedia({
      peer,
      media,
      message: req.caption,
      randomId: randomIdFor(c.r.id, key),
      replyTo: req.replyToMessageId
        ? new Api.InputReplyToMessage({ replyToMsgId: req.replyToMessageId })
        : undefined,
    }),
  );
  const m = sentMessageOf(res);
  if (!m) throw new CommandFailure('INTERNAL', 'unexpected sendMedia result');
  await c.r.applyOwnUpdates(res);
  if (req.source.$case === 'uploadId') uploads.get(c.r)?.delete(req.source.value);
  const sentAt = new Date(m.date * 1000);
  if (key) await c.d.repo.rememberIdempotent(c.r.id, key, { messageId: m.id, sentAt });
  return {
    messageId: m.id,
    sentAt,
    duplicate: false,
    message: toProtoMessage(m, c.r.mappingContext()),
  };
}

type Handler = (c: Ctx, data: unknown) => Promise<unknown>;

const HANDLERS: Record<string, Handler> = {
  [Command.SendMessage]: async (c, d) =>
    SendMessageResponse.toJSON(await sendMessage(c, SendMessageRequest.fromJSON(d))),
  [Command.SendMedia]: async (c, d) =>
    SendMediaResponse.toJSON(await sendMedia(c, SendMediaRequest.fromJSON(d))),
  [Command.UploadFilePart]: async (c, d) =>
    UploadFilePartResponse.toJSON(await uploadFilePart(c, UploadFilePartRequest.fromJSON(d))),
  [Command.GetDialogs]: async (c, d) =>
    GetDialogsResponse.toJSON(await getDialogs(c, GetDialogsRequest.fromJSON(d))),
  [Command.GetHistory]: async (c, d) =>
    GetHistoryResponse.toJSON(await getHistory(c, GetHistoryRequest.fromJSON(d))),
  [Command.ReadHistory]: async (c, d) =>
    ReadHistoryResponse.toJSON(await readHistory(c, ReadHistoryRequest.fromJSON(d))),
  [Command.DownloadMedia]: async (c, d) =>
    DownloadMediaResponse.toJSON(await downloadMedia(c, DownloadMediaRequest.fromJSON(d))),
};

/** Subscribes `tg.cmd.<session>.>` for a runner; returns the subscription. */
export function subscribeCommands(r: SessionRunner, d: CommandDeps): Subscription {
  const ctx = new Ctx(r, d);
  return d.nc.subscribe(commandWildcard(r.id), {
    callback: (err, msg) => {
      if (err) return;
      const command = msg.subject.split('.').at(-1) ?? '';
      void inCommandSpan(msg, command, r.id, () => handle(ctx, msg, command));
    },
  });
}

async function handle(c: Ctx, msg: Msg, command: string): Promise<void> {
  const started = performance.now();
  const handler = HANDLERS[command];
  let outcome = 'ok';
  try {
    if (!handler) throw new CommandFailure('INVALID_ARGUMENT', `unknown command ${command}`);
    let data: unknown;
    try {
      data = msg.json();
    } catch {
      throw new CommandFailure('INVALID_ARGUMENT', 'body is not JSON');
    }
    const res = await handler(c, data);
    msg.respond(JSON.stringify(res));
  } catch (e) {
    const ce = toCommandError(e);
    outcome = ce.code;
    if (ce.code === 'INTERNAL')
      c.d.logger.error(
        {
          session_id: c.r.id,
          command,
          err: { message: (e as Error)?.message, type: (e as Error)?.name },
        },
        'command failed',
      );
    const h = natsHeaders();
    h.set(COMMAND_ERROR_HEADER, ce.code);
    msg.respond(JSON.stringify(CommandError.toJSON(ce)), { headers: h });
  } finally {
    c.d.metrics.commands.inc({ command, outcome });
    c.d.metrics.sendLatency.observe({ command }, (performance.now() - started) / 1000);
  }
}
