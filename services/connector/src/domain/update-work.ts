/**
 * The unit of update processing of a session runner: a {@link Work} collects
 * the events of one incoming Updates object (or one difference page) and the
 * update state they lead to; the runner publishes the events and only then
 * makes that state its committed state. {@link applyUpdate} is the pts
 * bookkeeping of one update (https://core.telegram.org/api/updates).
 */
import { Api } from 'telegram';
import {
  messageEvent,
  otherUpdateEvents,
  type EventDraft,
  type MappingContext,
} from './event-mapping.js';
import { checkPts, cloneState, type UpdateState } from './update-state.js';

/** Events to publish and the state to commit once they are acknowledged. */
export interface Work {
  next: UpdateState;
  drafts: EventDraft[];
  recovered: boolean;
  /** Channels first seen in this work: their pts before its first update. */
  channelStart: Record<string, number>;
}

/** What {@link applyUpdate} found: applied, a common-box gap, or a gap / too-long in a channel. */
export type UpdateVerdict = 'ok' | 'gap' | { channel: string; pts?: number };

/** An empty work on top of `state` (copied). */
export function newWork(state: UpdateState, recovered = false): Work {
  return { next: cloneState(state), drafts: [], recovered, channelStart: {} };
}

/**
 * Applies one update to the work: checks pts (common box or channel; not
 * for updates that come from a difference, which are already in order) and
 * adds its events. Returns 'gap' / {channel} when updates are missing.
 */
export function applyUpdate(
  u: Api.TypeUpdate,
  w: Work,
  ctx: MappingContext,
  inDifference = false,
): UpdateVerdict {
  if (u instanceof Api.UpdateChannelTooLong) return { channel: u.channelId.toString(), pts: u.pts };
  const channelId = channelOf(u);
  const pts = (u as { pts?: unknown }).pts;
  const ptsCount = (u as { ptsCount?: unknown }).ptsCount;
  if (!inDifference && typeof pts === 'number' && typeof ptsCount === 'number') {
    if (channelId !== undefined) {
      const local = w.next.channels[channelId];
      if (local !== undefined) {
        const v = checkPts(local, pts, ptsCount);
        if (v === 'skip') return 'ok';
        if (v === 'gap') return { channel: channelId };
      } else w.channelStart[channelId] ??= pts - ptsCount;
      w.next.channels[channelId] = pts;
    } else {
      const v = checkPts(w.next.pts, pts, ptsCount);
      if (v === 'skip') return 'ok';
      if (v === 'gap') return 'gap';
      w.next.pts = pts;
    }
  } else if (inDifference && channelId !== undefined && typeof pts === 'number') {
    w.next.channels[channelId] = Math.max(w.next.channels[channelId] ?? 0, pts);
  }
  if (u instanceof Api.UpdateNewMessage || u instanceof Api.UpdateNewChannelMessage) {
    const ev = messageEvent(u.message, false, ctx);
    if (ev) w.drafts.push(ev);
  } else if (u instanceof Api.UpdateEditMessage || u instanceof Api.UpdateEditChannelMessage) {
    const ev = messageEvent(u.message, true, ctx);
    if (ev) w.drafts.push(ev);
  } else {
    w.drafts.push(...otherUpdateEvents(u, ctx));
  }
  return 'ok';
}

/** The message of an updateShortMessage / updateShortChatMessage, as a full Message. */
export function shortMessage(u: Api.UpdateShortMessage | Api.UpdateShortChatMessage): Api.Message {
  const peerId =
    u instanceof Api.UpdateShortMessage
      ? new Api.PeerUser({ userId: u.userId })
      : new Api.PeerChat({ chatId: u.chatId });
  const fromId =
    u instanceof Api.UpdateShortChatMessage ? new Api.PeerUser({ userId: u.fromId }) : undefined;
  return new Api.Message({
    id: u.id,
    peerId,
    fromId,
    out: u.out,
    message: u.message,
    date: u.date,
    replyTo: u.replyTo,
    entities: u.entities,
    fwdFrom: u.fwdFrom,
    silent: u.silent,
  });
}

/** The channel (bare id) a pts-carrying update belongs to, if any. */
export function channelOf(u: Api.TypeUpdate): string | undefined {
  if (u instanceof Api.UpdateNewChannelMessage || u instanceof Api.UpdateEditChannelMessage) {
    const p = (u.message as { peerId?: Api.TypePeer }).peerId;
    return p instanceof Api.PeerChannel ? p.channelId.toString() : undefined;
  }
  if (u instanceof Api.UpdateDeleteChannelMessages) return u.channelId.toString();
  return undefined;
}
