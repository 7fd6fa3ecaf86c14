/**
 * Message methods: messages.sendMessage, sendMedia, editMessage,
 * deleteMessages, readHistory, getDialogs, getHistory, getMessages,
 * setTyping; channels.deleteMessages, readHistory, getMessages
 * (https://core.telegram.org/method/messages.sendMessage ...).
 */
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { ApiContext } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { MediaRecord, PeerRef, StoredMessage, UserRecord } from '../world/types.js';
import * as actions from '../world/actions.js';
import { collectEntities, long, renderMessage, renderPeer } from './tl.js';
import { deliver, pushToUser, renderChannelUpdate, renderAccountUpdate, short } from './push.js';
import { resolveChannel, resolvePeer } from './peers.js';
import { mediaFromInput } from './media.js';
import { peerKey } from '../world/ids.js';

function replyToId(replyTo: Api.TypeInputReplyTo | undefined): number | undefined {
  return replyTo instanceof Api.InputReplyToMessage ? replyTo.replyToMsgId : undefined;
}

/**
 * The answer to a send: `updateShortSentMessage` for plain text in a private
 * chat, otherwise `updates` with `updateMessageID` + `updateNewMessage` /
 * `updateNewChannelMessage`.
 */
function sendAnswer(
  ctx: ApiContext,
  user: UserRecord,
  msg: StoredMessage,
  randomId: bigInt.BigInteger,
): Api.TypeUpdates {
  const { world } = ctx;
  let found: { pts: number; ptsCount: number; date: number } | undefined;
  if (msg.peer.type === 'channel') {
    const ch = world.chats.channel(msg.peer.id)!;
    found = world.logs
      .channelSince(ch.id, ch.pts, 0)
      ?.find((e) => e.u.t === 'new' && e.u.id === msg.id);
  } else {
    const log = world.logs.account(user.id).log;
    for (let i = log.length - 1; i >= 0; i--) {
      const e = log[i]!;
      if (e.u.t === 'new' && e.u.id === msg.id) {
        found = e;
        break;
      }
    }
  }
  const pts =
    found?.pts ??
    (msg.peer.type === 'channel'
      ? world.chats.channel(msg.peer.id)!.pts
      : world.logs.account(user.id).pts);
  const ptsCount = found?.ptsCount ?? 1;
  if (msg.peer.type === 'user' && !msg.media) {
    return new Api.UpdateShortSentMessage({ out: true, id: msg.id, pts, ptsCount, date: msg.date });
  }
  const message = renderMessage(world, msg, user.id, ctx.options.dcId);
  const upd =
    msg.peer.type === 'channel'
      ? new Api.UpdateNewChannelMessage({ message, pts, ptsCount })
      : new Api.UpdateNewMessage({ message, pts, ptsCount });
  const { users, chats } = collectEntities(world, user.id, [msg]);
  return new Api.Updates({
    updates: [new Api.UpdateMessageID({ id: msg.id, randomId }), upd],
    users,
    chats,
    date: msg.date,
    seq: 0,
  });
}

function doSend(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  peer: PeerRef,
  text: string,
  randomId: bigInt.BigInteger,
  replyTo?: number,
  media?: MediaRecord,
): Api.TypeUpdates {
  const r = actions.sendMessage(ctx.world, {
    fromId: user.id,
    to: peer,
    text,
    replyToId: replyTo,
    media,
    randomId: randomId.toString(),
  });
  if (!r.duplicate) {
    ctx.counters.messagesSent += 1;
    deliver(ctx, r.events, call.connection);
  }
  return sendAnswer(ctx, user, r.message, randomId);
}

/** messages.sendMessage (de-duplicated by random_id). */
export function sendMessage(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.SendMessage,
): Api.TypeUpdates {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  return doSend(
    ctx,
    call,
    user,
    peer,
    req.message,
    req.randomId ?? bigInt.zero,
    replyToId(req.replyTo),
  );
}

/** messages.sendMedia with an uploaded or existing photo/document. */
export function sendMedia(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.SendMedia,
): Api.TypeUpdates {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  const media = mediaFromInput(ctx, call, req.media);
  return doSend(
    ctx,
    call,
    user,
    peer,
    req.message ?? '',
    req.randomId ?? bigInt.zero,
    replyToId(req.replyTo),
    media,
  );
}

