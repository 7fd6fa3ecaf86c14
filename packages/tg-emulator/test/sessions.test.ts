import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api } from 'telegram';
import { FloodWaitError } from 'telegram/errors/index.js';
import { NewMessage, type NewMessageEvent } from 'telegram/events/index.js';
import type { RunningEmulator } from '../src/index.js';
import { client, closeAll, emulator, login, waitFor } from './helpers.js';

describe('sessions and faults', () => {
  let emu: RunningEmulator;
  beforeAll(async () => {
    emu = await emulator({
      users: [
        { phone: '+15553001', firstName: 'Lou' },
        { phone: '+15553002', firstName: 'Rev' },
        { phone: '+15553003', firstName: 'Flo' },
        { phone: '+15553004', firstName: 'Dee' },
        { phone: '+15553005', firstName: 'Rob' },
      ],
    });
  });
  afterAll(async () => emu?.stop());

  it('auth.logOut deletes the key: the saved session no longer works', async () => {
    const c = await login(emu, '+15553001');
    const saved = c.session.save() as unknown as string;
    const keyId = emu.control.authKeys('+15553001')[0]!.id;
    try {
      const r = await c.invoke(new Api.auth.LogOut());
      expect(r).toBeInstanceOf(Api.auth.LoggedOut);
      await waitFor(() => !emu.control.authKeys().some((k) => k.id === keyId), 2000, 'key deleted');
      expect(emu.control.authKeys('+15553001')).toHaveLength(0);
    } finally {
      await closeAll(c);
    }
    // a client restored from the saved session gets transport error -404 (unknown auth key). GramJS then marks
    // the sender broken and never answers pending requests (it does not create a new key by itself).
    const again = client(emu, saved);
    const errorsBefore = emu.server.stats.transportErrors;
    try {
      void again.connect().catch(() => undefined);
      await waitFor(
        () => emu.server.stats.transportErrors > errorsBefore,
        5000,
        'transport error -404',
      );
      expect(emu.control.authKeys('+15553001')).toHaveLength(0);
    } finally {
      await closeAll(again);
    }
  });

  it('a revoked authorization surfaces as a 401 RPC error (SESSION_REVOKED, then AUTH_KEY_UNREGISTERED)', async () => {
    const c = await login(emu, '+15553002');
    try {
      const [key] = emu.control.authKeys('+15553002');
      emu.control.revokeAuthorization(key!.id);
      await expect(c.invoke(new Api.updates.GetState())).rejects.toMatchObject({
        code: 401,
        errorMessage: 'SESSION_REVOKED',
      });
      await expect(c.getMe()).rejects.toMatchObject({
        code: 401,
        errorMessage: 'AUTH_KEY_UNREGISTERED',
      });
    } finally {
      await closeAll(c);
    }
  });

  it('account.resetAuthorization revokes another session of the account', async () => {
    const a = await login(emu, '+15553005');
    const b = await login(emu, '+15553005');
    try {
      const auths = await a.invoke(new Api.account.GetAuthorizations());
      const other = auths.authorizations.find((x) => !x.current)!;
      expect(await a.invoke(new Api.account.ResetAuthorization({ hash: other.hash }))).toBe(true);
      await expect(b.invoke(new Api.updates.GetState())).rejects.toMatchObject({
        errorMessage: 'SESSION_REVOKED',
      });
      expect(await a.checkAuthorization()).toBe(true);
    } finally {
      await closeAll(a, b);
    }
  });

  it('an injected FLOOD_WAIT surfaces as FloodWaitError, and clears', async () => {
    const c = await login(emu, '+15553003');
    try {
      const user = emu.control.getUser('+15553003');
      const fault = emu.control.injectFault({
        kind: 'flood_wait',
        method: 'messages.sendMessage',
        userId: user.id,
        seconds: 42,
      });
      const err = await c.sendMessage('me', { message: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FloodWaitError);
      expect((err as FloodWaitError).seconds).toBe(42);
      // other methods are unaffected
      expect((await c.getMe()).firstName).toBe('Flo');
      emu.control.clearFaults(fault.id);
      expect((await c.sendMessage('me', { message: 'after flood' })).message).toBe('after flood');
      // a one-shot generic RPC error
      emu.control.injectFault({
        kind: 'rpc_error',
        method: 'updates.GetState',
        code: 500,
        message: 'INTERNAL',
        times: 1,
      });
      await expect(c.invoke(new Api.updates.GetState())).rejects.toMatchObject({ code: 500 });
      expect(await c.checkAuthorization()).toBe(true);
    } finally {
      await closeAll(c);
    }
  });

  it('a deactivated user gets USER_DEACTIVATED', async () => {
    const c = await login(emu, '+15553004');
    try {
      emu.control.setDeactivated('+15553004');
      await expect(c.getMe()).rejects.toMatchObject({
        code: 401,
        errorMessage: 'USER_DEACTIVATED',
      });
      emu.control.setDeactivated('+15553004', false);
      expect((await c.getMe()).firstName).toBe('Dee');
    } finally {
      await closeAll(c);
    }
  });

  it('after a dropped connection GramJS reconnects and receives later messages', async () => {
    const c = await login(emu, '+15553001');
    try {
      const got: NewMessageEvent[] = [];
      c.addEventHandler((e: NewMessageEvent) => void got.push(e), new NewMessage({}));
      const before = emu.server.counters.connectionsAccepted;
      expect(emu.control.dropConnections({ user: '+15553001' })).toBeGreaterThan(0);
      await waitFor(
        () =>
          emu.server.counters.connectionsAccepted > before &&
          emu.control.connections('+15553001').length > 0,
        15000,
        'reconnect',
      );
      // GramJS needs one request on the new connection before it is an update-receiving session
      await c.getMe();
      emu.control.sendMessage({
        from: '+15553002',
        to: { user: '+15553001' },
        text: 'after the drop',
      });
      await waitFor(
        () => got.some((e) => e.message.message === 'after the drop'),
        10000,
        'message after reconnect',
      );
    } finally {
      await closeAll(c);
    }
  });
});
