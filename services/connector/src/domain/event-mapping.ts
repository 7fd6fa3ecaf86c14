/**
 * Maps Telegram updates and messages (GramJS `Api` objects, layer of the
 * bundled GramJS) to tgbridge events (`proto/tgbridge/events/v1`): sender and
 * chat as seed 000's webhook body, media metadata, deterministic event ids.
 * Sources: https://core.telegram.org/type/Update, /type/Message, /type/MessageMedia.
 */
import { Api } from 'telegram';
import type { Chat, Media, Message, MessageEntity, User } from '@tgbridge/proto/common/v1/common';
import { ChatType, MediaType } from '@tgbridge/proto/common/v1/common';
import type { Event } from '@tgbridge/proto/events/v1/events';
import { EventType } from '@tgbridge/proto/subjects';
import { markedId, type PeerCache, type UserInfo } from './peers.js';

/** An event before the runner adds the envelope (tenant, sequence, time). */
export interface EventDraft {
  /** Deterministic event id (Nats-Msg-Id): the same when re-published after recovery. */
  id: string;
  type: EventType;
  payload: Event['payload'];
}

/** What mapping needs to know about the session. */
export interface MappingContext {
  sessionId: string;
  /** The account itself. */
  self: UserInfo;
  peers: PeerCache;
}

/** Proto User of a known user. */
export function toProtoUser(u: UserInfo): User {
  return {
    id: u.id,
    firstName: u.firstName,
    lastName: u.lastName,
    username: u.username,
    phone: u.phone,
    isBot: u.bot,
  };
}

/** Proto Chat of a peer (type and title from the cache when known). */
export function toProtoChat(peer: Api.TypePeer, peers: PeerCache, post = false): Chat {
  const id = markedId(peer);
  if (peer instanceof Api.PeerUser) {
    const u = peers.user(id);
    const title = u ? [u.firstName, u.lastName].filter(Boolean).join(' ') || undefined : undefined;
    return { id, type: ChatType.PRIVATE, title, username: u?.username };
  }
  const c = peers.chat(id);
  if (peer instanceof Api.PeerChat) return { id, type: ChatType.GROUP, title: c?.title };
  const broadcast = c ? c.broadcast : post;
  return {
    id,
    type: broadcast ? ChatType.CHANNEL : ChatType.SUPERGROUP,
    title: c?.title,
    username: c?.username,
  };
}

const ENTITY_TYPES: Array<[new (...args: never[]) => Api.TypeMessageEntity, string]> = [
  [Api.MessageEntityBold, 'bold'],
  [Api.MessageEntityItalic, 'italic'],
  [Api.MessageEntityUnderline, 'underline'],
  [Api.MessageEntityStrike, 'strikethrough'],
  [Api.MessageEntitySpoiler, 'spoiler'],
  [Api.MessageEntityCode, 'code'],
  [Api.MessageEntityPre, 'pre'],
  [Api.MessageEntityTextUrl, 'text_link'],
  [Api.MessageEntityUrl, 'url'],
  [Api.MessageEntityEmail, 'email'],
  [Api.MessageEntityPhone, 'phone_number'],
  [Api.MessageEntityMention, 'mention'],
  [Api.MessageEntityMentionName, 'text_mention'],
  [Api.MessageEntityHashtag, 'hashtag'],
  [Api.MessageEntityCashtag, 'cashtag'],
  [Api.MessageEntityBotCommand, 'bot_command'],
  [Api.MessageEntityBlockquote, 'blockquote'],
  [Api.MessageEntityCustomEmoji, 'custom_emoji'],
];

/** Bot API entities of a message (unknown kinds are dropped). */
export function toProtoEntities(
  entities: readonly Api.TypeMessageEntity[] | undefined,
): MessageEntity[] {
  const out: MessageEntity[] = [];
  for (const e of entities ?? []) {
    const kind = ENTITY_TYPES.find(([cls]) => e instanceof cls)?.[1];
    if (!kind) continue;
    const m: MessageEntity = { type: kind, offset: e.offset, length: e.length };
    if (e instanceof Api.MessageEntityTextUrl) m.url = e.url;
    if (e instanceof Api.MessageEntityMentionName) m.userId = e.userId.toString();
    if (e instanceof Api.MessageEntityPre) m.language = e.language || undefined;
    if (e instanceof Api.MessageEntityCustomEmoji) m.customEmojiId = e.documentId.toString();
    out.push(m);
  }
  return out;
}

/** Largest downloadable size of a photo: [type, bytes, w, h]. */
export function largestPhotoSize(
  photo: Api.Photo,
): { type: string; size: number; w: number; h: number } | undefined {
  let best: { type: string; size: number; w: number; h: number } | undefined;
  for (const s of photo.sizes) {
    let size = 0;
    if (s instanceof Api.PhotoSize) size = s.size;
    else if (s instanceof Api.PhotoSizeProgressive) size = Math.max(...s.sizes);
    else if (s instanceof Api.PhotoCachedSize) size = s.bytes.length;
    else continue;
    if (!best || size > best.size) best = { type: s.type, size, w: s.w, h: s.h };
  }
  return best;
}

