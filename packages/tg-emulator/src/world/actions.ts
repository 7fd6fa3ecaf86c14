/**
 * Mutating operations of the world (send, edit, delete, read, create groups),
 * shared by the RPC handlers and the control API. Each returns the
 * {@link WorldEvents} to push. Errors are {@link WorldError}s carrying
 * Telegram's error names (https://core.telegram.org/method/messages.sendMessage etc.).
 */
import type { MediaRecord, PeerRef, StoredMessage } from './types.js';
import { noEvents, type World, type WorldEvents } from './world.js';
import { WorldError } from './users.js';
import { nowSeconds, peerKey } from './ids.js';

/** Maximum message length in characters (Telegram's message_length_max). */
export const MESSAGE_LENGTH_MAX = 4096;

/** Input of {@link sendMessage}. */
export interface SendInput {
  fromId: number;
  /** Destination from the sender's point of view. */
  to: PeerRef;
  text: string;
  /** Message id in the sender's view of the dialog. */
  replyToId?: number;
  media?: MediaRecord;
  /** Client random_id (decimal) for de-duplication. */
  randomId?: string;
  action?: StoredMessage['action'];
}

/** Result of {@link sendMessage}. */
export interface SendResult {
  /** The sender's copy (or the channel message). */
  message: StoredMessage;
  /** True when random_id matched an earlier send: nothing new was stored. */
  duplicate: boolean;
  events: WorldEvents;
}

/** Members (user ids) of a chat or channel, or both sides of a private chat. */
export function participants(world: World, fromId: number, peer: PeerRef): number[] {
  if (peer.type === 'user') return fromId === peer.id ? [fromId] : [fromId, peer.id];
  if (peer.type === 'chat') return world.chats.chat(peer.id)?.members ?? [];
  return world.chats.channel(peer.id)?.members ?? [];
}

/** Checks that `userId` may write to `peer`; throws Telegram's errors otherwise. */
export function checkWritable(world: World, userId: number, peer: PeerRef): void {
  if (peer.type === 'user') {
    const u = world.users.get(peer.id);
    if (!u) throw new WorldError('PEER_ID_INVALID', `no user ${peer.id}`);
    if (u.deactivated)
      throw new WorldError('INPUT_USER_DEACTIVATED', `user ${peer.id} is deactivated`);
    return;
  }
  if (peer.type === 'chat') {
    const c = world.chats.chat(peer.id);
    if (!c) throw new WorldError('PEER_ID_INVALID', `no chat ${peer.id}`);
    if (!c.members.includes(userId))
      throw new WorldError('CHAT_WRITE_FORBIDDEN', `user ${userId} is not in chat ${peer.id}`);
    return;
  }
  const ch = world.chats.channel(peer.id);
  if (!ch) throw new WorldError('CHANNEL_INVALID', `no channel ${peer.id}`);
  if (!ch.members.includes(userId))
    throw new WorldError('CHANNEL_PRIVATE', `user ${userId} is not in channel ${peer.id}`);
  if (!ch.megagroup && ch.creatorId !== userId)
    throw new WorldError('CHAT_WRITE_FORBIDDEN', `only admins post in channel ${peer.id}`);
}

