/**
 * GramJS access for login flows: creates clients for a configured target
 * (emulator or real Telegram), restores them from a saved session string,
 * and tears them down completely (`destroy()`, since `disconnect()` leaves
 * GramJS's update loop running).
 */
import { Api } from 'telegram';
import { createTelegramClient, type TelegramClient, type TelegramTarget } from '@tgbridge/telegram';

/** Creates GramJS clients for login flows. */
export interface TelegramClients {
  /**
   * A connected client on a new (empty) or saved session.
   * @param session saved StringSession text; undefined = fresh auth key
   * @param api optional per-account credentials (default: the target's)
   * @throws Error when Telegram cannot be reached
   */
  open(session?: string, api?: { apiId: number; apiHash: string }): Promise<TelegramClient>;
  /** Destroys a client (never throws). */
  close(client: TelegramClient): Promise<void>;
  /** api_id of the target. */
  readonly apiId: number;
}

/** {@link TelegramClients} for `target`. */
export function telegramClients(target: TelegramTarget): TelegramClients {
  return {
    apiId: target.apiId,
    async open(session, api) {
      const client = createTelegramClient({
        ...target,
        ...(api ? { apiId: api.apiId, apiHash: api.apiHash } : {}),
        session: session ?? '',
        connectionRetries: 2,
        retryDelayMs: 500,
        requestRetries: 2,
        floodSleepThreshold: 0,
        logLevel: 'none',
        deviceModel: 'tgbridge',
        appVersion: '1.0',
      });
      try {
        await client.connect();
      } catch (err) {
        await destroy(client);
        throw err;
      }
      return client;
    },
    close: destroy,
  };
}

async function destroy(client: TelegramClient): Promise<void> {
  try {
    await client.destroy();
  } catch {
    // already gone
  }
}

/** The session string of a client (StringSession text; secret). */
export function saveSession(client: TelegramClient): string {
  return (client.session as unknown as { save(): string }).save();
}

/**
 * Invokes `request` wrapped in `invokeWithoutUpdates`: login connections
 * never subscribe to updates, so one flow's auth key may be used by several
 * auth replicas in turn (and by the connector afterwards) without Telegram
 * answering AUTH_KEY_DUPLICATED.
 * @throws the RPC error of the request (GramJS error classes)
 */
export async function invokeQuiet<R extends Api.AnyRequest>(
  client: TelegramClient,
  request: R,
): Promise<R['__response']> {
  const wrapped = new Api.InvokeWithoutUpdates({ query: request as never });
  return (await client.invoke(wrapped as never)) as R['__response'];
}
