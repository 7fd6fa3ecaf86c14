import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { NewMessage, type NewMessageEvent } from 'telegram/events/index.js';
import { EditedMessage, type EditedMessageEvent } from 'telegram/events/EditedMessage.js';
import { DeletedMessage, type DeletedMessageEvent } from 'telegram/events/DeletedMessage.js';
import bigInt from 'big-integer';
import type { TelegramClient } from '@tgbridge/telegram';
import type { RunningEmulator } from '../src/index.js';
import { closeAll, emulator, login, waitFor } from './helpers.js';

describe('messages and updates', () => {
  let emu: RunningEmulator;
  let ann: TelegramClient;
  let bob: TelegramClient;
  beforeAll(async () => {
    emu = await emulator({
      users: [
        { phone: '+15552001', firstName: 'Ann', username: 'ann_m' },
        { phone: '+15552002', firstName: 'Bob', username: 'bob_m' },
        { phone: '+15552003', firstName: 'Cy' },
      ],
    });
    ann = await login(emu, '+15552001');
    bob = await login(emu, '+15552002');
  });
  afterAll(async () => {
    await closeAll(ann, bob);
    await emu?.stop();
  });

  it('a message from the control API fires GramJS NewMessage; a GramJS send arrives at the other client', async () => {
    const got: NewMessageEvent[] = [];
    ann.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
    const sent = emu.control.sendMessage({
      from: '+15552003',
      to: { user: '+15552001' },
      text: 'hello Ann',
    });
    await waitFor(() => got.some((e) => e.message.message === 'hello Ann'), 5000, 'NewMessage');
    const ev = got.find((e) => e.message.message === 'hello Ann')!;
    expect(ev.message.out).toBe(false);
    expect(ev.message.senderId?.toString()).toBe(String(emu.control.getUser('+15552003').id));
    expect(sent.out).toBe(true);

    const bobGot: NewMessageEvent[] = [];
    bob.addEventHandler(
      (e: NewMessageEvent) => void bobGot.push(e),
      new NewMessage({ incoming: true }),
    );
    const m = await ann.sendMessage('bob_m', { message: 'hi Bob' });
    expect(m.id).toBeGreaterThan(0);
    await waitFor(() => bobGot.some((e) => e.message.message === 'hi Bob'), 5000, 'Bob NewMessage');
    const sentByAnn = emu.control.sentMessages('+15552001', { peer: { user: '+15552002' } });
    expect(sentByAnn.map((s) => s.text)).toEqual(['hi Bob']);

    // reply, with the reply id mapped into Bob's box
    const incoming = bobGot.find((e) => e.message.message === 'hi Bob')!.message;
    await bob.sendMessage('ann_m', { message: 'reply', replyTo: incoming.id });
    await waitFor(() => got.some((e) => e.message.message === 'reply'), 5000, 'reply');
    expect(got.find((e) => e.message.message === 'reply')!.message.replyTo?.replyToMsgId).toBe(
      m.id,
    );
  });

  it('sendMessage is de-duplicated by random_id', async () => {
    const peer = await ann.getInputEntity('bob_m');
    const randomId = bigInt('987654321012345');
    const r1 = await ann.invoke(new Api.messages.SendMessage({ peer, message: 'once', randomId }));
    const r2 = await ann.invoke(new Api.messages.SendMessage({ peer, message: 'once', randomId }));
    expect(r1).toBeInstanceOf(Api.UpdateShortSentMessage);
    expect((r2 as Api.UpdateShortSentMessage).id).toBe((r1 as Api.UpdateShortSentMessage).id);
    expect(emu.control.sentMessages('+15552001').filter((s) => s.text === 'once')).toHaveLength(1);
  });

  it('edits and deletions arrive as EditedMessage / DeletedMessage events', async () => {
    const edits: EditedMessageEvent[] = [];
    const deletes: DeletedMessageEvent[] = [];
    bob.addEventHandler((e: EditedMessageEvent) => void edits.push(e), new EditedMessage({}));
    bob.addEventHandler((e: DeletedMessageEvent) => void deletes.push(e), new DeletedMessage({}));
    const got: NewMessageEvent[] = [];
    bob.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
    const m = await ann.sendMessage('bob_m', { message: 'draft' });
    await waitFor(() => got.some((e) => e.message.message === 'draft'), 5000, 'draft');
    const bobId = got.find((e) => e.message.message === 'draft')!.message.id;
    await ann.editMessage('bob_m', { message: m.id, text: 'final' });
    await waitFor(() => edits.some((e) => e.message.message === 'final'), 5000, 'edit');
    expect(edits.find((e) => e.message.message === 'final')!.message.id).toBe(bobId);
    await ann.deleteMessages('bob_m', [m.id], { revoke: true });
    await waitFor(() => deletes.some((e) => e.deletedIds.includes(bobId)), 5000, 'delete');
    // the control API's edit/delete reach GramJS as well
    const fromCy = emu.control.sendMessage({
      from: '+15552003',
      to: 'user:+15552002',
      text: 'typo',
    });
    await waitFor(() => got.some((e) => e.message.message === 'typo'), 5000, 'typo');
    emu.control.editMessage({
      user: '+15552003',
      peer: 'user:+15552002',
      messageId: fromCy.id,
      text: 'fixed',
    });
    await waitFor(() => edits.some((e) => e.message.message === 'fixed'), 5000, 'control edit');
    emu.control.deleteMessages({ user: '+15552003', messageIds: [fromCy.id] });
    const typoId = got.find((e) => e.message.message === 'typo')!.message.id;
    await waitFor(() => deletes.some((e) => e.deletedIds.includes(typoId)), 5000, 'control delete');
  });

  it('a client that was offline while 50 messages were sent gets exactly those 50 via getDifference', async () => {
    const state = await bob.invoke(new Api.updates.GetState());
    await bob.disconnect();
    const texts = Array.from({ length: 50 }, (_, i) => `offline ${i}`);
    for (const text of texts)
      emu.control.sendMessage({ from: '+15552001', to: { user: '+15552002' }, text });
    await bob.connect();
    const diff = await bob.invoke(
      new Api.updates.GetDifference({ pts: state.pts, date: state.date, qts: state.qts }),
    );
    expect(diff).toBeInstanceOf(Api.updates.Difference);
    const d = diff as Api.updates.Difference;
    expect(d.newMessages.map((m) => (m as Api.Message).message)).toEqual(texts);
    expect(d.state.pts).toBe(state.pts + 50);
    expect(d.users.some((u) => (u as Api.User).firstName === 'Ann')).toBe(true);
    const empty = await bob.invoke(
      new Api.updates.GetDifference({ pts: d.state.pts, date: d.state.date, qts: d.state.qts }),
    );
    expect(empty).toBeInstanceOf(Api.updates.DifferenceEmpty);
  });

  it('getDifference slices beyond the limit and answers differenceTooLong for huge gaps', async () => {
    const small = await emulator({
      differenceLimit: 10,
      differenceTooLongAfter: 30,
      users: [
        { phone: '+15552101', firstName: 'S' },
        { phone: '+15552102', firstName: 'T' },
      ],
    });
    const c = await login(small, '+15552101');
    try {
      const st = await c.invoke(new Api.updates.GetState());
      for (let i = 0; i < 15; i++)
        small.control.sendMessage({ from: '+15552102', to: { user: '+15552101' }, text: `m${i}` });
      const slice = await c.invoke(
        new Api.updates.GetDifference({ pts: st.pts, date: st.date, qts: 0 }),
      );
      expect(slice).toBeInstanceOf(Api.updates.DifferenceSlice);
      const s = slice as Api.updates.DifferenceSlice;
      expect(s.newMessages).toHaveLength(10);
      const rest = (await c.invoke(
        new Api.updates.GetDifference({
          pts: s.intermediateState.pts,
          date: s.intermediateState.date,
          qts: 0,
        }),
      )) as Api.updates.Difference;
      expect(rest.newMessages.map((m) => (m as Api.Message).message)).toEqual([
        'm10',
        'm11',
        'm12',
        'm13',
        'm14',
      ]);
      for (let i = 0; i < 30; i++)
        small.control.sendMessage({ from: '+15552102', to: { user: '+15552101' }, text: `x${i}` });
      const tooLong = await c.invoke(
        new Api.updates.GetDifference({ pts: st.pts, date: st.date, qts: 0 }),
      );
      expect(tooLong).toBeInstanceOf(Api.updates.DifferenceTooLong);
    } finally {
      await closeAll(c);
      await small.stop();
    }
  });

  it('readHistory updates unread counts and the sender sees updateReadHistoryOutbox', async () => {
    const outbox: Api.UpdateReadHistoryOutbox[] = [];
    ann.addEventHandler((u: unknown) => {
      if (u instanceof Api.UpdateReadHistoryOutbox) outbox.push(u);
    });
    const m = await ann.sendMessage('bob_m', { message: 'read me' });
    await waitFor(
      async () => (await bob.getDialogs({})).some((d) => d.title === 'Ann' && d.unreadCount > 0),
      5000,
      'unread',
    );
    const ah = await bob.invoke(
      new Api.messages.ReadHistory({ peer: await bob.getInputEntity('ann_m'), maxId: 0 }),
    );
    expect(ah.ptsCount).toBe(1);
    await waitFor(() => outbox.some((u) => u.maxId >= m.id), 5000, 'read outbox');
    const dialogs = await bob.getDialogs({});
    expect(dialogs.find((d) => d.title === 'Ann')!.unreadCount).toBe(0);
  });

  it('typing is pushed as updateUserTyping', async () => {
    const typing: Api.UpdateUserTyping[] = [];
    bob.addEventHandler((u: unknown) => {
      if (u instanceof Api.UpdateUserTyping) typing.push(u);
    });
    await ann.invoke(
      new Api.messages.SetTyping({ peer: 'bob_m', action: new Api.SendMessageTypingAction() }),
    );
    await waitFor(() => typing.length > 0, 5000, 'typing');
    expect(typing[0]!.userId.toString()).toBe(String(emu.control.getUser('+15552001').id));
  });

  it('history, getMessages, resolveUsername, getFullUser and getUsers(self) work through GramJS', async () => {
    const hist = await bob.getMessages('ann_m', { limit: 5 });
    expect(hist.length).toBe(5);
    expect(hist[0]!.id).toBeGreaterThan(hist[1]!.id);
    const byId = await bob.getMessages('ann_m', { ids: [hist[1]!.id] });
    expect(byId[0]!.message).toBe(hist[1]!.message);
    const full = await bob.invoke(new Api.users.GetFullUser({ id: new Api.InputUserSelf() }));
    expect((full.users[0] as Api.User).self).toBe(true);
    await expect(
      bob.invoke(new Api.contacts.ResolveUsername({ username: 'nobody_here' })),
    ).rejects.toMatchObject({ errorMessage: 'USERNAME_NOT_OCCUPIED' });
    const auths = await bob.invoke(new Api.account.GetAuthorizations());
    expect(auths.authorizations.filter((a) => a.current)).toHaveLength(1);
  });

  it('group and channel messages arrive, channel history pages, getChannelDifference catches up', async () => {
    const { chatId } = emu.control.createGroup({
      creator: '+15552003',
      title: 'Team',
      members: ['+15552001', '+15552002'],
    });
    const { channelId } = emu.control.createChannel({
      creator: '+15552003',
      title: 'News',
      members: ['+15552001'],
      username: 'news_chan',
    });
    const got: NewMessageEvent[] = [];
    ann.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
    emu.control.sendMessage({ from: '+15552003', to: { chat: chatId }, text: 'group hello' });
    emu.control.sendMessage({
      from: '+15552003',
      to: { channel: channelId },
      text: 'channel post',
    });
    await waitFor(
      () =>
        got.some((e) => e.message.message === 'group hello') &&
        got.some((e) => e.message.message === 'channel post'),
      5000,
      'group+channel',
    );
    const g = got.find((e) => e.message.message === 'group hello')!.message;
    expect(g.peerId).toBeInstanceOf(Api.PeerChat);
    const ch = got.find((e) => e.message.message === 'channel post')!.message;
    expect(ch.peerId).toBeInstanceOf(Api.PeerChannel);
    expect(ch.post).toBe(true);

    // Ann writes into the group from GramJS; Bob receives it
    const bobGot: NewMessageEvent[] = [];
    bob.addEventHandler((e: NewMessageEvent) => void bobGot.push(e), new NewMessage({}));
    await ann.sendMessage(g.peerId, { message: 'from ann to group' });
    await waitFor(
      () => bobGot.some((e) => e.message.message === 'from ann to group'),
      5000,
      'group msg to bob',
    );
    // broadcast channel: members cannot post
    await expect(ann.sendMessage(ch.peerId, { message: 'nope' })).rejects.toMatchObject({
      errorMessage: 'CHAT_WRITE_FORBIDDEN',
    });

    const channel = (await ann.getEntity('news_chan')) as Api.Channel;
    const input = new Api.InputChannel({ channelId: channel.id, accessHash: channel.accessHash! });
    const before = await ann.invoke(
      new Api.updates.GetChannelDifference({
        channel: input,
        filter: new Api.ChannelMessagesFilterEmpty(),
        pts: 1,
        limit: 100,
      }),
    );
    expect(before).toBeInstanceOf(Api.updates.ChannelDifference);
    const pts = (before as Api.updates.ChannelDifference).pts;
    for (let i = 0; i < 3; i++)
      emu.control.sendMessage({ from: '+15552003', to: { channel: channelId }, text: `post ${i}` });
    const diff = (await ann.invoke(
      new Api.updates.GetChannelDifference({
        channel: input,
        filter: new Api.ChannelMessagesFilterEmpty(),
        pts,
        limit: 100,
      }),
    )) as Api.updates.ChannelDifference;
    expect(diff.newMessages.map((m) => (m as Api.Message).message)).toEqual([
      'post 0',
      'post 1',
      'post 2',
    ]);
    const empty = await ann.invoke(
      new Api.updates.GetChannelDifference({
        channel: input,
        filter: new Api.ChannelMessagesFilterEmpty(),
        pts: diff.pts,
        limit: 100,
      }),
    );
    expect(empty).toBeInstanceOf(Api.updates.ChannelDifferenceEmpty);
    const hist = await ann.getMessages(channel, { limit: 10 });
    expect(Array.from(hist, (m) => m.message).slice(0, 3)).toEqual(['post 2', 'post 1', 'post 0']);
    const dialogs = await ann.getDialogs({});
    expect(Array.from(dialogs, (d) => d.title)).toEqual(
      expect.arrayContaining(['Team', 'News', 'Bob']),
    );
  });
});
