/**
 * The API layer's {@link ApiHandler}: routes each request by its GramJS
 * className, enforces login (401 `AUTH_KEY_UNREGISTERED` / `SESSION_REVOKED`
 * / `USER_DEACTIVATED`), applies injected faults, and maps world errors to
 * Telegram RPC errors.
 */
import type { Api } from 'telegram';
import type { ApiHandler, ClientConnection, RpcCall, RpcResultValue } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { ApiContext } from './context.js';
import type { UserRecord } from '../world/types.js';
import { WorldError, normalizePhone } from '../world/users.js';
import { requireUser } from './session.js';
import * as auth from './auth.js';
import * as password from './password.js';
import * as qr from './qr.js';
import * as account from './account.js';
import * as users from './users.js';
import * as messages from './messages.js';
import * as updates from './updates.js';
import * as upload from './upload.js';

type Route = (
  ctx: ApiContext,
  call: RpcCall,
  user: UserRecord,
) => RpcResultValue | Promise<RpcResultValue>;
type AnonRoute = (ctx: ApiContext, call: RpcCall) => RpcResultValue | Promise<RpcResultValue>;

const anonymous: Record<string, AnonRoute> = {
  'auth.SendCode': (c, call) => auth.sendCode(c, call, call.request as Api.auth.SendCode),
  'auth.ResendCode': (c, call) => auth.resendCode(c, call, call.request as Api.auth.ResendCode),
  'auth.SignIn': (c, call) => auth.signIn(c, call, call.request as Api.auth.SignIn),
  'auth.SignUp': (c, call) => auth.signUp(c, call, call.request as Api.auth.SignUp),
  'auth.CancelCode': (c, call) => auth.cancelCode(c, call, call.request as Api.auth.CancelCode),
  'auth.ExportLoginToken': (c, call) =>
    qr.exportLoginToken(c, call, call.request as Api.auth.ExportLoginToken),
  'auth.ImportLoginToken': (c, call) =>
    qr.importLoginToken(c, call, call.request as Api.auth.ImportLoginToken),
  'auth.CheckPassword': (c, call) =>
    password.checkPassword(c, call, call.request as Api.auth.CheckPassword),
  'account.GetPassword': (c, call) => password.getPassword(c, call),
  'help.AcceptTermsOfService': () => true,
};