/** messages.uploadMedia: stores an uploaded file and returns its messageMedia. */
export function uploadMedia(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.UploadMedia,
): Api.TypeMessageMedia {
  resolvePeer(ctx.world, user.id, req.peer);
  const media = mediaFromInput(ctx, call, req.media);
  return media.kind === 'photo'
    ? new Api.MessageMediaPhoto({ photo: renderMessageMediaObject(ctx, media) as Api.Photo })
    : new Api.MessageMediaDocument({
        document: renderMessageMediaObject(ctx, media) as Api.Document,
      });
}

function renderMessageMediaObject(ctx: ApiContext, m: MediaRecord): Api.Photo | Api.Document {
  const msg = renderMessage(
    ctx.world,
    { id: 0, peer: { type: 'user', id: 0 }, fromId: 0, date: m.date, text: '', gid: 0, media: m },
    0,
    ctx.options.dcId,
  ) as Api.Message;
  const media = msg.media;
  if (media instanceof Api.MessageMediaPhoto) return media.photo as Api.Photo;
  return (media as Api.MessageMediaDocument).document as Api.Document;
}

/** messages.editMessage: answers `updates` with updateEditMessage / updateEditChannelMessage. */
export function editMessage(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.EditMessage,
): Api.TypeUpdates {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  if (req.message === undefined) throw new RpcError(400, 'MESSAGE_NOT_MODIFIED');
  const r = actions.editMessage(ctx.world, user.id, peer, req.id, req.message);
  deliver(ctx, r.events, call.connection);
  const own =
    peer.type === 'channel'
      ? r.events.channel.map((e) => renderChannelUpdate(ctx, e.channelId, user.id, e.entry))
      : r.events.account
          .filter((e) => e.userId === user.id)
          .map((e) => renderAccountUpdate(ctx, user.id, e.entry));
  const { users, chats } = collectEntities(ctx.world, user.id, [r.message]);
  return new Api.Updates({
    updates: own.filter((x) => !!x).map((x) => x.update),
    users,
    chats,
    date: r.message.editDate ?? r.message.date,
    seq: 0,
  });
}

/** messages.deleteMessages: answers messages.affectedMessages. */
export function deleteMessages(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.DeleteMessages,
): Api.messages.AffectedMessages {
  const r = actions.deleteMessages(ctx.world, user.id, req.id, !!req.revoke);
  deliver(ctx, r.events, call.connection);
  return new Api.messages.AffectedMessages({ pts: r.pts, ptsCount: r.ptsCount });
}

/** channels.deleteMessages. */
export function deleteChannelMessages(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.channels.DeleteMessages,
): Api.messages.AffectedMessages {
  const ch = resolveChannel(ctx.world, user.id, req.channel);
  const r = actions.deleteChannelMessages(ctx.world, user.id, ch.id, req.id);
  deliver(ctx, r.events, call.connection);
  return new Api.messages.AffectedMessages({ pts: r.pts, ptsCount: r.ptsCount });
}

function readChannel(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  channelId: number,
  maxId: number,
): void {
  const peer: PeerRef = { type: 'channel', id: channelId };
  actions.readHistory(ctx.world, user.id, peer, maxId);
  const d = ctx.world.messages.dialog(user.id, peer);
  const ch = ctx.world.chats.channel(channelId)!;
  const upd = new Api.UpdateReadChannelInbox({
    channelId: long(channelId),
    maxId: d.readInboxMaxId,
    stillUnreadCount: actions.unreadCount(ctx.world, user.id, peer),
    pts: ch.pts,
  });
  pushToUser(ctx, user.id, short(upd), call.connection);
}

/** messages.readHistory: answers messages.affectedMessages; pushes updateReadHistoryInbox/Outbox. */
export function readHistory(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.ReadHistory,
): Api.messages.AffectedMessages {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  if (peer.type === 'channel') {
    readChannel(ctx, call, user, peer.id, req.maxId);
    return new Api.messages.AffectedMessages({
      pts: ctx.world.logs.account(user.id).pts,
      ptsCount: 0,
    });
  }
  const r = actions.readHistory(ctx.world, user.id, peer, req.maxId);
  deliver(ctx, r.events, call.connection);
  return new Api.messages.AffectedMessages({ pts: r.pts, ptsCount: r.ptsCount });
}

/** channels.readHistory. */
export function readChannelHistory(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.channels.ReadHistory,
): boolean {
  const ch = resolveChannel(ctx.world, user.id, req.channel);
  readChannel(ctx, call, user, ch.id, req.maxId);
  return true;
}

