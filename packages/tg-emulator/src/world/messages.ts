import type { DialogRecord, PeerRef, StoredMessage } from './types.js';
import { peerKey } from './ids.js';

/**
 * Message storage: one box per account (private chats and basic groups, with
 * per-account ids like Telegram's) and one box per channel (ids shared by
 * all members), dialogs with read markers, the random_id de-duplication
 * index and the links between box copies of one message.
 */
export class MessageStore {
  private readonly boxes = new Map<number, Map<number, StoredMessage>>();
  private readonly channelBoxes = new Map<number, Map<number, StoredMessage>>();
  private readonly dialogs = new Map<number, Map<string, DialogRecord>>();
  /** gid → box copies [userId, messageId]. */
  private readonly copies = new Map<number, Array<[number, number]>>();
  /** `${userId}:${peerKey}:${randomId}` → message id. */
  private readonly randomIds = new Map<string, number>();
  private nextGid = 1;

  /** Allocates a global id linking the box copies of one message. */
  newGid(): number {
    return this.nextGid++;
  }

  /** The box of `userId` (created on first use). */
  box(userId: number): Map<number, StoredMessage> {
    let b = this.boxes.get(userId);
    if (!b) {
      b = new Map();
      this.boxes.set(userId, b);
    }
    return b;
  }

  /** The message box of a channel. */
  channelBox(channelId: number): Map<number, StoredMessage> {
    let b = this.channelBoxes.get(channelId);
    if (!b) {
      b = new Map();
      this.channelBoxes.set(channelId, b);
    }
    return b;
  }

  /** Stores a copy in `userId`'s box. */
  put(userId: number, msg: StoredMessage): void {
    this.box(userId).set(msg.id, msg);
    if (msg.gid) {
      const list = this.copies.get(msg.gid) ?? [];
      list.push([userId, msg.id]);
      this.copies.set(msg.gid, list);
    }
    if (msg.randomId) this.randomIds.set(`${userId}:${peerKey(msg.peer)}:${msg.randomId}`, msg.id);
    this.dialog(userId, msg.peer);
  }

  /** Stores a channel message. `senderRandom` records the sender's random_id for de-duplication. */
  putChannel(channelId: number, msg: StoredMessage): void {
    this.channelBox(channelId).set(msg.id, msg);
    if (msg.randomId)
      this.randomIds.set(`${msg.fromId}:${peerKey(msg.peer)}:${msg.randomId}`, msg.id);
  }

  /** Message id previously sent by `userId` to `peer` with `randomId`, if any. */
  byRandomId(userId: number, peer: PeerRef, randomId: string): number | undefined {
    return this.randomIds.get(`${userId}:${peerKey(peer)}:${randomId}`);
  }

  /** Box copies of a message (private/group), as [userId, messageId]. */
  copiesOf(gid: number): Array<[number, number]> {
    return this.copies.get(gid) ?? [];
  }

  /** Removes a copy from a box. */
  remove(userId: number, id: number): StoredMessage | undefined {
    const box = this.box(userId);
    const msg = box.get(id);
    if (!msg) return undefined;
    box.delete(id);
    if (msg.gid) {
      const list = (this.copies.get(msg.gid) ?? []).filter(([u, i]) => !(u === userId && i === id));
      if (list.length) this.copies.set(msg.gid, list);
      else this.copies.delete(msg.gid);
    }
    return msg;
  }

  /** The dialog of `userId` with `peer` (created on first use). */
  dialog(userId: number, peer: PeerRef): DialogRecord {
    let map = this.dialogs.get(userId);
    if (!map) {
      map = new Map();
      this.dialogs.set(userId, map);
    }
    const key = peerKey(peer);
    let d = map.get(key);
    if (!d) {
      d = { peer: { ...peer }, readInboxMaxId: 0, readOutboxMaxId: 0 };
      map.set(key, d);
    }
    return d;
  }

  /** All dialogs of `userId`. */
  dialogsOf(userId: number): DialogRecord[] {
    return [...(this.dialogs.get(userId)?.values() ?? [])];
  }

  /** Messages of `userId`'s box that belong to `peer`, ascending by id. */
  history(userId: number, peer: PeerRef): StoredMessage[] {
    if (peer.type === 'channel') return [...this.channelBox(peer.id).values()];
    const key = peerKey(peer);
    const out: StoredMessage[] = [];
    for (const m of this.box(userId).values()) if (peerKey(m.peer) === key) out.push(m);
    return out;
  }

  toJSON(): {
    boxes: Array<[number, StoredMessage[]]>;
    channelBoxes: Array<[number, StoredMessage[]]>;
    dialogs: Array<[number, DialogRecord[]]>;
    nextGid: number;
  } {
    return {
      boxes: [...this.boxes.entries()].map(([u, b]) => [u, [...b.values()]]),
      channelBoxes: [...this.channelBoxes.entries()].map(([c, b]) => [c, [...b.values()]]),
      dialogs: [...this.dialogs.entries()].map(([u, d]) => [u, [...d.values()]]),
      nextGid: this.nextGid,
    };
  }

  load(data: ReturnType<MessageStore['toJSON']>): void {
    for (const [u, msgs] of data.boxes) for (const m of msgs) this.put(u, m);
    for (const [c, msgs] of data.channelBoxes) for (const m of msgs) this.putChannel(c, m);
    for (const [u, ds] of data.dialogs)
      for (const d of ds) Object.assign(this.dialog(u, d.peer), d);
    this.nextGid = data.nextGid;
  }
}
