/**
 * Turns world events into `Updates` objects and pushes them to every live
 * update-receiving connection of the affected accounts
 * (https://core.telegram.org/api/updates). Also renders log entries for
 * updates.getDifference.
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import type { ClientConnection, TlObject } from '../rpc.js';
import type {
  ChannelRecord,
  LogEntry,
  StoredChannelUpdate,
  StoredMessage,
} from '../world/types.js';
import { PreparedUpdates } from '../mtproto/prepared.js';
import type { WorldEvents } from '../world/world.js';
import { collectEntities, long, renderMessage, renderPeer } from './tl.js';
import { nowSeconds } from '../world/ids.js';

/** The live update-receiving connections of `userId` other than `except`. */
function targets(ctx: ApiContext, userId: number, except?: ClientConnection): ClientConnection[] {
  const server = ctx.server();
  if (!server) return [];
  const out: ClientConnection[] = [];
  for (const conn of server.updateConnections(userId))
    if (conn !== except && conn.receivesUpdates) out.push(conn);
  return out;
}

/** Pushes one (pre-serialized) object to `conns`. Returns how many got it. */
function pushTo(ctx: ApiContext, conns: ClientConnection[], updates: TlObject): number {
  let n = 0;
  for (const conn of conns) {
    try {
      conn.pushUpdates(updates);
      n++;
    } catch {
      // connection closing; the client will catch up with getDifference
    }
  }
  ctx.counters.updatesPushed += n;
  return n;
}

/**
 * Pushes `updates` to the live update-receiving connections of `userId`,
 * except `except`; serialized once however many connections get it.
 * Returns how many got it.
 */
export function pushToUser(
  ctx: ApiContext,
  userId: number,
  updates: TlObject,
  except?: ClientConnection,
): number {
  const conns = targets(ctx, userId, except);
  if (conns.length === 0) return 0;
  return pushTo(ctx, conns, conns.length > 1 ? PreparedUpdates.of(updates) : updates);
}

/** Renders one common-box log entry of `userId` into an `Update` (undefined when the message is gone). */
export function renderAccountUpdate(
  ctx: ApiContext,
  userId: number,
  entry: LogEntry,
): { update: Api.TypeUpdate; message?: StoredMessage } | undefined {
  const { world, options } = ctx;
  const u = entry.u;
  const { pts, ptsCount } = entry;
  switch (u.t) {
    case 'new':
    case 'edit': {
      const msg = world.messages.box(userId).get(u.id);
      if (!msg) return undefined;
      const message = renderMessage(world, msg, userId, options.dcId);
      const update =
        u.t === 'new'
          ? new Api.UpdateNewMessage({ message, pts, ptsCount })
          : new Api.UpdateEditMessage({ message, pts, ptsCount });
      return { update, message: msg };
    }
    case 'del':
      return { update: new Api.UpdateDeleteMessages({ messages: u.ids, pts, ptsCount }) };
    case 'readIn':
      return {
        update: new Api.UpdateReadHistoryInbox({
          peer: renderPeer(u.peer),
          maxId: u.maxId,
          stillUnreadCount: u.stillUnread,
          pts,
          ptsCount,
        }),
      };
    case 'readOut':
      return {
        update: new Api.UpdateReadHistoryOutbox({
          peer: renderPeer(u.peer),
          maxId: u.maxId,
          pts,
          ptsCount,
        }),
      };
  }
}

/** Renders one channel log entry into an `Update` (undefined when the message is gone). */
export function renderChannelUpdate(
  ctx: ApiContext,
  channelId: number,
  viewerId: number,
  entry: LogEntry<StoredChannelUpdate>,
): { update: Api.TypeUpdate; message?: StoredMessage } | undefined {
  const { world, options } = ctx;
  const u = entry.u;
  const { pts, ptsCount } = entry;
  if (u.t === 'del')
    return {
      update: new Api.UpdateDeleteChannelMessages({
        channelId: long(channelId),
        messages: u.ids,
        pts,
        ptsCount,
      }),
    };
  const msg = world.messages.channelBox(channelId).get(u.id);
  if (!msg) return undefined;
  const message = renderMessage(world, msg, viewerId, options.dcId);
  const update =
    u.t === 'new'
      ? new Api.UpdateNewChannelMessage({ message, pts, ptsCount })
      : new Api.UpdateEditChannelMessage({ message, pts, ptsCount });
  return { update, message: msg };
}

/**
 * The `Updates` object an account receives for one common-box entry:
 * `updateShortMessage` / `updateShortChatMessage` for plain text, `updateShort`
 * for deletions and read markers, otherwise `updates` with users and chats.
 */
