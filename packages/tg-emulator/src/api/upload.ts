/**
 * upload.saveFilePart, upload.saveBigFilePart, upload.getFile with
 * Telegram's offset/limit rules (https://core.telegram.org/api/files).
 */
import { Api } from 'telegram';
import type { ApiContext } from './context.js';
import type { RpcCall } from '../rpc.js';
import { RpcError } from '../rpc.js';
import { WorldError } from '../world/users.js';
import { nowSeconds } from '../world/ids.js';

const MB = 1024 * 1024;

function save(
  ctx: ApiContext,
  call: RpcCall,
  fileId: string,
  part: number,
  bytes: Buffer,
  total?: number,
): boolean {
  // every part but the last must be a divisor of 512 KB and a multiple of 1 KB; we cannot know which is last, so only bound the size
  if (!bytes.length) throw new RpcError(400, 'FILE_PART_EMPTY');
  try {
    ctx.world.files.savePart(call.authKey.id, fileId, part, Buffer.from(bytes), total);
  } catch (e) {
    if (e instanceof WorldError) throw new RpcError(400, e.code);
    throw e;
  }
  return true;
}

/** upload.saveFilePart (files ≤ 10 MB). */
export function saveFilePart(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.upload.SaveFilePart,
): boolean {
  return save(ctx, call, req.fileId.toString(), req.filePart, req.bytes);
}

/** upload.saveBigFilePart (files > 10 MB). */
export function saveBigFilePart(
  ctx: ApiContext,
  call: RpcCall,
  req: Api.upload.SaveBigFilePart,
): boolean {
  return save(ctx, call, req.fileId.toString(), req.filePart, req.bytes, req.fileTotalParts);
}

/**
 * upload.getFile. Without `precise`: offset and limit multiples of 4 KB,
 * 1 MB divisible by limit; with `precise`: multiples of 1 KB, limit ≤ 1 MB;
 * in both cases the chunk must not cross a 1 MB boundary.
 * Errors: 400 `OFFSET_INVALID`, `LIMIT_INVALID`, `LOCATION_INVALID`, `FILE_REFERENCE_EXPIRED`.
 */
export function getFile(ctx: ApiContext, req: Api.upload.GetFile): Api.upload.File {
  const loc = req.location;
  if (!(loc instanceof Api.InputDocumentFileLocation || loc instanceof Api.InputPhotoFileLocation))
    throw new RpcError(400, 'LOCATION_INVALID');
  const rec = ctx.world.files.getMedia(loc.id.toString());
  if (!rec || rec.accessHash !== loc.accessHash.toString())
    throw new RpcError(400, 'LOCATION_INVALID');
  if (!Buffer.from(loc.fileReference).equals(Buffer.from(rec.id)))
    throw new RpcError(400, 'FILE_REFERENCE_EXPIRED');
  const offset = Number(req.offset.toString());
  const limit = req.limit;
  const unit = req.precise ? 1024 : 4096;
  if (offset < 0 || offset % (req.precise ? 1024 : 4096) !== 0)
    throw new RpcError(400, 'OFFSET_INVALID');
  if (limit <= 0 || limit > MB || limit % unit !== 0 || (!req.precise && MB % limit !== 0))
    throw new RpcError(400, 'LIMIT_INVALID');
  if (Math.floor(offset / MB) !== Math.floor((offset + limit - 1) / MB))
    throw new RpcError(400, 'LIMIT_INVALID');
  const bytes = ctx.world.files.bytes(rec) ?? Buffer.alloc(0);
  const type =
    rec.kind === 'photo'
      ? new Api.storage.FileJpeg()
      : rec.mimeType === 'application/pdf'
        ? new Api.storage.FilePdf()
        : new Api.storage.FileUnknown();
  return new Api.upload.File({
    type,
    mtime: rec.date || nowSeconds(),
    bytes: bytes.subarray(Math.min(offset, bytes.length), Math.min(offset + limit, bytes.length)),
  });
}
