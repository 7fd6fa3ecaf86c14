import { UserStore } from './users.js';
import { ChatStore } from './chats.js';
import { MessageStore } from './messages.js';
import { UpdateLogs } from './updates-log.js';
import { FileStore } from './files.js';
import type { LogEntry, StoredChannelUpdate } from './types.js';

/** Account-level and channel-level updates produced by one world operation, to be pushed to clients. */
export interface WorldEvents {
  /** Common-box updates appended to accounts' logs. */
  account: Array<{ userId: number; entry: LogEntry }>;
  /** Channel updates appended to channels' logs. */
  channel: Array<{ channelId: number; entry: LogEntry<StoredChannelUpdate> }>;
}

/** Options of the world. */
export interface WorldOptions {
  /** Update log entries kept per account/channel (default 20000). */
  maxLogLength?: number;
}

/**
 * The whole emulated Telegram state. Mutations go through the functions in
 * `actions.ts`; every mutation calls {@link World.touch} so persistence can
 * save a snapshot.
 */
export class World {
  readonly users = new UserStore();
  readonly chats = new ChatStore();
  readonly messages = new MessageStore();
  readonly logs: UpdateLogs;
  readonly files = new FileStore();
  private readonly listeners = new Set<() => void>();

  constructor(opts: WorldOptions = {}) {
    this.logs = new UpdateLogs(opts.maxLogLength);
  }

  /** Signals a change (persistence listens). */
  touch(): void {
    for (const l of this.listeners) l();
  }

  /** Registers a change listener; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** JSON-safe snapshot of the whole world. */
  toJSON(): WorldSnapshot {
    return {
      users: this.users.toJSON(),
      chats: this.chats.toJSON(),
      messages: this.messages.toJSON(),
      logs: this.logs.toJSON(),
      files: this.files.toJSON(),
    };
  }

  /** Restores a snapshot made by {@link toJSON} into this (empty) world. */
  load(s: WorldSnapshot): void {
    this.users.load(s.users);
    this.chats.load(s.chats);
    this.messages.load(s.messages);
    this.logs.load(s.logs);
    this.files.load(s.files);
  }
}

/** Serialized form of a {@link World}. */
export interface WorldSnapshot {
  users: ReturnType<UserStore['toJSON']>;
  chats: ReturnType<ChatStore['toJSON']>;
  messages: ReturnType<MessageStore['toJSON']>;
  logs: ReturnType<UpdateLogs['toJSON']>;
  files: ReturnType<FileStore['toJSON']>;
}

/** An empty event set. */
export function noEvents(): WorldEvents {
  return { account: [], channel: [] };
}
