import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { computeCheck } from 'telegram/Password.js';
import type { RunningEmulator } from '../src/index.js';
import { client, closeAll, emulator, login } from './helpers.js';

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

describe('login by phone code', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await emulator({
      codeTtlSeconds: 2,
      users: [
        { phone: '+15550001', firstName: 'Ann', username: 'ann_a' },
        { phone: '+15550002', firstName: 'Bob', password: 'hunter2', passwordHint: 'classic' },
      ],
    });
  });
  afterAll(async () => emu?.stop());

  it('logs in with the delivered code and binds the auth key', async () => {
    const c = await login(emu, '+15550001');
    try {
      const me = await c.getMe();
      expect(me.firstName).toBe('Ann');
      expect(me.phone).toBe('15550001');
      const keys = emu.control.authKeys('+15550001');
      expect(keys).toHaveLength(1);
      expect(await c.checkAuthorization()).toBe(true);
    } finally {
      await closeAll(c);
    }
  });

  it('rejects a wrong code with PHONE_CODE_INVALID and an expired one with PHONE_CODE_EXPIRED', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const sent = (await c.invoke(
        new Api.auth.SendCode({
          phoneNumber: '+15550001',
          ...API,
          settings: new Api.CodeSettings({}),
        }),
      )) as Api.auth.SentCode;
      expect(sent.type).toBeInstanceOf(Api.auth.SentCodeTypeApp);
      const code = emu.control.lastCode('15550001')!.code;
      const wrong = code === '00000' ? '11111' : '00000';
      await expect(
        c.invoke(
          new Api.auth.SignIn({
            phoneNumber: '+15550001',
            phoneCodeHash: sent.phoneCodeHash,
            phoneCode: wrong,
          }),
        ),
      ).rejects.toMatchObject({
        errorMessage: 'PHONE_CODE_INVALID',
      });
      await new Promise((r) => setTimeout(r, 2200));
      await expect(
        c.invoke(
          new Api.auth.SignIn({
            phoneNumber: '+15550001',
            phoneCodeHash: sent.phoneCodeHash,
            phoneCode: code,
          }),
        ),
      ).rejects.toMatchObject({
        errorMessage: 'PHONE_CODE_EXPIRED',
      });
      await expect(c.invoke(new Api.updates.GetState())).rejects.toMatchObject({
        code: 401,
        errorMessage: 'AUTH_KEY_UNREGISTERED',
      });
    } finally {
      await closeAll(c);
    }
  });

  it('resendCode escalates app → sms → call', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const sent = (await c.invoke(
        new Api.auth.SendCode({
          phoneNumber: '15550001',
          ...API,
          settings: new Api.CodeSettings({}),
        }),
      )) as Api.auth.SentCode;
      expect(sent.nextType).toBeInstanceOf(Api.auth.CodeTypeSms);
      const sms = (await c.invoke(
        new Api.auth.ResendCode({ phoneNumber: '15550001', phoneCodeHash: sent.phoneCodeHash }),
      )) as Api.auth.SentCode;
      expect(sms.type).toBeInstanceOf(Api.auth.SentCodeTypeSms);
      const call = (await c.invoke(
        new Api.auth.ResendCode({ phoneNumber: '15550001', phoneCodeHash: sent.phoneCodeHash }),
      )) as Api.auth.SentCode;
      expect(call.type).toBeInstanceOf(Api.auth.SentCodeTypeCall);
      await expect(
        c.invoke(
          new Api.auth.SendCode({ phoneNumber: '12', ...API, settings: new Api.CodeSettings({}) }),
        ),
      ).rejects.toMatchObject({ errorMessage: 'PHONE_NUMBER_INVALID' });
      emu.control.banPhone('+15559999');
      await expect(
        c.invoke(
          new Api.auth.SendCode({
            phoneNumber: '+15559999',
            ...API,
            settings: new Api.CodeSettings({}),
          }),
        ),
      ).rejects.toMatchObject({ errorMessage: 'PHONE_NUMBER_BANNED' });
    } finally {
      await closeAll(c);
    }
  });

  it('unknown numbers get PHONE_NUMBER_UNOCCUPIED, or sign up when allowed', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const send = async (): Promise<Api.auth.SentCode> =>
        (await c.invoke(
          new Api.auth.SendCode({
            phoneNumber: '+15557777',
            ...API,
            settings: new Api.CodeSettings({}),
          }),
        )) as Api.auth.SentCode;
      let sent = await send();
      await expect(
        c.invoke(
          new Api.auth.SignIn({
            phoneNumber: '+15557777',
            phoneCodeHash: sent.phoneCodeHash,
            phoneCode: emu.control.lastCode('15557777')!.code,
          }),
        ),
      ).rejects.toMatchObject({
        errorMessage: 'PHONE_NUMBER_UNOCCUPIED',
      });
      emu.control.setSignUpAllowed(true);
      sent = await send();
      const r = await c.invoke(
        new Api.auth.SignIn({
          phoneNumber: '+15557777',
          phoneCodeHash: sent.phoneCodeHash,
          phoneCode: emu.control.lastCode('15557777')!.code,
        }),
      );
      expect(r).toBeInstanceOf(Api.auth.AuthorizationSignUpRequired);
      const auth = (await c.invoke(
        new Api.auth.SignUp({
          phoneNumber: '+15557777',
          phoneCodeHash: sent.phoneCodeHash,
          firstName: 'New',
          lastName: 'Comer',
        }),
      )) as Api.auth.Authorization;
      expect((auth.user as Api.User).firstName).toBe('New');
      expect(emu.control.getUser('+15557777').lastName).toBe('Comer');
    } finally {
      emu.control.setSignUpAllowed(false);
      await closeAll(c);
    }
  });

  it('2FA: the right password logs in through SRP', async () => {
    const c = await login(emu, '+15550002', 'hunter2');
    try {
      expect((await c.getMe()).firstName).toBe('Bob');
    } finally {
      await closeAll(c);
    }
  });

  it('2FA: a wrong password gets PASSWORD_HASH_INVALID, a stale srp_id SRP_ID_INVALID', async () => {
    const c = client(emu);
    try {
      await c.connect();
      const sent = (await c.invoke(
        new Api.auth.SendCode({
          phoneNumber: '+15550002',
          ...API,
          settings: new Api.CodeSettings({}),
        }),
      )) as Api.auth.SentCode;
      await expect(
        c.invoke(
          new Api.auth.SignIn({
            phoneNumber: '+15550002',
            phoneCodeHash: sent.phoneCodeHash,
            phoneCode: emu.control.lastCode('15550002')!.code,
          }),
        ),
      ).rejects.toMatchObject({
        errorMessage: 'SESSION_PASSWORD_NEEDED',
      });
      const pw1 = await c.invoke(new Api.account.GetPassword());
      expect(pw1.hasPassword).toBe(true);
      expect(pw1.hint).toBe('classic');
      const wrong = await computeCheck(pw1, 'hunter3');
      await expect(c.invoke(new Api.auth.CheckPassword({ password: wrong }))).rejects.toMatchObject(
        { errorMessage: 'PASSWORD_HASH_INVALID' },
      );
      const pw2 = await c.invoke(new Api.account.GetPassword());
      const pw3 = await c.invoke(new Api.account.GetPassword());
      expect(pw3.srpId!.toString()).not.toBe(pw2.srpId!.toString());
      expect(Buffer.from(pw3.srp_B!).equals(Buffer.from(pw2.srp_B!))).toBe(false);
      const stale = await computeCheck(pw2, 'hunter2');
      await expect(c.invoke(new Api.auth.CheckPassword({ password: stale }))).rejects.toMatchObject(
        { errorMessage: 'SRP_ID_INVALID' },
      );
      const right = await computeCheck(pw3, 'hunter2');
      const auth = (await c.invoke(
        new Api.auth.CheckPassword({ password: right }),
      )) as Api.auth.Authorization;
      expect((auth.user as Api.User).firstName).toBe('Bob');
      expect(await c.checkAuthorization()).toBe(true);
    } finally {
      await closeAll(c);
    }
  });
});
