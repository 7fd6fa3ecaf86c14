/**
 * help.getConfig / help.getNearestDc answers: a full `Config` whose
 * dcOptions point every DC (1..5) at the emulator itself.
 *
 * Source: https://core.telegram.org/method/help.getConfig
 */
import { Api } from 'telegram';

/** Where the emulator is reachable. */
export interface DcAddress {
  /** IPv4 address clients dial (the bind host; 0.0.0.0 is advertised as 127.0.0.1). */
  host: string;
  /** TCP port (≤ 32767 so StringSession can store it). */
  port: number;
  /** DC id this server is (Config.thisDc). */
  dcId: number;
}

/** Seconds a Config stays valid (Config.expires = date + this). */
export const CONFIG_TTL_S = 3600;

/** Builds the `Config` object for help.getConfig. */
export function buildConfig(addr: DcAddress, nowS = Math.floor(Date.now() / 1000)): Api.Config {
  const ip = addr.host === '0.0.0.0' || addr.host === '::' ? '127.0.0.1' : addr.host;
  const dcOptions: Api.DcOption[] = [];
  for (let id = 1; id <= 5; id++) {
    dcOptions.push(new Api.DcOption({ id, ipAddress: ip, port: addr.port }));
    // Media-only option as Telegram lists (same address).
    dcOptions.push(new Api.DcOption({ id, ipAddress: ip, port: addr.port, mediaOnly: true }));
  }
  return new Api.Config({
    date: nowS,
    expires: nowS + CONFIG_TTL_S,
    testMode: false,
    thisDc: addr.dcId,
    dcOptions,
    dcTxtDomainName: 'apv3.stel.com',
    chatSizeMax: 200,
    megagroupSizeMax: 200000,
    forwardedCountMax: 100,
    onlineUpdatePeriodMs: 210000,
    offlineBlurTimeoutMs: 5000,
    offlineIdleTimeoutMs: 30000,
    onlineCloudTimeoutMs: 300000,
    notifyCloudDelayMs: 30000,
    notifyDefaultDelayMs: 1500,
    pushChatPeriodMs: 60000,
    pushChatLimit: 2,
    editTimeLimit: 172800,
    revokeTimeLimit: 2147483647,
    revokePmTimeLimit: 2147483647,
    ratingEDecay: 2419200,
    stickersRecentLimit: 200,
    channelsReadMediaPeriod: 604800,
    tmpSessions: undefined,
    callReceiveTimeoutMs: 20000,
    callRingTimeoutMs: 90000,
    callConnectTimeoutMs: 30000,
    callPacketTimeoutMs: 10000,
    meUrlPrefix: 'https://t.me/',
    gifSearchUsername: 'gif',
    venueSearchUsername: 'foursquare',
    imgSearchUsername: 'bing',
    captionLengthMax: 1024,
    messageLengthMax: 4096,
    webfileDcId: 4,
    suggestedLangCode: 'en',
    langPackVersion: 1,
    baseLangPackVersion: 1,
  });
}

/** The answer to help.getNearestDc: the client is "nearest" to this DC. */
export function buildNearestDc(addr: DcAddress): Api.NearestDc {
  return new Api.NearestDc({ country: 'NL', thisDc: addr.dcId, nearestDc: addr.dcId });
}