/** Sends a message; returns the sender's copy and the events for every participant. */
export function sendMessage(world: World, input: SendInput): SendResult {
  const { fromId, to } = input;
  if (!world.users.get(fromId)) throw new WorldError('PEER_ID_INVALID', `no user ${fromId}`);
  checkWritable(world, fromId, to);
  if (!input.action && !input.media && !input.text.trim())
    throw new WorldError('MESSAGE_EMPTY', 'message is empty');
  if (input.text.length > MESSAGE_LENGTH_MAX)
    throw new WorldError('MESSAGE_TOO_LONG', `longer than ${MESSAGE_LENGTH_MAX}`);
  if (input.randomId) {
    const prev = world.messages.byRandomId(fromId, to, input.randomId);
    const prevMsg =
      prev === undefined
        ? undefined
        : to.type === 'channel'
          ? world.messages.channelBox(to.id).get(prev)
          : world.messages.box(fromId).get(prev);
    if (prevMsg) return { message: prevMsg, duplicate: true, events: noEvents() };
  }
  const date = nowSeconds();
  const events = noEvents();
  if (to.type === 'channel') {
    const ch = world.chats.channel(to.id)!;
    if (input.replyToId !== undefined && !world.messages.channelBox(ch.id).has(input.replyToId))
      delete input.replyToId;
    ch.lastMessageId += 1;
    ch.pts += 1;
    const msg: StoredMessage = {
      id: ch.lastMessageId,
      peer: { ...to },
      fromId,
      date,
      text: input.text,
      gid: 0,
    };
    if (input.replyToId) msg.replyToId = input.replyToId;
    if (input.media) msg.media = input.media;
    if (input.randomId) msg.randomId = input.randomId;
    if (input.action) msg.action = input.action;
    world.messages.putChannel(ch.id, msg);
    for (const m of ch.members) world.messages.dialog(m, to);
    events.channel.push({
      channelId: ch.id,
      entry: world.logs.appendChannel(ch.id, ch.pts, { t: 'new', id: msg.id }),
    });
    world.touch();
    return { message: msg, duplicate: false, events };
  }
  const gid = world.messages.newGid();
  const replied =
    input.replyToId !== undefined ? world.messages.box(fromId).get(input.replyToId) : undefined;
  let senderCopy: StoredMessage | undefined;
  for (const owner of participants(world, fromId, to)) {
    const acc = world.logs.account(owner);
    const peer: PeerRef =
      to.type === 'user' && owner !== fromId ? { type: 'user', id: fromId } : { ...to };
    const msg: StoredMessage = {
      id: acc.nextMessageId++,
      peer,
      fromId,
      date,
      text: input.text,
      gid,
    };
    if (replied) {
      const replyCopy =
        owner === fromId
          ? replied.id
          : world.messages.copiesOf(replied.gid).find(([u]) => u === owner)?.[1];
      if (replyCopy !== undefined) msg.replyToId = replyCopy;
    }
    if (input.media) msg.media = input.media;
    if (input.action) msg.action = input.action;
    if (owner === fromId) {
      if (input.randomId) msg.randomId = input.randomId;
      senderCopy = msg;
    }
    world.messages.put(owner, msg);
    events.account.push({
      userId: owner,
      entry: world.logs.append(owner, { t: 'new', id: msg.id }),
    });
  }
  world.touch();
  if (!senderCopy) throw new WorldError('CHAT_WRITE_FORBIDDEN', 'sender is not a participant');
  return { message: senderCopy, duplicate: false, events };
}

/** Looks a message up in `userId`'s view of `peer` (box or channel). */
export function findMessage(
  world: World,
  userId: number,
  peer: PeerRef,
  id: number,
): StoredMessage | undefined {
  if (peer.type === 'channel') return world.messages.channelBox(peer.id).get(id);
  const m = world.messages.box(userId).get(id);
  return m && peerKey(m.peer) === peerKey(peer) ? m : undefined;
}

/** Edits the text of a message `userId` sent. Throws `MESSAGE_ID_INVALID`, `MESSAGE_AUTHOR_REQUIRED`, `MESSAGE_NOT_MODIFIED`. */
export function editMessage(
  world: World,
  userId: number,
  peer: PeerRef,
  id: number,
  text: string,
): { message: StoredMessage; events: WorldEvents } {
  const msg = findMessage(world, userId, peer, id);
  if (!msg || msg.action) throw new WorldError('MESSAGE_ID_INVALID', `no message ${id}`);
  if (msg.fromId !== userId)
    throw new WorldError('MESSAGE_AUTHOR_REQUIRED', 'only the author can edit');
  if (msg.text === text) throw new WorldError('MESSAGE_NOT_MODIFIED', 'text unchanged');
  if (!text.trim() && !msg.media) throw new WorldError('MESSAGE_EMPTY', 'message is empty');
  if (text.length > MESSAGE_LENGTH_MAX)
    throw new WorldError('MESSAGE_TOO_LONG', `longer than ${MESSAGE_LENGTH_MAX}`);
  const date = nowSeconds();
  const events = noEvents();
  if (peer.type === 'channel') {
    const ch = world.chats.channel(peer.id)!;
    msg.text = text;
    msg.editDate = date;
    ch.pts += 1;
    events.channel.push({
      channelId: ch.id,
      entry: world.logs.appendChannel(ch.id, ch.pts, { t: 'edit', id }),
    });
  } else {
    for (const [owner, copyId] of world.messages.copiesOf(msg.gid)) {
      const copy = world.messages.box(owner).get(copyId);
      if (!copy) continue;
      copy.text = text;
      copy.editDate = date;
      events.account.push({
        userId: owner,
        entry: world.logs.append(owner, { t: 'edit', id: copyId }),
      });
    }
  }
  world.touch();
  return { message: msg, events };
}

