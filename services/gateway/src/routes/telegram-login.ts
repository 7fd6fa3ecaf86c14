/**
 * Seed 000 login routes (exact paths and shapes) plus the phone-login
 * additions: request-qr, request-code, resend-code, verify-code,
 * verify-password, disconnect, status/{session_id}. Every call goes to the
 * auth service over gRPC; this module only validates, scopes by tenant and
 * maps results (`login-view.ts`) and errors (`errors.ts`).
 */
import { Metadata } from '@grpc/grpc-js';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiCredentials } from '@tgbridge/proto/auth/v1/auth';
import type { GatewayDeps } from '../deps.js';
import { principalOf, replyLoginError } from './errors.js';
import { codeView, stateView, statusName, verifyView } from './login-view.js';
import { AgentId, errorResponses, SessionId, StatusName, UserIdOrNull } from './schemas.js';

const Credentials = {
  api_id: Type.Optional(
    Type.Integer({ minimum: 1, description: 'own Telegram api_id (optional)' }),
  ),
  api_hash: Type.Optional(
    Type.String({ pattern: '^[0-9a-fA-F]{32}$', description: 'own Telegram api_hash (optional)' }),
  ),
};
const SessionBody = Type.Object({ session_id: SessionId }, { additionalProperties: false });
const LOGIN_ERRORS = errorResponses(400, 401, 403, 404, 409, 410, 429, 500, 503);
const NullableString = Type.Union([Type.String(), Type.Null()]);

const VerifyReply = Type.Object({
  success: Type.Literal(true),
  connected: Type.Boolean(),
  phone: Type.Optional(NullableString),
  user_id: Type.Optional(UserIdOrNull),
  requires_password: Type.Optional(Type.Boolean()),
  password_hint: Type.Optional(NullableString),
  session_id: Type.String(),
  status: StatusName,
});

const CodeReply = Type.Object({
  success: Type.Literal(true),
  session_id: Type.String(),
  status: StatusName,
  phone_masked: NullableString,
  code_type: NullableString,
  next_type: NullableString,
  timeout: Type.Integer({ description: 'seconds before resend-code may be used' }),
  code_length: Type.Integer(),
  expires_in: Type.Integer({ description: 'seconds until the login flow expires' }),
});

/** Full status view; also used by the sessions list. */
export const StatusView = Type.Object({
  connected: Type.Boolean(),
  status: StatusName,
  session_id: Type.String(),
  agent_id: Type.String(),
  phone: NullableString,
  phone_masked: NullableString,
  user_id: UserIdOrNull,
  username: Type.Optional(NullableString),
  first_name: Type.Optional(NullableString),
  last_name: Type.Optional(NullableString),
  last_activity: NullableString,
  requires_password: Type.Boolean(),
  password_hint: Type.Optional(NullableString),
  qr_code: Type.Optional(NullableString),
  qr_url: Type.Optional(NullableString),
  qr_expires_in: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  expires_in: Type.Optional(Type.Integer()),
  code_type: Type.Optional(NullableString),
  next_type: Type.Optional(NullableString),
  timeout: Type.Optional(Type.Integer()),
  code_length: Type.Optional(Type.Integer()),
  method: Type.Optional(NullableString),
  created_at: Type.Optional(NullableString),
});

function credentials(body: { api_id?: number; api_hash?: string }): ApiCredentials | undefined {
  return body.api_id !== undefined && body.api_hash !== undefined
    ? { apiId: body.api_id, apiHash: body.api_hash }
    : undefined;
}

/** gRPC metadata carrying the request id to auth. */
function meta(request: FastifyRequest): Metadata {
  const m = new Metadata();
  m.set('x-request-id', String(request.id));
  return m;
}