const authorized: Record<string, Route> = {
  'auth.LogOut': (c, call) => auth.logOut(c, call),
  'auth.AcceptLoginToken': (c, call) =>
    qr.acceptLoginToken(c, call, call.request as Api.auth.AcceptLoginToken),
  'account.GetAuthorizations': (c, call, u) => account.getAuthorizations(c, call, u),
  'account.ResetAuthorization': (c, call, u) =>
    account.resetAuthorization(c, call, u, call.request as Api.account.ResetAuthorization),
  'account.UpdateStatus': () => true,
  'users.GetUsers': (c, call, u) => users.getUsers(c, u, call.request as Api.users.GetUsers),
  'users.GetFullUser': (c, call, u) =>
    users.getFullUser(c, u, call.request as Api.users.GetFullUser),
  'contacts.ResolveUsername': (c, call, u) =>
    users.resolveUsername(c, u, call.request as Api.contacts.ResolveUsername),
  'contacts.GetContacts': (c, _call, u) => users.getContacts(c, u),
  'contacts.ImportContacts': (c, call, u) =>
    users.importContacts(c, u, call.request as Api.contacts.ImportContacts),
  'updates.GetState': (c, _call, u) => updates.getState(c, u),
  'updates.GetDifference': (c, call, u) =>
    updates.getDifference(c, u, call.request as Api.updates.GetDifference),
  'updates.GetChannelDifference': (c, call, u) =>
    updates.getChannelDifference(c, u, call.request as Api.updates.GetChannelDifference),
  'messages.SendMessage': (c, call, u) =>
    messages.sendMessage(c, call, u, call.request as Api.messages.SendMessage),
  'messages.SendMedia': (c, call, u) =>
    messages.sendMedia(c, call, u, call.request as Api.messages.SendMedia),
  'messages.UploadMedia': (c, call, u) =>
    messages.uploadMedia(c, call, u, call.request as Api.messages.UploadMedia),
  'messages.EditMessage': (c, call, u) =>
    messages.editMessage(c, call, u, call.request as Api.messages.EditMessage),
  'messages.DeleteMessages': (c, call, u) =>
    messages.deleteMessages(c, call, u, call.request as Api.messages.DeleteMessages),
  'messages.ReadHistory': (c, call, u) =>
    messages.readHistory(c, call, u, call.request as Api.messages.ReadHistory),
  'messages.GetDialogs': (c, call, u) =>
    messages.getDialogs(c, u, call.request as Api.messages.GetDialogs),
  'messages.GetHistory': (c, call, u) =>
    messages.getHistory(c, u, call.request as Api.messages.GetHistory),
  'messages.GetMessages': (c, call, u) =>
    messages.getMessages(c, u, call.request as Api.messages.GetMessages),
  'messages.SetTyping': (c, call, u) =>
    messages.setTyping(c, call, u, call.request as Api.messages.SetTyping),
  'channels.DeleteMessages': (c, call, u) =>
    messages.deleteChannelMessages(c, call, u, call.request as Api.channels.DeleteMessages),
  'channels.ReadHistory': (c, call, u) =>
    messages.readChannelHistory(c, call, u, call.request as Api.channels.ReadHistory),
  'channels.GetMessages': (c, call, u) =>
    messages.getChannelMessages(c, u, call.request as Api.channels.GetMessages),
  'upload.SaveFilePart': (c, call) =>
    upload.saveFilePart(c, call, call.request as Api.upload.SaveFilePart),
  'upload.SaveBigFilePart': (c, call) =>
    upload.saveBigFilePart(c, call, call.request as Api.upload.SaveBigFilePart),
  'upload.GetFile': (c, call) => upload.getFile(c, call.request as Api.upload.GetFile),
};

/** Telegram error codes for world errors that are not 400. */
const WORLD_ERROR_CODES: Record<string, number> = {
  CHAT_WRITE_FORBIDDEN: 403,
  MESSAGE_AUTHOR_REQUIRED: 403,
  MESSAGE_DELETE_FORBIDDEN: 403,
  CHANNEL_PRIVATE: 406,
};

/** Converts a {@link WorldError} into Telegram's RPC error. */
export function toRpcError(e: WorldError): RpcError {
  return new RpcError(WORLD_ERROR_CODES[e.code] ?? 400, e.code);
}

/** Names of the methods the API layer implements (GramJS classNames). */
export function supportedMethods(): string[] {
  return [...Object.keys(anonymous), ...Object.keys(authorized)].sort();
}

/** The API layer's request handler. */
export class ApiRouter implements ApiHandler {
  constructor(private readonly ctx: ApiContext) {}

  async handle(call: RpcCall): Promise<RpcResultValue> {
    const { ctx } = this;
    const name = call.request.className;
    ctx.counters.calls[name] = (ctx.counters.calls[name] ?? 0) + 1;
    try {
      const anon = anonymous[name];
      if (anon) {
        const phone =
          'phoneNumber' in call.request && typeof call.request.phoneNumber === 'string'
            ? normalizePhone(call.request.phoneNumber)
            : undefined;
        ctx.faults.check(name, call.authKey.userId, phone);
        return await anon(ctx, call);
      }
      const route = authorized[name];
      if (!route) throw new RpcError(400, 'INPUT_METHOD_INVALID');
      const user = requireUser(ctx, call);
      ctx.faults.check(name, user.id, user.phone);
      return await route(ctx, call, user);
    } catch (e) {
      const err = e instanceof WorldError ? toRpcError(e) : e;
      if (err instanceof RpcError)
        ctx.counters.errors[err.errorMessage] = (ctx.counters.errors[err.errorMessage] ?? 0) + 1;
      throw err;
    }
  }

  connectionClosed(connection: ClientConnection): void {
    void connection; // login tokens are re-targeted to any live connection of their key on accept
  }
}
