/**
 * Renders world records into GramJS `Api.*` objects as seen by one viewer
 * (https://core.telegram.org/constructor/user, /constructor/message ...).
 */
import { Api } from 'telegram';
import bigInt from 'big-integer';
import type { World } from '../world/world.js';
import type {
  ChannelRecord,
  ChatRecord,
  MediaRecord,
  PeerRef,
  StoredMessage,
  UserRecord,
} from '../world/types.js';

/** A big-integer from a number or decimal string (GramJS longs). */
export function long(v: number | string | bigint): bigInt.BigInteger {
  return bigInt(String(v));
}

/** `Api.User` of `user` as seen by `viewerId`. */
export function renderUser(world: World, user: UserRecord, viewerId: number | undefined): Api.User {
  const self = user.id === viewerId;
  const viewer = viewerId === undefined ? undefined : world.users.get(viewerId);
  const contact = !!viewer?.contacts.includes(user.id);
  const mutual = contact && user.contacts.includes(viewerId!);
  return new Api.User({
    id: long(user.id),
    accessHash: long(user.accessHash),
    self,
    contact,
    mutualContact: mutual,
    deleted: !!user.deactivated,
    firstName: user.deactivated ? undefined : user.firstName,
    lastName: user.deactivated ? undefined : user.lastName,
    username: user.username,
    phone: self || contact ? user.phone : undefined,
    status: self || !user.deactivated ? new Api.UserStatusRecently({}) : undefined,
  });
}

/** `Api.Chat` (or `chatForbidden` for non-members). */
export function renderChat(chat: ChatRecord, viewerId: number): Api.TypeChat {
  if (!chat.members.includes(viewerId))
    return new Api.ChatForbidden({ id: long(chat.id), title: chat.title });
  return new Api.Chat({
    id: long(chat.id),
    title: chat.title,
    creator: chat.creatorId === viewerId,
    photo: new Api.ChatPhotoEmpty(),
    participantsCount: chat.members.length,
    date: chat.date,
    version: chat.version,
  });
}

/** `Api.Channel` (with `left` for non-members). */
export function renderChannel(ch: ChannelRecord, viewerId: number): Api.Channel {
  return new Api.Channel({
    id: long(ch.id),
    accessHash: long(ch.accessHash),
    title: ch.title,
    username: ch.username,
    megagroup: ch.megagroup,
    broadcast: !ch.megagroup,
    creator: ch.creatorId === viewerId,
    left: !ch.members.includes(viewerId),
    photo: new Api.ChatPhotoEmpty(),
    date: ch.date,
    participantsCount: ch.members.length,
  });
}

/** `Api.Peer` of a peer reference. */
export function renderPeer(peer: PeerRef): Api.TypePeer {
  if (peer.type === 'user') return new Api.PeerUser({ userId: long(peer.id) });
  if (peer.type === 'chat') return new Api.PeerChat({ chatId: long(peer.id) });
  return new Api.PeerChannel({ channelId: long(peer.id) });
}

/** `Api.Photo` / `Api.Document` of a media record on data center `dcId`. */
export function renderMediaObject(m: MediaRecord, dcId: number): Api.Photo | Api.Document {
  if (m.kind === 'photo') {
    return new Api.Photo({
      id: long(m.id),
      accessHash: long(m.accessHash),
      fileReference: Buffer.from(m.id),
      date: m.date,
      sizes: [new Api.PhotoSize({ type: 'x', w: m.w ?? 800, h: m.h ?? 600, size: m.size })],
      dcId,
    });
  }
  const attributes: Api.TypeDocumentAttribute[] = [];
  if (m.fileName) attributes.push(new Api.DocumentAttributeFilename({ fileName: m.fileName }));
  return new Api.Document({
    id: long(m.id),
    accessHash: long(m.accessHash),
    fileReference: Buffer.from(m.id),
    date: m.date,
    mimeType: m.mimeType,
    size: long(m.size),
    dcId,
    attributes,
  });
}

/** `messageMediaPhoto` / `messageMediaDocument`. */
export function renderMedia(m: MediaRecord, dcId: number): Api.TypeMessageMedia {
  const obj = renderMediaObject(m, dcId);
  return obj instanceof Api.Photo
    ? new Api.MessageMediaPhoto({ photo: obj })
    : new Api.MessageMediaDocument({ document: obj });
}

/** `Api.Message` / `Api.MessageService` of a stored message as seen by `viewerId`. */
export function renderMessage(
  world: World,
  msg: StoredMessage,
  viewerId: number,
  dcId: number,
): Api.TypeMessage {
  const channel = msg.peer.type === 'channel' ? world.chats.channel(msg.peer.id) : undefined;
  const broadcast = channel !== undefined && !channel.megagroup;
  const base = {
    id: msg.id,
    out: msg.fromId === viewerId,
    peerId: renderPeer(msg.peer),
    fromId: broadcast ? undefined : new Api.PeerUser({ userId: long(msg.fromId) }),
    date: msg.date,
  };
  if (msg.action) {
    let action: Api.TypeMessageAction;
    if (msg.action.type === 'chatCreate')
      action = new Api.MessageActionChatCreate({
        title: msg.action.title,
        users: msg.action.users.map(long),
      });
    else if (msg.action.type === 'chatAddUser')
      action = new Api.MessageActionChatAddUser({ users: msg.action.users.map(long) });
    else action = new Api.MessageActionChannelCreate({ title: msg.action.title });
    return new Api.MessageService({ ...base, action });
  }
  return new Api.Message({
    ...base,
    post: broadcast,
    message: msg.text,
    replyTo: msg.replyToId
      ? new Api.MessageReplyHeader({ replyToMsgId: msg.replyToId })
      : undefined,
    media: msg.media ? renderMedia(msg.media, dcId) : undefined,
    editDate: msg.editDate,
  });
}

/**
 * Users and chats referenced by a set of messages/peers, rendered for the
 * viewer (for `users`/`chats` vectors); the viewer's own user is included
 * unless `includeViewer` is false.
 */
export function collectEntities(
  world: World,
  viewerId: number,
  msgs: StoredMessage[],
  extraPeers: PeerRef[] = [],
  includeViewer = true,
): { users: Api.TypeUser[]; chats: Api.TypeChat[] } {
  const userIds = new Set<number>(includeViewer ? [viewerId] : []);
  const chatIds = new Set<number>();
  const channelIds = new Set<number>();
  const addPeer = (p: PeerRef): void => {
    if (p.type === 'user') userIds.add(p.id);
    else if (p.type === 'chat') chatIds.add(p.id);
    else channelIds.add(p.id);
  };
  for (const m of msgs) {
    userIds.add(m.fromId);
    addPeer(m.peer);
    if (m.action && 'users' in m.action) for (const u of m.action.users) userIds.add(u);
  }
  for (const p of extraPeers) addPeer(p);
  const users: Api.TypeUser[] = [];
  for (const id of userIds) {
    const u = world.users.get(id);
    if (u) users.push(renderUser(world, u, viewerId));
  }
  const chats: Api.TypeChat[] = [];
  for (const id of chatIds) {
    const c = world.chats.chat(id);
    if (c) chats.push(renderChat(c, viewerId));
  }
  for (const id of channelIds) {
    const c = world.chats.channel(id);
    if (c) chats.push(renderChannel(c, viewerId));
  }
  return { users, chats };
}
