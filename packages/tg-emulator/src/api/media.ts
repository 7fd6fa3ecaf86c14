/**
 * Media input: InputMediaUploadedPhoto / InputMediaUploadedDocument (from
 * upload.saveFilePart parts) and InputMediaPhoto / InputMediaDocument
 * (re-sending stored media). https://core.telegram.org/api/files
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import type { MediaRecord } from '../world/types.js';
import { WorldError } from '../world/users.js';

/** Width/height of a PNG or JPEG, if recognizable. */
export function imageSize(b: Buffer): { w: number; h: number } | undefined {
  if (b.length > 24 && b.readUInt32BE(0) === 0x89504e47)
    return { w: b.readUInt32BE(16), h: b.readUInt32BE(20) };
  if (b.length > 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return undefined;
      const marker = b[i + 1]!;
      const len = b.readUInt16BE(i + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { h: b.readUInt16BE(i + 5), w: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return undefined;
}

function takeFile(
  ctx: ApiContext,
  call: RpcCall,
  file: Api.TypeInputFile,
): { bytes: Buffer; name: string } {
  try {
    if (file instanceof Api.InputFile || file instanceof Api.InputFileBig) {
      return {
        bytes: ctx.world.files.takeUpload(call.authKey.id, file.id.toString(), file.parts),
        name: file.name,
      };
    }
  } catch (e) {
    if (e instanceof WorldError) throw new RpcError(400, e.code);
    throw e;
  }
  throw new RpcError(400, 'MEDIA_INVALID');
}

/** Turns an InputMedia into a stored media record. Errors: 400 `MEDIA_INVALID`, `FILE_PART_<n>_MISSING`, `MEDIA_EMPTY`. */
export function mediaFromInput(
  ctx: ApiContext,
  call: RpcCall,
  media: Api.TypeInputMedia,
): MediaRecord {
  const files = ctx.world.files;
  if (media instanceof Api.InputMediaUploadedPhoto) {
    const { bytes, name } = takeFile(ctx, call, media.file);
    const size = imageSize(bytes);
    return files.addMedia('photo', bytes, {
      mimeType: 'image/jpeg',
      fileName: name,
      w: size?.w,
      h: size?.h,
    });
  }
  if (media instanceof Api.InputMediaUploadedDocument) {
    const { bytes, name } = takeFile(ctx, call, media.file);
    const attr = media.attributes.find(
      (a): a is Api.DocumentAttributeFilename => a instanceof Api.DocumentAttributeFilename,
    );
    return files.addMedia('document', bytes, {
      mimeType: media.mimeType || 'application/octet-stream',
      fileName: attr?.fileName ?? name,
    });
  }
  if (media instanceof Api.InputMediaPhoto || media instanceof Api.InputMediaDocument) {
    const input = media.id;
    if (!(input instanceof Api.InputPhoto || input instanceof Api.InputDocument))
      throw new RpcError(400, 'MEDIA_EMPTY');
    const rec = files.getMedia(input.id.toString());
    if (!rec || rec.accessHash !== input.accessHash.toString())
      throw new RpcError(400, 'MEDIA_EMPTY');
    return rec;
  }
  throw new RpcError(400, 'MEDIA_INVALID');
}
