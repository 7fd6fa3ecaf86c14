import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import type { RunningEmulator } from '../src/index.js';
import { client, closeAll, emulator, waitFor } from './helpers.js';

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

describe('QR login', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await emulator({
      loginTokenTtlSeconds: 1,
      users: [
        { phone: '+15551001', firstName: 'Quinn' },
        { phone: '+15551002', firstName: 'Pat', password: 'qrpass' },
      ],
    });
  });
  afterAll(async () => emu?.stop());

  it('signInUserWithQrCode completes when the control API accepts the token', async () => {
    emu.control.setSignUpAllowed(false);
    const c = client(emu);
    try {
      await c.connect();
      let tokens = 0;
      const user = await c.signInUserWithQrCode(API, {
        qrCode: async ({ token }) => {
          tokens++;
          // the "phone" scans the QR code: tg://login?token=<base64url>
          emu.control.acceptLoginToken(Buffer.from(token).toString('base64url'), '+15551001');
        },
        onError: async (e) => {
          throw e;
        },
      });
      expect(tokens).toBe(1);
      expect((user as Api.User).firstName).toBe('Quinn');
      expect((await c.getMe()).firstName).toBe('Quinn');
    } finally {
      await closeAll(c);
    }
  });

  it('2FA users get SESSION_PASSWORD_NEEDED after the scan and finish with the password', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const user = await c.signInUserWithQrCode(API, {
        qrCode: async ({ token }) => {
          emu.control.acceptLoginToken(Buffer.from(token), '+15551002');
        },
        password: async () => 'qrpass',
        onError: async (e) => {
          throw e;
        },
      });
      expect((user as Api.User).firstName).toBe('Pat');
    } finally {
      await closeAll(c);
    }
  });

  it('an expired token cannot be accepted (AUTH_TOKEN_EXPIRED) and the key stays unauthorized', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const t = (await c.invoke(
        new Api.auth.ExportLoginToken({ ...API, exceptIds: [] }),
      )) as Api.auth.LoginToken;
      expect(t.expires).toBeGreaterThan(Date.now() / 1000 - 1);
      await new Promise((r) => setTimeout(r, 1200));
      expect(() => emu.control.acceptLoginToken(Buffer.from(t.token), '+15551001')).toThrow(
        /AUTH_TOKEN_EXPIRED/,
      );
      expect(() => emu.control.acceptLoginToken('AAAA', '+15551001')).toThrow(/AUTH_TOKEN_INVALID/);
      const again = await c.invoke(new Api.auth.ExportLoginToken({ ...API, exceptIds: [] }));
      expect(again).toBeInstanceOf(Api.auth.LoginToken);
      await expect(c.invoke(new Api.updates.GetState())).rejects.toMatchObject({
        errorMessage: 'AUTH_KEY_UNREGISTERED',
      });
    } finally {
      await closeAll(c);
    }
  });

  it('pushes updateLoginToken to the exporting connection', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const seen: string[] = [];
      c.addEventHandler((u: unknown) => {
        if (u instanceof Api.UpdateLoginToken) seen.push('token');
      });
      const t = (await c.invoke(
        new Api.auth.ExportLoginToken({ ...API, exceptIds: [] }),
      )) as Api.auth.LoginToken;
      emu.control.acceptLoginToken(Buffer.from(t.token), '+15551001');
      await waitFor(() => seen.length > 0, 3000, 'updateLoginToken');
      const ok = await c.invoke(new Api.auth.ExportLoginToken({ ...API, exceptIds: [] }));
      expect(ok).toBeInstanceOf(Api.auth.LoginTokenSuccess);
    } finally {
      await closeAll(c);
    }
  });
});