/** Registers the login routes. */
export default async function loginRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const tags = ['login'];
  const security: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];

  app.post<{ Body: { agent_id: number | string; api_id?: number; api_hash?: string } }>(
    '/api/telegram/request-qr',
    {
      schema: {
        tags,
        security,
        summary: 'Start a QR-code login (seed 000)',
        body: Type.Object({ agent_id: AgentId, ...Credentials }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            session_id: Type.String(),
            qr_code: Type.String({ description: 'data:image/png;base64,...' }),
            expires_in: Type.Integer({ description: 'seconds until the login flow expires' }),
            status: StatusName,
            qr_url: Type.String({ description: 'tg://login?token=...' }),
            qr_expires_in: Type.Integer({
              description: 'seconds until this QR token is replaced; poll status for a fresh one',
            }),
          }),
          ...LOGIN_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.startQrLogin(
          {
            tenantId,
            agentId: String(request.body.agent_id),
            apiCredentials: credentials(request.body),
          },
          meta(request),
        );
        return {
          success: true as const,
          session_id: state.sessionId,
          qr_code: state.qr?.pngDataUrl ?? '',
          expires_in: state.expiresIn,
          status: statusName(state.status),
          qr_url: state.qr?.url ?? '',
          qr_expires_in: state.qr?.expiresIn ?? 0,
        };
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.post<{
    Body: { agent_id: number | string; phone: string; api_id?: number; api_hash?: string };
  }>(
    '/api/telegram/request-code',
    {
      schema: {
        tags,
        security,
        summary: 'Start a phone-code login: Telegram sends a code to the account',
        body: Type.Object(
          {
            agent_id: AgentId,
            phone: Type.String({
              pattern: '^\\+?[0-9][0-9 ()-]{4,20}$',
              description: 'international format, e.g. +989123456789',
            }),
            ...Credentials,
          },
          { additionalProperties: false },
        ),
        response: { 200: CodeReply, ...LOGIN_ERRORS },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.startPhoneLogin(
          {
            tenantId,
            agentId: String(request.body.agent_id),
            phone: request.body.phone,
            apiCredentials: credentials(request.body),
          },
          meta(request),
        );
        return codeReply(state);
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.post<{ Body: { session_id: string } }>(
    '/api/telegram/resend-code',
    {
      schema: {
        tags,
        security,
        summary: 'Send the login code again, by the next delivery type (app → sms → call)',
        body: SessionBody,
        response: { 200: CodeReply, ...LOGIN_ERRORS },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.resendCode(
          { tenantId, sessionId: request.body.session_id },
          meta(request),
        );
        return codeReply(state);
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.post<{ Body: { session_id: string; code: string | number } }>(
    '/api/telegram/verify-code',
    {
      schema: {
        tags,
        security,
        summary: 'Submit the login code (seed 000)',
        body: Type.Object(
          {
            session_id: SessionId,
            code: Type.Union([
              Type.String({ pattern: '^[0-9]{3,10}$' }),
              Type.Integer({ minimum: 0, maximum: 9_999_999_999 }),
            ]),
          },
          { additionalProperties: false },
        ),
        response: { 200: VerifyReply, ...LOGIN_ERRORS },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.submitCode(
          { tenantId, sessionId: request.body.session_id, code: String(request.body.code) },
          meta(request),
        );
        return verifyView(state);
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.post<{ Body: { session_id: string; password: string } }>(
    '/api/telegram/verify-password',
    {
      schema: {
        tags,
        security,
        summary: 'Submit the 2FA password (seed 000)',
        body: Type.Object(
          { session_id: SessionId, password: Type.String({ minLength: 1, maxLength: 1024 }) },
          { additionalProperties: false },
        ),
        response: { 200: VerifyReply, ...LOGIN_ERRORS },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.submitPassword(
          { tenantId, sessionId: request.body.session_id, password: request.body.password },
          meta(request),
        );
        return verifyView(state);
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.post<{ Body: { session_id: string } }>(
    '/api/telegram/disconnect',
    {
      schema: {
        tags,
        security,
        summary: 'Log the session out at Telegram and delete its secret (seed 000)',
        body: SessionBody,
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            message: Type.String(),
            session_id: Type.String(),
            status: StatusName,
          }),
          ...LOGIN_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.logOut(
          { tenantId, sessionId: request.body.session_id },
          meta(request),
        );
        return {
          success: true as const,
          // Seed 000's text, verbatim ("disconnected successfully").
          message: 'اتصال با موفقیت قطع شد',
          session_id: state.sessionId,
          status: statusName(state.status),
        };
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );

  app.get<{ Params: { session_id: string } }>(
    '/api/telegram/status/:session_id',
    {
      schema: {
        tags,
        security,
        summary: 'Connection status (seed 000); a fresh qr_code while a QR login is pending',
        params: Type.Object({ session_id: SessionId }),
        response: {
          200: Type.Composite([Type.Object({ success: Type.Literal(true) }), StatusView]),
          ...LOGIN_ERRORS,
        },
      },
    },
    async (request, reply) => {
      const { tenantId } = principalOf(request);
      try {
        const state = await deps.auth.getLoginStatus(
          { tenantId, sessionId: request.params.session_id },
          meta(request),
        );
        return { success: true as const, ...stateView(state) };
      } catch (err) {
        return replyLoginError(reply, err);
      }
    },
  );
}

function codeReply(state: Parameters<typeof stateView>[0]) {
  return {
    success: true as const,
    session_id: state.sessionId,
    status: statusName(state.status),
    phone_masked: state.phoneMasked ?? null,
    expires_in: state.expiresIn,
    ...(codeView(state.code) as {
      code_type: string | null;
      next_type: string | null;
      timeout: number;
      code_length: number;
    }),
  };
}