/** messages.setTyping: pushes updateUserTyping / updateChatUserTyping / updateChannelUserTyping to the other side. */
export function setTyping(
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
  req: Api.messages.SetTyping,
): boolean {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  const from = new Api.PeerUser({ userId: long(user.id) });
  if (peer.type === 'user') {
    if (peer.id !== user.id)
      pushToUser(
        ctx,
        peer.id,
        short(new Api.UpdateUserTyping({ userId: long(user.id), action: req.action })),
      );
    return true;
  }
  const members = actions.participants(ctx.world, user.id, peer);
  if (!members.includes(user.id)) throw new RpcError(403, 'CHAT_WRITE_FORBIDDEN');
  const upd =
    peer.type === 'chat'
      ? new Api.UpdateChatUserTyping({ chatId: long(peer.id), fromId: from, action: req.action })
      : new Api.UpdateChannelUserTyping({
          channelId: long(peer.id),
          fromId: from,
          action: req.action,
        });
  for (const m of members) if (m !== user.id) pushToUser(ctx, m, short(upd));
  void call;
  return true;
}

/** Sorted-descending history of a dialog as seen by `userId`. */
function historyDesc(ctx: ApiContext, userId: number, peer: PeerRef): StoredMessage[] {
  return ctx.world.messages.history(userId, peer).sort((a, b) => b.id - a.id);
}

function messagesResult(
  ctx: ApiContext,
  user: UserRecord,
  peer: PeerRef | undefined,
  msgs: StoredMessage[],
  count: number,
): Api.messages.TypeMessages {
  const { users, chats } = collectEntities(ctx.world, user.id, msgs, peer ? [peer] : []);
  const messages = msgs.map((m) => renderMessage(ctx.world, m, user.id, ctx.options.dcId));
  if (peer?.type === 'channel') {
    const ch = ctx.world.chats.channel(peer.id)!;
    return new Api.messages.ChannelMessages({
      pts: ch.pts,
      count,
      messages,
      topics: [],
      chats,
      users,
    });
  }
  if (count > msgs.length) return new Api.messages.MessagesSlice({ count, messages, chats, users });
  return new Api.messages.Messages({ messages, chats, users });
}

/** messages.getHistory with Telegram's offset_id/offset_date/add_offset/limit/max_id/min_id paging. */
export function getHistory(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.messages.GetHistory,
): Api.messages.TypeMessages {
  const peer = resolvePeer(ctx.world, user.id, req.peer);
  if (peer.type === 'channel')
    resolveChannel(
      ctx.world,
      user.id,
      new Api.InputChannel({
        channelId: long(peer.id),
        accessHash: long(ctx.world.chats.channel(peer.id)!.accessHash),
      }),
    );
  if (peer.type === 'chat' && !ctx.world.chats.chat(peer.id)!.members.includes(user.id))
    throw new RpcError(400, 'CHAT_ID_INVALID');
  const all = historyDesc(ctx, user.id, peer);
  const limit = req.limit <= 0 ? 20 : Math.min(req.limit, 100);
  let start = 0;
  if (req.offsetId > 0) {
    start = all.findIndex((m) => m.id < req.offsetId);
    if (start < 0) start = all.length;
  } else if (req.offsetDate > 0) {
    start = all.findIndex((m) => m.date < req.offsetDate);
    if (start < 0) start = all.length;
  }
  start = Math.max(0, start + req.addOffset);
  const page = all
    .slice(start, start + limit)
    .filter((m) => (req.maxId <= 0 || m.id < req.maxId) && (req.minId <= 0 || m.id > req.minId));
  return messagesResult(ctx, user, peer, page, all.length);
}

function inputMessageIds(ids: Api.TypeInputMessage[]): number[] {
  return ids.map((i) =>
    i instanceof Api.InputMessageID ||
    i instanceof Api.InputMessageReplyTo ||
    i instanceof Api.InputMessagePinned
      ? 'id' in i
        ? i.id
        : 0
      : 0,
  );
}

/** messages.getMessages (private chats and basic groups; missing ids → messageEmpty). */
export function getMessages(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.messages.GetMessages,
): Api.messages.TypeMessages {
  const box = ctx.world.messages.box(user.id);
  const found: StoredMessage[] = [];
  const rendered: Api.TypeMessage[] = [];
  for (const id of inputMessageIds(req.id)) {
    const m = box.get(id);
    if (m) {
      found.push(m);
      rendered.push(renderMessage(ctx.world, m, user.id, ctx.options.dcId));
    } else rendered.push(new Api.MessageEmpty({ id }));
  }
  const { users, chats } = collectEntities(ctx.world, user.id, found);
  return new Api.messages.Messages({ messages: rendered, chats, users });
}

