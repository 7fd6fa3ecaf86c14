/**
 * gRPC edge of the auth service: AuthService (proto/tgbridge/auth/v1/auth.proto)
 * over {@link LoginService}. Every failure is a gRPC status with a
 * LoginError trailer (`loginError()` from @tgbridge/proto/login-error).
 * Request fields holding secrets (code, password, api_hash) are never logged.
 */
import type { handleUnaryCall, sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { ApiCredentials, AuthServiceServer, LoginState } from '@tgbridge/proto/auth/v1/auth';
import { loginError } from '@tgbridge/proto/login-error';
import type { Logger } from 'pino';
import type { AuthMetrics } from '../metrics.js';
import { LoginFailure } from '../domain/errors.js';
import type { ApiCreds, LoginService } from '../domain/login-service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sessionId(value: string): string {
  if (!UUID.test(value)) throw new LoginFailure('INVALID_ARGUMENT', 'session_id must be a UUID');
  return value.toLowerCase();
}

function tenant(value: string): string {
  if (!value) throw new LoginFailure('INVALID_ARGUMENT', 'tenant_id is required');
  return value;
}

function creds(c: ApiCredentials | undefined): ApiCreds | undefined {
  if (!c || (!c.apiId && !c.apiHash)) return undefined;
  if (!c.apiId || !/^[0-9a-fA-F]{32}$/.test(c.apiHash)) {
    throw new LoginFailure('API_ID_INVALID', 'api_id and a 32-hex api_hash are both required');
  }
  return { apiId: c.apiId, apiHash: c.apiHash };
}

/**
 * Builds the AuthService implementation, counting every call in `metrics`
 * (`tgbridge_auth_rpc_total`, `tgbridge_auth_rpc_duration_seconds`, login flows
 * started and failed; completions are counted by the login service).
 */
export function authServiceHandlers(
  service: LoginService,
  logger: Logger,
  metrics: AuthMetrics,
): AuthServiceServer {
  const log = logger.child({ component: 'grpc' });

  function unary<Req>(
    method: string,
    run: (req: Req) => Promise<LoginState>,
  ): handleUnaryCall<Req, { state: LoginState | undefined }> {
    return (
      call: ServerUnaryCall<Req, { state: LoginState | undefined }>,
      callback: sendUnaryData<{ state: LoginState | undefined }>,
    ) => {
      const started = Date.now();
      const requestId = call.metadata.get('x-request-id')[0];
      Promise.resolve()
        .then(() => run(call.request))
        .then(
          (state) => {
            metrics.rpcs.inc({ method, outcome: 'ok' });
            metrics.rpcDuration.observe({ method }, (Date.now() - started) / 1000);
            if (method === 'StartQrLogin') metrics.flowsStarted.inc({ method: 'qr' });
            if (method === 'StartPhoneLogin') metrics.flowsStarted.inc({ method: 'phone' });
            log.debug({ method, requestId, ms: Date.now() - started }, 'rpc ok');
            callback(null, { state });
          },
          (err: unknown) => {
            const reason = err instanceof LoginFailure ? err.reason : 'INTERNAL';
            metrics.rpcs.inc({ method, outcome: reason });
            metrics.rpcDuration.observe({ method }, (Date.now() - started) / 1000);
            if (method !== 'GetLoginStatus') metrics.flowsFailed.inc({ reason });
            if (err instanceof LoginFailure) {
              log.info({ method, requestId, reason: err.reason }, 'rpc failed');
              callback(loginError(err.reason, err.message, err.retryAfterSeconds), null);
              return;
            }
            log.error(
              {
                method,
                requestId,
                errName: (err as Error)?.name,
                errMessage: (err as Error)?.message,
              },
              'rpc failed unexpectedly',
            );
            callback(loginError('INTERNAL', 'internal error'), null);
          },
        );
    };
  }

  return {
    startQrLogin: unary('StartQrLogin', (r) =>
      service.startQr(tenant(r.tenantId), r.agentId, creds(r.apiCredentials)),
    ),
    startPhoneLogin: unary('StartPhoneLogin', (r) =>
      service.startPhone(tenant(r.tenantId), r.agentId, r.phone, creds(r.apiCredentials)),
    ),
    resendCode: unary('ResendCode', (r) =>
      service.resendCode(tenant(r.tenantId), sessionId(r.sessionId)),
    ),
    submitCode: unary('SubmitCode', (r) =>
      service.submitCode(tenant(r.tenantId), sessionId(r.sessionId), r.code.trim()),
    ),
    submitPassword: unary('SubmitPassword', (r) =>
      service.submitPassword(tenant(r.tenantId), sessionId(r.sessionId), r.password),
    ),
    getLoginStatus: unary('GetLoginStatus', (r) =>
      service.status(tenant(r.tenantId), sessionId(r.sessionId)),
    ),
    cancelLogin: unary('CancelLogin', (r) =>
      service.cancel(tenant(r.tenantId), sessionId(r.sessionId)),
    ),
    logOut: unary('LogOut', (r) => service.logOut(tenant(r.tenantId), sessionId(r.sessionId))),
  };
}