/**
 * Deletes messages from `userId`'s box (messages.deleteMessages). With
 * `revoke`, also from the other participants' boxes (private chats: always
 * allowed; groups: own messages, or any as the creator).
 * Returns the caller's pts/pts_count (messages.affectedMessages).
 */
export function deleteMessages(
  world: World,
  userId: number,
  ids: number[],
  revoke: boolean,
): { pts: number; ptsCount: number; events: WorldEvents } {
  const perOwner = new Map<number, number[]>();
  const add = (owner: number, id: number): void => {
    const list = perOwner.get(owner) ?? [];
    if (!list.includes(id)) list.push(id);
    perOwner.set(owner, list);
  };
  for (const id of ids) {
    const msg = world.messages.box(userId).get(id);
    if (!msg) continue;
    add(userId, id);
    const chat = msg.peer.type === 'chat' ? world.chats.chat(msg.peer.id) : undefined;
    const mayRevoke =
      msg.peer.type === 'user' || msg.fromId === userId || chat?.creatorId === userId;
    if (revoke && mayRevoke)
      for (const [owner, copyId] of world.messages.copiesOf(msg.gid)) add(owner, copyId);
  }
  const events = noEvents();
  let pts = world.logs.account(userId).pts;
  let ptsCount = 0;
  for (const [owner, list] of perOwner) {
    for (const id of list) world.messages.remove(owner, id);
    const entry = world.logs.append(owner, { t: 'del', ids: list }, list.length);
    events.account.push({ userId: owner, entry });
    if (owner === userId) {
      pts = entry.pts;
      ptsCount = entry.ptsCount;
    }
  }
  if (perOwner.size) world.touch();
  return { pts, ptsCount, events };
}

/** Deletes channel messages (channels.deleteMessages). Throws `MESSAGE_DELETE_FORBIDDEN`, `CHANNEL_INVALID`. */
export function deleteChannelMessages(
  world: World,
  userId: number,
  channelId: number,
  ids: number[],
): { pts: number; ptsCount: number; events: WorldEvents } {
  const ch = world.chats.channel(channelId);
  if (!ch) throw new WorldError('CHANNEL_INVALID', `no channel ${channelId}`);
  if (!ch.members.includes(userId))
    throw new WorldError('CHANNEL_PRIVATE', `not a member of ${channelId}`);
  const box = world.messages.channelBox(channelId);
  const del: number[] = [];
  for (const id of ids) {
    const m = box.get(id);
    if (!m) continue;
    if (m.fromId !== userId && ch.creatorId !== userId)
      throw new WorldError('MESSAGE_DELETE_FORBIDDEN', `cannot delete ${id}`);
    del.push(id);
  }
  const events = noEvents();
  if (!del.length) return { pts: ch.pts, ptsCount: 0, events };
  for (const id of del) box.delete(id);
  ch.pts += del.length;
  events.channel.push({
    channelId,
    entry: world.logs.appendChannel(channelId, ch.pts, { t: 'del', ids: del }, del.length),
  });
  world.touch();
  return { pts: ch.pts, ptsCount: del.length, events };
}

/** Number of incoming messages in `userId`'s dialog with `peer` above its read marker. */
export function unreadCount(world: World, userId: number, peer: PeerRef): number {
  const d = world.messages.dialog(userId, peer);
  let n = 0;
  for (const m of world.messages.history(userId, peer))
    if (m.fromId !== userId && m.id > d.readInboxMaxId && !m.action) n++;
  return n;
}

/** Highest message id in `userId`'s view of `peer` (0 when empty). */
export function topMessageId(world: World, userId: number, peer: PeerRef): number {
  let top = 0;
  for (const m of world.messages.history(userId, peer)) if (m.id > top) top = m.id;
  return top;
}

/**
 * Marks `userId`'s dialog with `peer` read up to `maxId` (0: everything),
 * and the senders' outboxes accordingly (messages.readHistory).
 * Returns the reader's pts/pts_count; pts_count 0 when nothing changed.
 */