/** channels.getMessages. */
export function getChannelMessages(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.channels.GetMessages,
): Api.messages.ChannelMessages {
  const ch = resolveChannel(ctx.world, user.id, req.channel);
  const box = ctx.world.messages.channelBox(ch.id);
  const found: StoredMessage[] = [];
  const rendered: Api.TypeMessage[] = [];
  for (const id of inputMessageIds(req.id)) {
    const m = box.get(id);
    if (m) {
      found.push(m);
      rendered.push(renderMessage(ctx.world, m, user.id, ctx.options.dcId));
    } else rendered.push(new Api.MessageEmpty({ id }));
  }
  const { users, chats } = collectEntities(ctx.world, user.id, found, [
    { type: 'channel', id: ch.id },
  ]);
  return new Api.messages.ChannelMessages({
    pts: ch.pts,
    count: rendered.length,
    messages: rendered,
    topics: [],
    chats,
    users,
  });
}

/** The `Api.Dialog` and top message of one dialog, or undefined if it has no messages. */
export function dialogView(
  ctx: ApiContext,
  userId: number,
  peer: PeerRef,
): { dialog: Api.Dialog; top: StoredMessage } | undefined {
  const hist = ctx.world.messages.history(userId, peer);
  let top: StoredMessage | undefined;
  for (const m of hist) if (!top || m.id > top.id) top = m;
  if (!top) return undefined;
  const d = ctx.world.messages.dialog(userId, peer);
  const dialog = new Api.Dialog({
    peer: renderPeer(peer),
    topMessage: top.id,
    readInboxMaxId: d.readInboxMaxId,
    readOutboxMaxId: d.readOutboxMaxId,
    unreadCount: actions.unreadCount(ctx.world, userId, peer),
    unreadMentionsCount: 0,
    unreadReactionsCount: 0,
    notifySettings: new Api.PeerNotifySettings({}),
    pts: peer.type === 'channel' ? ctx.world.chats.channel(peer.id)?.pts : undefined,
  });
  return { dialog, top };
}

/** messages.getDialogs, newest first, paged by offset_date/offset_id/offset_peer. */
export function getDialogs(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.messages.GetDialogs,
): Api.messages.TypeDialogs {
  if (req.folderId === 1)
    return new Api.messages.Dialogs({ dialogs: [], messages: [], chats: [], users: [] });
  const views = ctx.world.messages
    .dialogsOf(user.id)
    .filter(
      (d) =>
        d.peer.type !== 'channel' || ctx.world.chats.channel(d.peer.id)?.members.includes(user.id),
    )
    .map((d) => dialogView(ctx, user.id, d.peer))
    .filter((v): v is NonNullable<typeof v> => !!v)
    .sort((a, b) => b.top.date - a.top.date || b.top.id - a.top.id);
  let start = 0;
  if (req.offsetDate > 0 || req.offsetId > 0) {
    let offsetKey: string | undefined;
    try {
      offsetKey =
        req.offsetPeer instanceof Api.InputPeerEmpty
          ? undefined
          : peerKey(resolvePeer(ctx.world, user.id, req.offsetPeer));
    } catch {
      offsetKey = undefined;
    }
    const idx = offsetKey
      ? views.findIndex((v) => peerKey(v.top.peer) === offsetKey && v.top.id === req.offsetId)
      : -1;
    start =
      idx >= 0
        ? idx + 1
        : views.findIndex(
            (v) =>
              v.top.date < req.offsetDate ||
              (v.top.date === req.offsetDate && v.top.id < req.offsetId),
          );
    if (start < 0) start = views.length;
  }
  const limit = req.limit <= 0 ? 20 : Math.min(req.limit, 100);
  const page = views.slice(start, start + limit);
  const msgs = page.map((v) => v.top);
  const { users, chats } = collectEntities(
    ctx.world,
    user.id,
    msgs,
    page.map((v) => v.top.peer),
  );
  const args = {
    dialogs: page.map((v) => v.dialog),
    messages: msgs.map((m) => renderMessage(ctx.world, m, user.id, ctx.options.dcId)),
    chats,
    users,
  };
  if (views.length > page.length)
    return new Api.messages.DialogsSlice({ ...args, count: views.length });
  return new Api.messages.Dialogs(args);
}
