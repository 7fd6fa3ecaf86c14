import type { ChannelRecord, ChatRecord } from './types.js';
import { WorldError } from './users.js';
import { nowSeconds, randomLong } from './ids.js';

/** Basic groups and channels/supergroups. */
export class ChatStore {
  private readonly chats = new Map<number, ChatRecord>();
  private readonly channels = new Map<number, ChannelRecord>();
  private nextChatId = 4_000_001;
  private nextChannelId = 1_500_000_001;

  /** Creates a basic group with `creatorId` and `members` (creator included automatically). */
  createChat(creatorId: number, title: string, members: number[]): ChatRecord {
    if (!title.trim()) throw new WorldError('CHAT_TITLE_EMPTY', 'title is empty');
    const chat: ChatRecord = {
      id: this.nextChatId++,
      title,
      creatorId,
      members: [...new Set([creatorId, ...members])],
      date: nowSeconds(),
      version: 1,
    };
    this.chats.set(chat.id, chat);
    return chat;
  }

  /** Creates a channel (`megagroup` false) or supergroup (`megagroup` true). */
  createChannel(
    creatorId: number,
    title: string,
    members: number[],
    megagroup: boolean,
    username?: string,
  ): ChannelRecord {
    if (!title.trim()) throw new WorldError('CHAT_TITLE_EMPTY', 'title is empty');
    if (
      username !== undefined &&
      [...this.channels.values()].some((c) => c.username?.toLowerCase() === username.toLowerCase())
    ) {
      throw new WorldError('USERNAME_OCCUPIED', `username ${username} taken`);
    }
    const channel: ChannelRecord = {
      id: this.nextChannelId++,
      accessHash: randomLong(),
      title,
      megagroup,
      creatorId,
      members: [...new Set([creatorId, ...members])],
      date: nowSeconds(),
      pts: 1,
      lastMessageId: 0,
    };
    if (username) channel.username = username;
    this.channels.set(channel.id, channel);
    return channel;
  }

  chat(id: number): ChatRecord | undefined {
    return this.chats.get(id);
  }

  channel(id: number): ChannelRecord | undefined {
    return this.channels.get(id);
  }

  /** Channel by public username (case-insensitive). */
  channelByUsername(username: string): ChannelRecord | undefined {
    const u = username.replace(/^@/, '').toLowerCase();
    return [...this.channels.values()].find((c) => c.username?.toLowerCase() === u);
  }

  /** Basic groups `userId` is a member of. */
  chatsOf(userId: number): ChatRecord[] {
    return [...this.chats.values()].filter((c) => c.members.includes(userId));
  }

  /** Channels `userId` is a member of. */
  channelsOf(userId: number): ChannelRecord[] {
    return [...this.channels.values()].filter((c) => c.members.includes(userId));
  }

  allChats(): ChatRecord[] {
    return [...this.chats.values()];
  }

  allChannels(): ChannelRecord[] {
    return [...this.channels.values()];
  }

  toJSON(): { chats: ChatRecord[]; channels: ChannelRecord[] } {
    return { chats: this.allChats(), channels: this.allChannels() };
  }

  load(data: { chats: ChatRecord[]; channels: ChannelRecord[] }): void {
    for (const c of data.chats) {
      this.chats.set(c.id, c);
      if (c.id >= this.nextChatId) this.nextChatId = c.id + 1;
    }
    for (const c of data.channels) {
      this.channels.set(c.id, c);
      if (c.id >= this.nextChannelId) this.nextChannelId = c.id + 1;
    }
  }
}