export function readHistory(
  world: World,
  userId: number,
  peer: PeerRef,
  maxId: number,
): { pts: number; ptsCount: number; events: WorldEvents } {
  const events = noEvents();
  const dialog = world.messages.dialog(userId, peer);
  const top = topMessageId(world, userId, peer);
  const upTo = maxId <= 0 || maxId > top ? top : maxId;
  if (upTo <= dialog.readInboxMaxId)
    return { pts: world.logs.account(userId).pts, ptsCount: 0, events };
  const old = dialog.readInboxMaxId;
  dialog.readInboxMaxId = upTo;
  if (peer.type === 'channel') {
    world.touch();
    return { pts: world.chats.channel(peer.id)?.pts ?? 0, ptsCount: 0, events };
  }
  const entry = world.logs.append(userId, {
    t: 'readIn',
    peer: { ...peer },
    maxId: upTo,
    stillUnread: unreadCount(world, userId, peer),
  });
  events.account.push({ userId, entry });
  const outMax = new Map<number, number>();
  for (const m of world.messages.history(userId, peer)) {
    if (m.id <= old || m.id > upTo || m.fromId === userId) continue;
    for (const [owner, copyId] of world.messages.copiesOf(m.gid)) {
      if (owner !== m.fromId) continue;
      outMax.set(owner, Math.max(outMax.get(owner) ?? 0, copyId));
    }
  }
  for (const [owner, max] of outMax) {
    const ownerPeer: PeerRef = peer.type === 'user' ? { type: 'user', id: userId } : { ...peer };
    const d = world.messages.dialog(owner, ownerPeer);
    if (max <= d.readOutboxMaxId) continue;
    d.readOutboxMaxId = max;
    events.account.push({
      userId: owner,
      entry: world.logs.append(owner, { t: 'readOut', peer: ownerPeer, maxId: max }),
    });
  }
  world.touch();
  return { pts: entry.pts, ptsCount: entry.ptsCount, events };
}

/** Creates a basic group with a `messageActionChatCreate` service message. */
export function createGroup(
  world: World,
  creatorId: number,
  title: string,
  members: number[],
): { chatId: number; events: WorldEvents } {
  for (const m of [creatorId, ...members])
    if (!world.users.get(m)) throw new WorldError('USER_ID_INVALID', `no user ${m}`);
  const chat = world.chats.createChat(creatorId, title, members);
  const r = sendMessage(world, {
    fromId: creatorId,
    to: { type: 'chat', id: chat.id },
    text: '',
    action: { type: 'chatCreate', title, users: chat.members },
  });
  return { chatId: chat.id, events: r.events };
}

/** Creates a channel or supergroup with a `messageActionChannelCreate` service message. */
export function createChannel(
  world: World,
  creatorId: number,
  title: string,
  members: number[],
  megagroup: boolean,
  username?: string,
): { channelId: number; events: WorldEvents } {
  for (const m of [creatorId, ...members])
    if (!world.users.get(m)) throw new WorldError('USER_ID_INVALID', `no user ${m}`);
  const ch = world.chats.createChannel(creatorId, title, members, megagroup, username);
  const r = sendMessage(world, {
    fromId: creatorId,
    to: { type: 'channel', id: ch.id },
    text: '',
    action: { type: 'channelCreate', title },
  });
  return { channelId: ch.id, events: r.events };
}

/** Adds users to a basic group (service message `chatAddUser`) or a channel. */
export function addMembers(
  world: World,
  actorId: number,
  peer: PeerRef,
  userIds: number[],
): WorldEvents {
  for (const m of userIds)
    if (!world.users.get(m)) throw new WorldError('USER_ID_INVALID', `no user ${m}`);
  if (peer.type === 'chat') {
    const chat = world.chats.chat(peer.id);
    if (!chat) throw new WorldError('CHAT_ID_INVALID', `no chat ${peer.id}`);
    const fresh = userIds.filter((u) => !chat.members.includes(u));
    if (!fresh.length) throw new WorldError('USER_ALREADY_PARTICIPANT', 'already members');
    chat.members.push(...fresh);
    chat.version += 1;
    return sendMessage(world, {
      fromId: actorId,
      to: peer,
      text: '',
      action: { type: 'chatAddUser', users: fresh },
    }).events;
  }
  if (peer.type === 'channel') {
    const ch = world.chats.channel(peer.id);
    if (!ch) throw new WorldError('CHANNEL_INVALID', `no channel ${peer.id}`);
    for (const u of userIds) {
      if (!ch.members.includes(u)) ch.members.push(u);
      world.messages.dialog(u, peer);
    }
    world.touch();
    return noEvents();
  }
  throw new WorldError('PEER_ID_INVALID', 'not a group');
}