export function accountUpdates(
  ctx: ApiContext,
  userId: number,
  entry: LogEntry,
): TlObject | undefined {
  const { world } = ctx;
  const u = entry.u;
  if (u.t === 'new') {
    const msg = world.messages.box(userId).get(u.id);
    if (!msg) return undefined;
    const plain = !msg.media && !msg.action;
    const replyTo = msg.replyToId
      ? new Api.MessageReplyHeader({ replyToMsgId: msg.replyToId })
      : undefined;
    if (plain && msg.peer.type === 'user') {
      return new Api.UpdateShortMessage({
        out: msg.fromId === userId,
        id: msg.id,
        userId: long(msg.peer.id),
        message: msg.text,
        pts: entry.pts,
        ptsCount: entry.ptsCount,
        date: msg.date,
        replyTo,
      });
    }
    if (plain && msg.peer.type === 'chat') {
      return new Api.UpdateShortChatMessage({
        out: msg.fromId === userId,
        id: msg.id,
        fromId: long(msg.fromId),
        chatId: long(msg.peer.id),
        message: msg.text,
        pts: entry.pts,
        ptsCount: entry.ptsCount,
        date: msg.date,
        replyTo,
      });
    }
  }
  const r = renderAccountUpdate(ctx, userId, entry);
  if (!r) return undefined;
  if (!r.message) return new Api.UpdateShort({ update: r.update, date: entry.date });
  const { users, chats } = collectEntities(world, userId, [r.message]);
  return new Api.Updates({ updates: [r.update], users, chats, date: entry.date, seq: 0 });
}

/** The `Updates` object members of a channel receive for one channel entry. */
export function channelUpdates(
  ctx: ApiContext,
  channelId: number,
  viewerId: number,
  entry: LogEntry<StoredChannelUpdate>,
): TlObject | undefined {
  const r = renderChannelUpdate(ctx, channelId, viewerId, entry);
  if (!r) return undefined;
  // Like Telegram: the author and the channel, not the viewer's own user (which
  // would make every member's copy different and defeat serialize-once fan-out).
  const { users, chats } = collectEntities(
    ctx.world,
    viewerId,
    r.message ? [r.message] : [],
    [{ type: 'channel', id: channelId }],
    false,
  );
  return new Api.Updates({ updates: [r.update], users, chats, date: entry.date, seq: 0 });
}

/**
 * Everything in {@link channelUpdates} that depends on the viewer, as a
 * string: members with the same key get byte-identical updates, so a channel
 * post is rendered and serialized once per key (usually 2-3 keys: author,
 * creator, everyone else) instead of once per member. Keep in sync with
 * renderMessage / renderUser / renderChannel / collectEntities.
 */
function channelViewKey(
  ctx: ApiContext,
  ch: ChannelRecord,
  entry: LogEntry<StoredChannelUpdate>,
  viewerId: number,
): string {
  const creator = ch.creatorId === viewerId ? 'c' : '-';
  if (entry.u.t === 'del') return creator;
  const msg = ctx.world.messages.channelBox(ch.id).get(entry.u.id);
  if (!msg) return creator;
  // Service messages list users (rendered with per-viewer contact flags): no sharing.
  if (msg.action) return `v${viewerId}`;
  const author = msg.fromId;
  if (author === viewerId) return `${creator}self`;
  const viewer = ctx.world.users.get(viewerId);
  const contact = !!viewer?.contacts.includes(author);
  const mutual = contact && !!ctx.world.users.get(author)?.contacts.includes(viewerId);
  return `${creator}${contact ? 'k' : '-'}${mutual ? 'm' : '-'}`;
}

/** Pushes every event to the affected accounts' connections, skipping `except` (the caller, which gets the change in its result). */
export function deliver(ctx: ApiContext, events: WorldEvents, except?: ClientConnection): void {
  for (const { userId, entry } of events.account) {
    const conns = targets(ctx, userId, except);
    if (conns.length === 0) continue; // offline: getDifference renders it later
    const upd = accountUpdates(ctx, userId, entry);
    if (upd) pushTo(ctx, conns, conns.length > 1 ? PreparedUpdates.of(upd) : upd);
  }
  for (const { channelId, entry } of events.channel) {
    const ch = ctx.world.chats.channel(channelId);
    if (!ch) continue;
    const rendered = new Map<string, PreparedUpdates | null>();
    for (const member of ch.members) {
      const conns = targets(ctx, member, except);
      if (conns.length === 0) continue;
      const key = channelViewKey(ctx, ch, entry, member);
      let prepared = rendered.get(key);
      if (prepared === undefined) {
        const upd = channelUpdates(ctx, channelId, member, entry);
        prepared = upd ? PreparedUpdates.of(upd) : null;
        rendered.set(key, prepared);
      }
      if (prepared) pushTo(ctx, conns, prepared);
    }
  }
}

/** Wraps one update without pts into `updateShort`. */
export function short(update: Api.TypeUpdate): Api.UpdateShort {
  return new Api.UpdateShort({ update, date: nowSeconds() });
}
