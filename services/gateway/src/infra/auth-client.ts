/**
 * gRPC client of the auth service (proto/tgbridge/auth/v1/auth.proto) with
 * client-side round-robin over every configured address, a deadline on every
 * call (waiting for a ready replica within it), and automatic retries (on UNAVAILABLE) only for the idempotent RPCs
 * GetLoginStatus, CancelLogin and LogOut.
 *
 * Target: all-IPv4 lists use grpc-js's `ipv4:` resolver; anything else our
 * `tgb-static:` resolver (DNS names allowed, every A record is a backend).
 */
import { isIPv4 } from 'node:net';
import {
  credentials,
  Metadata,
  status,
  type CallOptions,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  AuthServiceClient,
  type CancelLoginRequest,
  type GetLoginStatusRequest,
  type LoginState,
  type LogOutRequest,
  type ResendCodeRequest,
  type StartPhoneLoginRequest,
  type StartQrLoginRequest,
  type SubmitCodeRequest,
  type SubmitPasswordRequest,
} from '@tgbridge/proto/auth/v1/auth';
import { registerStaticResolver, splitAddress, STATIC_SCHEME } from './static-resolver.js';

const SERVICE = 'tgbridge.auth.v1.AuthService';
const IDEMPOTENT = ['GetLoginStatus', 'CancelLogin', 'LogOut'];

/** grpc-js channel target for a list of `host:port` addresses. @throws Error on a malformed address */
export function authTarget(addresses: string[]): string {
  if (addresses.length === 0) throw new Error('AUTH_GRPC_ADDRESSES is empty');
  const parsed = addresses.map(splitAddress);
  if (parsed.every((a) => isIPv4(a.host))) {
    return `ipv4:${parsed.map((a) => `${a.host}:${a.port}`).join(',')}`;
  }
  registerStaticResolver();
  return `${STATIC_SCHEME}:${addresses.map((a) => a.trim()).join(',')}`;
}

/** The channel's service config: round_robin, retry policy for idempotent methods. */
export function authServiceConfig(): string {
  return JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig: [
      {
        name: IDEMPOTENT.map((method) => ({ service: SERVICE, method })),
        retryPolicy: {
          maxAttempts: 3,
          initialBackoff: '0.1s',
          maxBackoff: '1s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  });
}

/** Options of {@link createAuthClient}. */
export interface AuthClientOptions {
  /** `host:port` of every auth replica. */
  addresses: string[];
  /** Deadline of each call, ms. */
  timeoutMs: number;
}

/**
 * Promise-based AuthService client. Every method resolves to the flow's
 * LoginState or rejects with the grpc-js ServiceError (read its LoginError
 * with `readLoginError(err)` from `@tgbridge/proto/login-error`).
 */
export interface AuthClient {
  startQrLogin(req: StartQrLoginRequest, meta?: Metadata): Promise<LoginState>;
  startPhoneLogin(req: StartPhoneLoginRequest, meta?: Metadata): Promise<LoginState>;
  resendCode(req: ResendCodeRequest, meta?: Metadata): Promise<LoginState>;
  submitCode(req: SubmitCodeRequest, meta?: Metadata): Promise<LoginState>;
  submitPassword(req: SubmitPasswordRequest, meta?: Metadata): Promise<LoginState>;
  getLoginStatus(req: GetLoginStatusRequest, meta?: Metadata): Promise<LoginState>;
  cancelLogin(req: CancelLoginRequest, meta?: Metadata): Promise<LoginState>;
  logOut(req: LogOutRequest, meta?: Metadata): Promise<LoginState>;
  /** The underlying grpc-js client (its channel is shared with the health check). */
  readonly raw: AuthServiceClient;
  /** Closes the channel. */
  close(): void;
}

type Unary<Req> = (
  req: Req,
  meta: Metadata,
  opts: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: { state?: LoginState } | undefined) => void,
) => unknown;

/** Creates the client; connects lazily on the first call. */
export function createAuthClient(opts: AuthClientOptions): AuthClient {
  const raw = new AuthServiceClient(authTarget(opts.addresses), credentials.createInsecure(), {
    'grpc.service_config': authServiceConfig(),
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': 30_000,
    // Reconnect quickly after an auth replica restarts (defaults back off up to 120 s).
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  });
  function call<Req>(method: Unary<Req>) {
    return (req: Req, meta: Metadata = new Metadata()): Promise<LoginState> =>
      new Promise((resolve, reject) => {
        // waitForReady: a call made while every replica is (re)connecting waits
        // for one within its deadline instead of failing at once.
        meta.setOptions({ waitForReady: true });
        method.call(
          raw,
          req,
          meta,
          { deadline: Date.now() + opts.timeoutMs },
          (err: ServiceError | null, res: { state?: LoginState } | undefined) => {
            if (err) return reject(err);
            if (!res?.state) {
              const e = Object.assign(new Error('auth returned no state'), {
                code: status.INTERNAL,
                details: 'auth returned no state',
                metadata: new Metadata(),
              });
              return reject(e as ServiceError);
            }
            resolve(res.state);
          },
        );
      });
  }
  const c = raw as unknown as Record<string, Unary<unknown>>;
  return {
    raw,
    startQrLogin: call(c.startQrLogin as Unary<StartQrLoginRequest>),
    startPhoneLogin: call(c.startPhoneLogin as Unary<StartPhoneLoginRequest>),
    resendCode: call(c.resendCode as Unary<ResendCodeRequest>),
    submitCode: call(c.submitCode as Unary<SubmitCodeRequest>),
    submitPassword: call(c.submitPassword as Unary<SubmitPasswordRequest>),
    getLoginStatus: call(c.getLoginStatus as Unary<GetLoginStatusRequest>),
    cancelLogin: call(c.cancelLogin as Unary<CancelLoginRequest>),
    logOut: call(c.logOut as Unary<LogOutRequest>),
    close: () => (raw as Client).close(),
  };
}