/** Media metadata of a message (undefined for none). */
export function toProtoMedia(media: Api.TypeMessageMedia | undefined): Media | undefined {
  if (!media || media instanceof Api.MessageMediaEmpty) return undefined;
  if (media instanceof Api.MessageMediaPhoto) {
    const photo = media.photo instanceof Api.Photo ? media.photo : undefined;
    const best = photo ? largestPhotoSize(photo) : undefined;
    return {
      type: MediaType.PHOTO,
      mimeType: 'image/jpeg',
      size: best ? String(best.size) : undefined,
      width: best?.w,
      height: best?.h,
      downloadable: Boolean(best),
    };
  }
  if (media instanceof Api.MessageMediaDocument) {
    const doc = media.document instanceof Api.Document ? media.document : undefined;
    if (!doc) return { type: MediaType.DOCUMENT, downloadable: false };
    const m: Media = {
      type: MediaType.DOCUMENT,
      mimeType: doc.mimeType || undefined,
      size: doc.size.toString(),
      downloadable: true,
    };
    for (const a of doc.attributes) {
      if (a instanceof Api.DocumentAttributeFilename) m.fileName = a.fileName;
      else if (a instanceof Api.DocumentAttributeVideo) {
        m.type = a.roundMessage
          ? MediaType.VIDEO_NOTE
          : m.type === MediaType.ANIMATION
            ? m.type
            : MediaType.VIDEO;
        m.width = a.w;
        m.height = a.h;
        m.duration = a.duration;
      } else if (a instanceof Api.DocumentAttributeAudio) {
        m.type = a.voice ? MediaType.VOICE : MediaType.AUDIO;
        m.duration = a.duration;
      } else if (a instanceof Api.DocumentAttributeAnimated) m.type = MediaType.ANIMATION;
      else if (a instanceof Api.DocumentAttributeSticker) m.type = MediaType.STICKER;
      else if (a instanceof Api.DocumentAttributeImageSize) {
        m.width = a.w;
        m.height = a.h;
      }
    }
    return m;
  }
  const simple: Array<[new (...args: never[]) => Api.TypeMessageMedia, MediaType]> = [
    [Api.MessageMediaContact, MediaType.CONTACT],
    [Api.MessageMediaGeo, MediaType.LOCATION],
    [Api.MessageMediaGeoLive, MediaType.LOCATION],
    [Api.MessageMediaVenue, MediaType.LOCATION],
    [Api.MessageMediaPoll, MediaType.POLL],
    [Api.MessageMediaWebPage, MediaType.WEB_PAGE],
  ];
  const type = simple.find(([cls]) => media instanceof cls)?.[1] ?? MediaType.OTHER;
  return { type, downloadable: false };
}

/**
 * Proto Message of a Telegram message; undefined for empty and service
 * messages. `from`: the sender (from_id), else the account itself for
 * outgoing messages, else the private-chat peer; absent for channel posts.
 */
export function toProtoMessage(msg: Api.TypeMessage, ctx: MappingContext): Message | undefined {
  if (!(msg instanceof Api.Message)) return undefined;
  const chat = toProtoChat(msg.peerId, ctx.peers, Boolean(msg.post));
  let from: User | undefined;
  if (msg.fromId instanceof Api.PeerUser) {
    const id = msg.fromId.userId.toString();
    from =
      id === ctx.self.id
        ? toProtoUser(ctx.self)
        : toProtoUser(ctx.peers.user(id) ?? { id, bot: false });
  } else if (!msg.fromId && msg.out) from = toProtoUser(ctx.self);
  else if (!msg.fromId && msg.peerId instanceof Api.PeerUser) {
    const id = msg.peerId.userId.toString();
    from = toProtoUser(ctx.peers.user(id) ?? { id, bot: false });
  }
  const senderChat =
    msg.fromId && !(msg.fromId instanceof Api.PeerUser)
      ? toProtoChat(msg.fromId, ctx.peers)
      : !msg.fromId && msg.post
        ? chat
        : undefined;
  const replyTo =
    msg.replyTo instanceof Api.MessageReplyHeader ? msg.replyTo.replyToMsgId : undefined;
  return {
    id: msg.id,
    from,
    chat,
    text: msg.message ?? '',
    date: new Date(msg.date * 1000),
    replyToMessageId: replyTo ?? undefined,
    editDate: msg.editDate ? new Date(msg.editDate * 1000) : undefined,
    out: Boolean(msg.out),
    media: toProtoMedia(msg.media),
    groupedId: msg.groupedId ? msg.groupedId.toString() : undefined,
    entities: toProtoEntities(msg.entities),
    senderChat,
  };
}

/** Deterministic event id of a new or edited message: session, chat, message id, edit version. */
export function messageEventId(sessionId: string, m: Message): string {
  const version = m.editDate ? Math.floor(m.editDate.getTime() / 1000) : 0;
  return `${sessionId}:m:${m.chat?.id ?? '0'}:${m.id}:${version}`;
}

