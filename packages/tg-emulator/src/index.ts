/**
 * @tgbridge/tg-emulator — a Telegram data-center emulator: a real MTProto 2.0
 * server (src/server.ts) plus the Telegram API (src/api, src/world) and a
 * control API (src/control), in-process or standalone (src/main.ts).
 *
 * @example
 * const emu = await startEmulator({ users: [{ phone: '+15550001', firstName: 'Ann' }] });
 * const client = createTelegramClient({ dc: { host: '127.0.0.1', port: emu.port }, rsaPublicKeyPem: emu.publicKeyPem, apiId: 1, apiHash: 'x' });
 */
import { join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import { AuthKeyStore } from './auth-keys.js';
import {
  MtprotoServer,
  generateRsaKeyPair,
  loadOrCreateRsaKeyPair,
  rsaKeyPairFromPrivatePem,
  type MtprotoLogger,
} from './server.js';
import { World } from './world/world.js';
import { loadState, SnapshotWriter, type StateFile } from './world/persistence.js';
import { ApiRouter } from './api/handler.js';
import { FaultStore } from './api/faults.js';
import { newCounters, newLoginState, type ApiContext, type ApiOptions } from './api/context.js';
import { EmulatorControl, type CreateUserInput } from './control/control.js';
import { startControlHttp } from './control/http.js';

export { EmulatorControl, type CreateUserInput, type EmulatorCounters } from './control/control.js';
export * from './control/types.js';
export type { FaultSpec, Fault } from './api/faults.js';
export { RpcError } from './rpc.js';
export { AuthKeyStore } from './auth-keys.js';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Bind address of both servers; default `127.0.0.1`. */
  host?: string;
  /** MTProto port; default 0 = a free port in 20000..32767 (GramJS's StringSession cannot store ports > 32767). */
  port?: number;
  /** Control HTTP port; default 0 = any free port; `null` = no HTTP control server. */
  controlPort?: number | null;
  /** Directory for state.json and rsa-private.pem; state survives restarts. Default: in memory only. */
  dataDir?: string;
  /** DC id this emulator plays; default 2. */
  dcId?: number;
  /** Login code lifetime, seconds; default 300. */
  codeTtlSeconds?: number;
  /** QR login token lifetime, seconds; default 30. */
  loginTokenTtlSeconds?: number;
  /** Updates per getDifference before it becomes differenceSlice; default 100. */
  differenceLimit?: number;
  /** pts gap beyond which getDifference answers differenceTooLong; default 10000. */
  differenceTooLongAfter?: number;
  /** Users created at start (skipped when the phone already exists, e.g. after a restart). */
  users?: CreateUserInput[];
  /** Whether unknown numbers may sign up; default false. */
  signUpAllowed?: boolean;
  /** RSA private key PEM to use when there is no data dir; default: generated. */
  rsaPrivateKeyPem?: string;
  /** Logger of the MTProto layer; default errors only. */
  logger?: MtprotoLogger;
}

/** A running emulator. */
export interface RunningEmulator {
  /** Bind address. */
  host: string;
  /** MTProto TCP port. */
  port: number;
  /** DC id. */
  dcId: number;
  /** Base URL of the HTTP control API (empty when disabled). */
  controlUrl: string;
  /** The RSA public key clients must register (SPKI PEM). */
  publicKeyPem: string;
  /** Its Telegram fingerprint (signed 64-bit decimal). */
  fingerprint: string;
  /** The in-process control API. */
  control: EmulatorControl;
  /** The MTProto server (connections, counters). */
  server: MtprotoServer;
  /** Writes the state now (with a data dir). */
  flush(): void;
  /** Stops both servers (dropping every connection) and writes the state. */
  stop(): Promise<void>;
}

async function listenMtproto(
  make: (port: number) => MtprotoServer,
  port: number | undefined,
): Promise<MtprotoServer> {
  if (port) {
    const s = make(port);
    await s.listen();
    return s;
  }
  let lastError: unknown;
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = 20000 + Math.floor(Math.random() * 12768);
    const s = make(candidate);
    try {
      await s.listen();
      return s;
    } catch (e) {
      lastError = e;
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no free port in 20000..32767');
}

/**
 * Starts the emulator: loads state from `dataDir` (if any), binds the
 * MTProto server and the HTTP control API, creates seed users.
 * @throws Error when a port is taken or the state file is corrupt.
 */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const dcId = opts.dcId ?? 2;
  const state = opts.dataDir ? loadState(opts.dataDir) : undefined;
  const world = new World();
  if (state) world.load(state.world);
  const authKeys = state ? AuthKeyStore.fromJSON(state.authKeys) : new AuthKeyStore();
  const login = newLoginState();
  login.signUpAllowed = opts.signUpAllowed ?? state?.login.signUpAllowed ?? false;
  for (const p of state?.login.bannedPhones ?? []) login.bannedPhones.add(p);
  for (const [k, v] of state?.login.revokedKeys ?? []) login.revokedKeys.set(k, v);
  const rsa = opts.dataDir
    ? loadOrCreateRsaKeyPair(join(opts.dataDir, 'rsa-private.pem'))
    : opts.rsaPrivateKeyPem
      ? rsaKeyPairFromPrivatePem(opts.rsaPrivateKeyPem)
      : generateRsaKeyPair();

  const options: ApiOptions = {
    dcId,
    codeTtlSeconds: opts.codeTtlSeconds ?? 300,
    loginTokenTtlSeconds: opts.loginTokenTtlSeconds ?? 30,
    differenceLimit: opts.differenceLimit ?? 100,
    differenceTooLongAfter: opts.differenceTooLongAfter ?? 10000,
  };
  const holder: { server?: MtprotoServer } = {};
  const ctx: ApiContext = {
    world,
    authKeys,
    server: () => holder.server,
    options,
    login,
    faults: new FaultStore(),
    counters: newCounters(),
  };
  const router = new ApiRouter(ctx);
  const server = await listenMtproto(
    (port) =>
      new MtprotoServer({
        host,
        port,
        dcId,
        rsaPrivateKeyPem: rsa.privateKeyPem,
        authKeys,
        handler: router,
        logger: opts.logger,
      }),
    opts.port,
  );
  holder.server = server;
  const control = new EmulatorControl(ctx, () => holder.server);

  let writer: SnapshotWriter | undefined;
  if (opts.dataDir) {
    const build = (): StateFile => ({
      version: 1,
      savedAt: Date.now(),
      world: world.toJSON(),
      authKeys: authKeys.toJSON(),
      login: {
        bannedPhones: [...login.bannedPhones],
        revokedKeys: [...login.revokedKeys],
        signUpAllowed: login.signUpAllowed,
      },
    });
    const w = new SnapshotWriter(opts.dataDir, build);
    writer = w;
    world.onChange(() => w.schedule());
    authKeys.onChange(() => w.schedule());
  }
  for (const u of opts.users ?? []) {
    if (!world.users.byPhoneNumber(u.phone)) control.createUser(u);
  }
  writer?.flush();

  let http: HttpServer | undefined;
  let controlUrl = '';
  if (opts.controlPort !== null) {
    const started = await startControlHttp(control, host, opts.controlPort ?? 0);
    http = started.server;
    controlUrl = started.url;
  }
  const running = server;
  return {
    host,
    port: running.port,
    dcId,
    controlUrl,
    publicKeyPem: rsa.publicKeyPem,
    fingerprint: rsa.fingerprint,
    control,
    server: running,
    flush: () => writer?.flush(),
    async stop() {
      writer?.flush();
      if (http) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http!.close(() => resolve()));
      }
      await running.close();
    },
  };
}
