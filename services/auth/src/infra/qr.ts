/**
 * QR rendering of a login token (https://core.telegram.org/api/qr-login):
 * `tg://login?token=<base64url>` as a PNG data URL (seed 000 `qr_code`).
 */
import QRCode from 'qrcode';

/** `tg://login?token=...` for a token. */
export function loginUrl(token: Buffer): string {
  return `tg://login?token=${token.toString('base64url')}`;
}

const cache = new Map<string, string>();

/** `data:image/png;base64,...` of `url` (memoised for the few live tokens). */
export async function qrPngDataUrl(url: string): Promise<string> {
  const hit = cache.get(url);
  if (hit) return hit;
  const png = await QRCode.toDataURL(url, { errorCorrectionLevel: 'M', margin: 2, width: 256 });
  if (cache.size > 256) cache.clear();
  cache.set(url, png);
  return png;
}
