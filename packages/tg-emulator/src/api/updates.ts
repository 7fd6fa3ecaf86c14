/**
 * updates.getState, updates.getDifference, updates.getChannelDifference
 * (https://core.telegram.org/api/updates#recovering-gaps).
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import { RpcError } from '../rpc.js';
import type { StoredMessage, UserRecord } from '../world/types.js';
import { collectEntities, long, renderMessage } from './tl.js';
import { renderAccountUpdate, renderChannelUpdate } from './push.js';
import { resolveChannel } from './peers.js';
import { dialogView } from './messages.js';
import { unreadCount } from '../world/actions.js';

function totalUnread(ctx: ApiContext, userId: number): number {
  let n = 0;
  for (const d of ctx.world.messages.dialogsOf(userId)) n += unreadCount(ctx.world, userId, d.peer);
  return n;
}

/** The account's current `updates.state`. */
export function currentState(ctx: ApiContext, userId: number): Api.updates.State {
  const acc = ctx.world.logs.account(userId);
  return new Api.updates.State({
    pts: acc.pts,
    qts: acc.qts,
    date: acc.date,
    seq: acc.seq,
    unreadCount: totalUnread(ctx, userId),
  });
}

/** updates.getState. */
export function getState(ctx: ApiContext, user: UserRecord): Api.updates.State {
  return currentState(ctx, user.id);
}

/**
 * updates.getDifference from (pts, date, qts): differenceEmpty when nothing
 * was missed; difference with new_messages / other_updates; differenceSlice
 * (with intermediate_state) beyond `differenceLimit` updates;
 * differenceTooLong when the gap exceeds pts_total_limit /
 * `differenceTooLongAfter` or the kept log. Channels with activity at or after
 * `date` are announced with updateChannelTooLong (fetch them with
 * updates.getChannelDifference).
 */
export function getDifference(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.updates.GetDifference,
): Api.updates.TypeDifference {
  const acc = ctx.world.logs.account(user.id);
  if (req.pts > acc.pts) return new Api.updates.DifferenceTooLong({ pts: acc.pts });
  const tooLongAfter =
    req.ptsTotalLimit && req.ptsTotalLimit > 0
      ? Math.min(req.ptsTotalLimit, ctx.options.differenceTooLongAfter)
      : ctx.options.differenceTooLongAfter;
  const entries = ctx.world.logs.since(user.id, req.pts);
  if (!entries || acc.pts - req.pts > tooLongAfter)
    return new Api.updates.DifferenceTooLong({ pts: acc.pts });
  const channelNotes: Api.TypeUpdate[] = [];
  for (const ch of ctx.world.chats.channelsOf(user.id)) {
    // >= : dates are whole seconds, and activity in the very second of the
    // client's state may be newer than that state
    if (ctx.world.logs.channelLastDate(ch.id) >= req.date)
      channelNotes.push(new Api.UpdateChannelTooLong({ channelId: long(ch.id), pts: ch.pts }));
  }
  if (!entries.length && !channelNotes.length)
    return new Api.updates.DifferenceEmpty({ date: acc.date, seq: acc.seq });
  const slice = entries.slice(0, ctx.options.differenceLimit);
  const isSlice = slice.length < entries.length;
  const newMessages: Api.TypeMessage[] = [];
  const other: Api.TypeUpdate[] = [];
  const stored: StoredMessage[] = [];
  for (const e of slice) {
    const r = renderAccountUpdate(ctx, user.id, e);
    if (!r) continue;
    if (r.message) stored.push(r.message);
    if (r.update instanceof Api.UpdateNewMessage) newMessages.push(r.update.message);
    else other.push(r.update);
  }
  if (!isSlice) other.push(...channelNotes);
  const { users, chats } = collectEntities(
    ctx.world,
    user.id,
    stored,
    channelNotes.map((u) => ({
      type: 'channel' as const,
      id: Number((u as Api.UpdateChannelTooLong).channelId.toString()),
    })),
  );
  const args = { newMessages, newEncryptedMessages: [], otherUpdates: other, chats, users };
  if (isSlice) {
    const last = slice[slice.length - 1]!;
    return new Api.updates.DifferenceSlice({
      ...args,
      intermediateState: new Api.updates.State({
        pts: last.pts,
        qts: acc.qts,
        date: last.date,
        seq: acc.seq,
        unreadCount: totalUnread(ctx, user.id),
      }),
    });
  }
  return new Api.updates.Difference({ ...args, state: currentState(ctx, user.id) });
}

/**
 * updates.getChannelDifference: channelDifferenceEmpty, channelDifference
 * (at most `limit` updates; `final` false when more remain) or
 * channelDifferenceTooLong with the latest messages when the log does not
 * reach back. Errors: 400 `CHANNEL_INVALID`, 406 `CHANNEL_PRIVATE`, 400 `PERSISTENT_TIMESTAMP_INVALID`.
 */
export function getChannelDifference(
  ctx: ApiContext,
  user: UserRecord,
  req: Api.updates.GetChannelDifference,
): Api.updates.TypeChannelDifference {
  const ch = resolveChannel(ctx.world, user.id, req.channel);
  if (req.pts <= 0 || req.pts > ch.pts) throw new RpcError(400, 'PERSISTENT_TIMESTAMP_INVALID');
  if (req.pts === ch.pts)
    return new Api.updates.ChannelDifferenceEmpty({ final: true, pts: ch.pts, timeout: 30 });
  const limit = req.limit > 0 ? Math.min(req.limit, 100000) : 100;
  const entries = ctx.world.logs.channelSince(ch.id, ch.pts, req.pts);
  const peer = { type: 'channel' as const, id: ch.id };
  if (!entries || ch.pts - req.pts > ctx.options.differenceTooLongAfter) {
    const view = dialogView(ctx, user.id, peer);
    const recent = ctx.world.messages
      .history(user.id, peer)
      .sort((a, b) => b.id - a.id)
      .slice(0, Math.min(limit, 100));
    const { users, chats } = collectEntities(ctx.world, user.id, recent, [peer]);
    const dialog =
      view?.dialog ??
      new Api.Dialog({
        peer: new Api.PeerChannel({ channelId: long(ch.id) }),
        topMessage: 0,
        readInboxMaxId: 0,
        readOutboxMaxId: 0,
        unreadCount: 0,
        unreadMentionsCount: 0,
        unreadReactionsCount: 0,
        notifySettings: new Api.PeerNotifySettings({}),
        pts: ch.pts,
      });
    return new Api.updates.ChannelDifferenceTooLong({
      final: true,
      timeout: 30,
      dialog,
      messages: recent.map((m) => renderMessage(ctx.world, m, user.id, ctx.options.dcId)),
      chats,
      users,
    });
  }
  const slice = entries.slice(0, limit);
  const newMessages: Api.TypeMessage[] = [];
  const other: Api.TypeUpdate[] = [];
  const stored: StoredMessage[] = [];
  for (const e of slice) {
    const r = renderChannelUpdate(ctx, ch.id, user.id, e);
    if (!r) continue;
    if (r.message) stored.push(r.message);
    if (r.update instanceof Api.UpdateNewChannelMessage) newMessages.push(r.update.message);
    else other.push(r.update);
  }
  const { users, chats } = collectEntities(ctx.world, user.id, stored, [peer]);
  const last = slice[slice.length - 1];
  return new Api.updates.ChannelDifference({
    final: slice.length === entries.length,
    pts: last ? last.pts : ch.pts,
    timeout: 30,
    newMessages,
    otherUpdates: other,
    chats,
    users,
  });
}
