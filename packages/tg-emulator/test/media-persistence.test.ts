import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { CustomFile } from 'telegram/client/uploads.js';
import { NewMessage, type NewMessageEvent } from 'telegram/events/index.js';
import type { RunningEmulator } from '../src/index.js';
import { client, closeAll, emulator, login, waitFor } from './helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('media', () => {
  it('a document uploaded with saveFilePart + sendMedia downloads byte-exact; a control-API photo downloads too', async () => {
    const emu = await emulator({
      users: [
        { phone: '+15554001', firstName: 'Up', username: 'up_user' },
        { phone: '+15554002', firstName: 'Down', username: 'down_user' },
      ],
    });
    const up = await login(emu, '+15554001');
    const down = await login(emu, '+15554002');
    try {
      const got: NewMessageEvent[] = [];
      down.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
      const bytes = randomBytes(1_300_000 + 123); // several 512 KB parts and a tail, crosses the 1 MB boundary
      const file = new CustomFile('report.bin', bytes.length, '', bytes);
      const sent = await up.sendFile('down_user', {
        file,
        caption: 'the report',
        forceDocument: true,
      });
      expect(sent.media).toBeInstanceOf(Api.MessageMediaDocument);
      await waitFor(
        () => got.some((e) => e.message.message === 'the report'),
        10000,
        'document message',
      );
      const msg = got.find((e) => e.message.message === 'the report')!.message;
      const doc = (msg.media as Api.MessageMediaDocument).document as Api.Document;
      expect(
        doc.attributes.some(
          (a) => a instanceof Api.DocumentAttributeFilename && a.fileName === 'report.bin',
        ),
      ).toBe(true);
      const downloaded = (await down.downloadMedia(msg, {})) as Buffer;
      expect(Buffer.compare(downloaded, bytes)).toBe(0);
      const [sentRecord] = emu.control.sentMessages('+15554001');
      expect(sentRecord!.media).toMatchObject({
        kind: 'document',
        size: bytes.length,
        fileName: 'report.bin',
      });

      // a photo from the control API
      const png = Buffer.concat([
        Buffer.from('89504e470d0a1a0a0000000d49484452000000400000003008020000', 'hex'),
        randomBytes(500),
      ]);
      emu.control.sendMessage({
        from: '+15554001',
        to: { user: '+15554002' },
        text: 'pic',
        photo: { data: png.toString('base64'), mimeType: 'image/png' },
      });
      await waitFor(() => got.some((e) => e.message.message === 'pic'), 5000, 'photo');
      const photoMsg = got.find((e) => e.message.message === 'pic')!.message;
      const photo = (photoMsg.media as Api.MessageMediaPhoto).photo as Api.Photo;
      expect((photo.sizes[0] as Api.PhotoSize).w).toBe(64);
      const pic = (await down.downloadMedia(photoMsg, {})) as Buffer;
      expect(Buffer.compare(pic, png)).toBe(0);

      // upload.getFile enforces Telegram's offset/limit rules
      const loc = new Api.InputDocumentFileLocation({
        id: doc.id,
        accessHash: doc.accessHash,
        fileReference: doc.fileReference,
        thumbSize: '',
      });
      await expect(
        down.invoke(new Api.upload.GetFile({ location: loc, offset: 1000 as never, limit: 4096 })),
      ).rejects.toMatchObject({ errorMessage: 'OFFSET_INVALID' });
      await expect(
        down.invoke(new Api.upload.GetFile({ location: loc, offset: 0 as never, limit: 3000 })),
      ).rejects.toMatchObject({ errorMessage: 'LIMIT_INVALID' });
    } finally {
      await closeAll(up, down);
      await emu.stop();
    }
  });
});

describe('persistence', () => {
  it('users, messages, pts and auth keys survive a restart with a data dir; the saved session stays valid', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tg-emu-'));
    dirs.push(dataDir);
    let emu: RunningEmulator = await emulator({
      dataDir,
      users: [
        { phone: '+15555001', firstName: 'Per', username: 'per_user' },
        { phone: '+15555002', firstName: 'Sis' },
      ],
    });
    const port = emu.port;
    const pem = emu.publicKeyPem;
    let c = await login(emu, '+15555001');
    emu.control.sendMessage({
      from: '+15555002',
      to: { user: '+15555001' },
      text: 'before restart',
    });
    const state = await c.invoke(new Api.updates.GetState());
    const saved = c.session.save() as unknown as string;
    await closeAll(c);
    await emu.stop();
    expect(JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8')).version).toBe(1);

    emu = await emulator({ dataDir, port });
    try {
      expect(emu.publicKeyPem).toBe(pem);
      expect(
        emu.control
          .listUsers()
          .map((u) => u.firstName)
          .sort(),
      ).toEqual(['Per', 'Sis']);
      emu.control.sendMessage({
        from: '+15555002',
        to: { user: '+15555001' },
        text: 'after restart',
      });
      c = client(emu, saved);
      await c.connect();
      expect((await c.getMe()).firstName).toBe('Per');
      const diff = (await c.invoke(
        new Api.updates.GetDifference({ pts: state.pts, date: state.date, qts: 0 }),
      )) as Api.updates.Difference;
      expect(diff.newMessages.map((m) => (m as Api.Message).message)).toEqual(['after restart']);
      const hist = await c.getMessages(
        await c.getInputEntity(emu.control.getUser('+15555002').id),
        { limit: 10 },
      );
      expect(Array.from(hist, (m) => m.message)).toEqual(['after restart', 'before restart']);
    } finally {
      await closeAll(c);
      await emu.stop();
    }
  });
});
