/**
 * Resolution of Input* objects (InputPeer, InputUser, InputChannel) against
 * the world, with Telegram's error names.
 */
import { Api } from 'telegram';
import { RpcError } from '../rpc.js';
import type { World } from '../world/world.js';
import type { ChannelRecord, PeerRef, UserRecord } from '../world/types.js';

/** Resolves an InputPeer for `selfId`. Throws 400 `PEER_ID_INVALID` / `CHANNEL_INVALID` / `CHANNEL_PRIVATE`. */
export function resolvePeer(world: World, selfId: number, peer: unknown): PeerRef {
  if (peer instanceof Api.InputPeerSelf) return { type: 'user', id: selfId };
  if (peer instanceof Api.InputPeerUser || peer instanceof Api.InputPeerUserFromMessage) {
    const id =
      peer instanceof Api.InputPeerUser
        ? Number(peer.userId.toString())
        : Number(peer.userId.toString());
    const u = world.users.get(id);
    if (!u) throw new RpcError(400, 'PEER_ID_INVALID');
    if (
      peer instanceof Api.InputPeerUser &&
      peer.accessHash.toString() !== u.accessHash &&
      id !== selfId
    )
      throw new RpcError(400, 'PEER_ID_INVALID');
    return { type: 'user', id };
  }
  if (peer instanceof Api.InputPeerChat) {
    const id = Number(peer.chatId.toString());
    if (!world.chats.chat(id)) throw new RpcError(400, 'PEER_ID_INVALID');
    return { type: 'chat', id };
  }
  if (peer instanceof Api.InputPeerChannel || peer instanceof Api.InputPeerChannelFromMessage) {
    const id = Number(peer.channelId.toString());
    const ch = world.chats.channel(id);
    if (!ch) throw new RpcError(400, 'CHANNEL_INVALID');
    if (peer instanceof Api.InputPeerChannel && peer.accessHash.toString() !== ch.accessHash)
      throw new RpcError(400, 'CHANNEL_INVALID');
    return { type: 'channel', id };
  }
  throw new RpcError(400, 'PEER_ID_INVALID');
}

/** Resolves an InputUser. Throws 400 `USER_ID_INVALID`. */
export function resolveUser(world: World, selfId: number, user: unknown): UserRecord {
  if (user instanceof Api.InputUserSelf) {
    const u = world.users.get(selfId);
    if (!u) throw new RpcError(400, 'USER_ID_INVALID');
    return u;
  }
  if (user instanceof Api.InputUser || user instanceof Api.InputUserFromMessage) {
    const u = world.users.get(Number(user.userId.toString()));
    if (!u) throw new RpcError(400, 'USER_ID_INVALID');
    if (
      user instanceof Api.InputUser &&
      user.accessHash.toString() !== u.accessHash &&
      u.id !== selfId
    )
      throw new RpcError(400, 'USER_ID_INVALID');
    return u;
  }
  throw new RpcError(400, 'USER_ID_INVALID');
}

/** Resolves an InputChannel the user is a member of. Throws 400 `CHANNEL_INVALID`, 406 `CHANNEL_PRIVATE`. */
export function resolveChannel(world: World, selfId: number, channel: unknown): ChannelRecord {
  if (!(channel instanceof Api.InputChannel || channel instanceof Api.InputChannelFromMessage))
    throw new RpcError(400, 'CHANNEL_INVALID');
  const ch = world.chats.channel(Number(channel.channelId.toString()));
  if (!ch) throw new RpcError(400, 'CHANNEL_INVALID');
  if (channel instanceof Api.InputChannel && channel.accessHash.toString() !== ch.accessHash)
    throw new RpcError(400, 'CHANNEL_INVALID');
  if (!ch.members.includes(selfId)) throw new RpcError(406, 'CHANNEL_PRIVATE');
  return ch;
}