/** new_message / message_edited event of a message (undefined for service messages). */
export function messageEvent(
  msg: Api.TypeMessage,
  edited: boolean,
  ctx: MappingContext,
): EventDraft | undefined {
  const m = toProtoMessage(msg, ctx);
  if (!m) return undefined;
  return {
    id: messageEventId(ctx.sessionId, m),
    type: edited ? EventType.MessageEdited : EventType.NewMessage,
    payload: { $case: 'message', value: { message: m } },
  };
}

const ACTIONS: Array<[new (...args: never[]) => Api.TypeSendMessageAction, string]> = [
  [Api.SendMessageTypingAction, 'typing'],
  [Api.SendMessageCancelAction, 'cancel'],
  [Api.SendMessageUploadPhotoAction, 'upload_photo'],
  [Api.SendMessageRecordVideoAction, 'record_video'],
  [Api.SendMessageUploadVideoAction, 'upload_video'],
  [Api.SendMessageRecordAudioAction, 'record_voice'],
  [Api.SendMessageUploadAudioAction, 'upload_voice'],
  [Api.SendMessageUploadDocumentAction, 'upload_document'],
  [Api.SendMessageChooseStickerAction, 'choose_sticker'],
  [Api.SendMessageGeoLocationAction, 'find_location'],
  [Api.SendMessageRecordRoundAction, 'record_video_note'],
  [Api.SendMessageUploadRoundAction, 'upload_video_note'],
];

function typingEvent(
  sessionId: string,
  chatId: string,
  userId: string,
  action: Api.TypeSendMessageAction,
): EventDraft | undefined {
  const name = ACTIONS.find(([cls]) => action instanceof cls)?.[1];
  if (!name) return undefined;
  return {
    id: `${sessionId}:t:${chatId}:${userId}:${Date.now()}`,
    type: EventType.UserTyping,
    payload: { $case: 'typing', value: { chatId, userId, action: name } },
  };
}

/**
 * Events of one update that carries no message of its own to render via
 * {@link messageEvent} (deletions, read receipts, typing). `ptsHint` makes
 * deletion ids deterministic. Returns [] for updates tgbridge does not publish.
 */
export function otherUpdateEvents(u: Api.TypeUpdate, ctx: MappingContext): EventDraft[] {
  const sid = ctx.sessionId;
  if (u instanceof Api.UpdateDeleteMessages) {
    return [
      {
        id: `${sid}:d:0:${u.pts}`,
        type: EventType.MessageDeleted,
        payload: { $case: 'deleted', value: { messageIds: [...u.messages] } },
      },
    ];
  }
  if (u instanceof Api.UpdateDeleteChannelMessages) {
    const chatId = markedId(new Api.PeerChannel({ channelId: u.channelId }));
    return [
      {
        id: `${sid}:d:${chatId}:${u.pts}`,
        type: EventType.MessageDeleted,
        payload: { $case: 'deleted', value: { chatId, messageIds: [...u.messages] } },
      },
    ];
  }
  if (u instanceof Api.UpdateReadHistoryOutbox || u instanceof Api.UpdateReadHistoryInbox) {
    const outbox = u instanceof Api.UpdateReadHistoryOutbox;
    const chatId = markedId(u.peer);
    const still = u instanceof Api.UpdateReadHistoryInbox ? u.stillUnreadCount : undefined;
    return [
      {
        id: `${sid}:r:${chatId}:${u.maxId}:${outbox ? 'o' : 'i'}`,
        type: EventType.MessageRead,
        payload: {
          $case: 'read',
          value: { chatId, maxId: u.maxId, outbox, stillUnreadCount: still },
        },
      },
    ];
  }
  if (u instanceof Api.UpdateReadChannelOutbox) {
    const chatId = markedId(new Api.PeerChannel({ channelId: u.channelId }));
    return [
      {
        id: `${sid}:r:${chatId}:${u.maxId}:o`,
        type: EventType.MessageRead,
        payload: { $case: 'read', value: { chatId, maxId: u.maxId, outbox: true } },
      },
    ];
  }
  if (u instanceof Api.UpdateUserTyping) {
    const e = typingEvent(sid, u.userId.toString(), u.userId.toString(), u.action);
    return e ? [e] : [];
  }
  if (u instanceof Api.UpdateChatUserTyping && u.fromId instanceof Api.PeerUser) {
    const e = typingEvent(sid, `-${u.chatId.toString()}`, u.fromId.userId.toString(), u.action);
    return e ? [e] : [];
  }
  if (u instanceof Api.UpdateChannelUserTyping && u.fromId instanceof Api.PeerUser) {
    const chatId = markedId(new Api.PeerChannel({ channelId: u.channelId }));
    const e = typingEvent(sid, chatId, u.fromId.userId.toString(), u.action);
    return e ? [e] : [];
  }
  return [];
}
