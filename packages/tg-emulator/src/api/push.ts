/**
 * Turns world events into `Updates` objects and pushes them to every live
 * update-receiving connection of the affected accounts
 * (https://core.telegram.org/api/updates). Also renders log entries for
 * updates.getDifference.
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import type { ClientConnection, TlObject } from '../rpc.js';
import type { LogEntry, StoredChannelUpdate, StoredMessage } from '../world/types.js';
import type { WorldEvents } from '../world/world.js';
import { collectEntities, long, renderMessage, renderPeer } from './tl.js';
import { nowSeconds } from '../world/ids.js';

/** Pushes `updates` to the live update-receiving connections of `userId`, except `except`. Returns how many got it. */
export function pushToUser(
  ctx: ApiContext,
  userId: number,
  updates: TlObject,
  except?: ClientConnection,
): number {
  const server = ctx.server();
  if (!server) return 0;
  let n = 0;
  for (const conn of server.connections(userId)) {
    if (conn === except || !conn.receivesUpdates) continue;
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
  const { users, chats } = collectEntities(ctx.world, viewerId, r.message ? [r.message] : [], [
    { type: 'channel', id: channelId },
  ]);
  return new Api.Updates({ updates: [r.update], users, chats, date: entry.date, seq: 0 });
}

/** Pushes every event to the affected accounts' connections, skipping `except` (the caller, which gets the change in its result). */
export function deliver(ctx: ApiContext, events: WorldEvents, except?: ClientConnection): void {
  for (const { userId, entry } of events.account) {
    const upd = accountUpdates(ctx, userId, entry);
    if (upd) pushToUser(ctx, userId, upd, except);
  }
  for (const { channelId, entry } of events.channel) {
    const ch = ctx.world.chats.channel(channelId);
    if (!ch) continue;
    for (const member of ch.members) {
      const upd = channelUpdates(ctx, channelId, member, entry);
      if (upd) pushToUser(ctx, member, upd, except);
    }
  }
}

/** Wraps one update without pts into `updateShort`. */
export function short(update: Api.TypeUpdate): Api.UpdateShort {
  return new Api.UpdateShort({ update, date: nowSeconds() });
}
