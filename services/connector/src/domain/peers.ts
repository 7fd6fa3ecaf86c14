/**
 * What the connector remembers about users and chats of one session: a small
 * LRU (no unbounded per-client entity cache), fed from the users/chats that
 * come with every update, difference, dialog list and history. Chat ids are
 * Bot API ("marked") ids: user id, -chat id, -100<channel id>
 * (https://core.telegram.org/api/bots/ids).
 */
import { Api } from 'telegram';
import bigInt from 'big-integer';
import { Lru } from './lru.js';

/** A known user. Ids and access hashes are decimal strings. */
export interface UserInfo {
  id: string;
  accessHash?: string;
  firstName?: string;
  lastName?: string;
  username?: string;
  phone?: string;
  bot: boolean;
}

/** A known basic group, supergroup or channel. `id` is the bare Telegram id. */
export interface ChatInfo {
  kind: 'chat' | 'channel';
  id: string;
  accessHash?: string;
  title?: string;
  username?: string;
  broadcast: boolean;
}

const CHANNEL_BASE = 1_000_000_000_000n;

/** Bot API id of a peer, as a decimal string. */
export function markedId(peer: Api.TypePeer): string {
  if (peer instanceof Api.PeerUser) return peer.userId.toString();
  if (peer instanceof Api.PeerChat) return `-${peer.chatId.toString()}`;
  return (-(CHANNEL_BASE + BigInt(peer.channelId.toString()))).toString();
}

/** Parses a Bot API id into its kind and bare id. @throws Error on a malformed id */
export function parseMarkedId(chatId: string): { kind: 'user' | 'chat' | 'channel'; id: string } {
  if (!/^-?\d+$/.test(chatId)) throw new Error('chat_id must be an integer');
  const n = BigInt(chatId);
  if (n > 0n) return { kind: 'user', id: n.toString() };
  if (-n > CHANNEL_BASE) return { kind: 'channel', id: (-n - CHANNEL_BASE).toString() };
  if (n === 0n) throw new Error('chat_id must not be 0');
  return { kind: 'chat', id: (-n).toString() };
}

/** The bounded user/chat memory of one session. */
export class PeerCache {
  private readonly users: Lru<string, UserInfo>;
  private readonly chats: Lru<string, ChatInfo>;

  /** @param maxUsers, maxChats LRU sizes */
  constructor(maxUsers = 100, maxChats = 50) {
    this.users = new Lru(maxUsers);
    this.chats = new Lru(maxChats);
  }

  /** Remembers the users and chats of an update container / result. */
  addAll(
    users: readonly Api.TypeUser[] | undefined,
    chats: readonly Api.TypeChat[] | undefined,
  ): void {
    for (const u of users ?? []) this.addUser(u);
    for (const c of chats ?? []) this.addChat(c);
  }

  /** Remembers one user (min users keep a known access hash). */
  addUser(u: Api.TypeUser): void {
    if (!(u instanceof Api.User)) return;
    const id = u.id.toString();
    const prev = this.users.get(id);
    const accessHash = u.min ? prev?.accessHash : (u.accessHash?.toString() ?? prev?.accessHash);
    this.users.set(id, {
      id,
      accessHash,
      firstName: u.firstName ?? prev?.firstName,
      lastName: u.lastName ?? prev?.lastName,
      username: u.username ?? prev?.username,
      phone: u.phone ? `+${u.phone.replace(/^\+/, '')}` : prev?.phone,
      bot: Boolean(u.bot),
    });
  }

  /** Remembers one chat or channel. */
  addChat(c: Api.TypeChat): void {
    if (c instanceof Api.Chat) {
      this.chats.set(`-${c.id.toString()}`, {
        kind: 'chat',
        id: c.id.toString(),
        title: c.title,
        broadcast: false,
      });
    } else if (c instanceof Api.Channel) {
      const key = markedId(new Api.PeerChannel({ channelId: c.id }));
      const prev = this.chats.get(key);
      this.chats.set(key, {
        kind: 'channel',
        id: c.id.toString(),
        accessHash: c.min ? prev?.accessHash : (c.accessHash?.toString() ?? prev?.accessHash),
        title: c.title,
        username: c.username ?? undefined,
        broadcast: Boolean(c.broadcast),
      });
    }
  }

  /** A known user by id. */
  user(id: string): UserInfo | undefined {
    return this.users.get(id);
  }

  /** A known chat by Bot API id. */
  chat(markedChatId: string): ChatInfo | undefined {
    return this.chats.get(markedChatId);
  }

  /** The InputPeer of a Bot API chat id, or undefined when the access hash is unknown. */
  inputPeer(chatId: string): Api.TypeInputPeer | undefined {
    const { kind, id } = parseMarkedId(chatId);
    if (kind === 'chat') return new Api.InputPeerChat({ chatId: bigInt(id) });
    if (kind === 'user') {
      const u = this.users.get(id);
      return u?.accessHash !== undefined
        ? new Api.InputPeerUser({ userId: bigInt(id), accessHash: bigInt(u.accessHash) })
        : undefined;
    }
    const c = this.chats.get(chatId);
    return c?.accessHash !== undefined
      ? new Api.InputPeerChannel({ channelId: bigInt(id), accessHash: bigInt(c.accessHash) })
      : undefined;
  }

  /** The InputChannel of a bare channel id, or undefined when unknown. */
  inputChannel(channelId: string): Api.InputChannel | undefined {
    const c = this.chats.get(markedId(new Api.PeerChannel({ channelId: bigInt(channelId) })));
    return c?.accessHash !== undefined
      ? new Api.InputChannel({ channelId: bigInt(channelId), accessHash: bigInt(c.accessHash) })
      : undefined;
  }
}
