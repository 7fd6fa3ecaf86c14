import type { MediaRecord } from './types.js';
import { nowSeconds, randomLong } from './ids.js';
import { WorldError } from './users.js';

/** Parts of one upload in progress (`upload.saveFilePart` / `upload.saveBigFilePart`). */
interface Upload {
  parts: Map<number, Buffer>;
  /** file_total_parts of saveBigFilePart; undefined for small files. */
  totalParts?: number;
  /** Last touch, ms. */
  touched: number;
}

/**
 * Stored file bytes (photos, documents) and uploads in progress.
 * Uploads are keyed by the uploading auth key and the client's file_id
 * (https://core.telegram.org/api/files).
 */
export class FileStore {
  private readonly files = new Map<string, Buffer>();
  private readonly media = new Map<string, MediaRecord>();
  private readonly uploads = new Map<string, Upload>();

  /** Stores `bytes` and returns a media record (not yet attached to a message). */
  addMedia(
    kind: 'photo' | 'document',
    bytes: Buffer,
    opts: { mimeType: string; fileName?: string; w?: number; h?: number },
  ): MediaRecord {
    const id = randomLong();
    const fileKey = `${kind}:${id}`;
    this.files.set(fileKey, bytes);
    const rec: MediaRecord = {
      kind,
      id,
      accessHash: randomLong(),
      fileKey,
      mimeType: opts.mimeType,
      size: bytes.length,
      date: nowSeconds(),
    };
    if (opts.fileName) rec.fileName = opts.fileName;
    if (opts.w) rec.w = opts.w;
    if (opts.h) rec.h = opts.h;
    this.media.set(id, rec);
    return rec;
  }

  /** Media record by photo/document id. */
  getMedia(id: string): MediaRecord | undefined {
    return this.media.get(id);
  }

  /** File bytes of a media record. */
  bytes(rec: MediaRecord): Buffer | undefined {
    return this.files.get(rec.fileKey);
  }

  /**
   * Saves one part. `totalParts` is given for big files.
   * Throws `FILE_PART_INVALID` / `FILE_PARTS_INVALID` like Telegram.
   */
  savePart(owner: string, fileId: string, part: number, bytes: Buffer, totalParts?: number): void {
    if (part < 0 || part > 7999) throw new WorldError('FILE_PART_INVALID', `part ${part}`);
    if (totalParts !== undefined && (totalParts < 1 || totalParts > 8000 || part >= totalParts))
      throw new WorldError('FILE_PARTS_INVALID', `total ${totalParts}`);
    if (bytes.length > 512 * 1024)
      throw new WorldError('FILE_PART_TOO_BIG', `${bytes.length} bytes`);
    const key = `${owner}:${fileId}`;
    let up = this.uploads.get(key);
    if (!up) {
      up = { parts: new Map(), touched: Date.now() };
      this.uploads.set(key, up);
    }
    up.parts.set(part, Buffer.from(bytes));
    up.touched = Date.now();
    if (totalParts !== undefined) up.totalParts = totalParts;
    this.gcUploads();
  }

  /**
   * Assembles an upload of `parts` parts and forgets it.
   * Throws `FILE_PART_<n>_MISSING` for the first missing part, `FILE_PARTS_INVALID` for a bad count.
   */
  takeUpload(owner: string, fileId: string, parts: number): Buffer {
    const key = `${owner}:${fileId}`;
    const up = this.uploads.get(key);
    if (parts < 1 || parts > 8000) throw new WorldError('FILE_PARTS_INVALID', `parts ${parts}`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < parts; i++) {
      const c = up?.parts.get(i);
      if (!c) throw new WorldError(`FILE_PART_${i}_MISSING`, `part ${i} missing`);
      chunks.push(c);
    }
    this.uploads.delete(key);
    return Buffer.concat(chunks);
  }

  private gcUploads(): void {
    if (this.uploads.size < 1000) return;
    const cutoff = Date.now() - 3_600_000;
    for (const [k, u] of this.uploads) if (u.touched < cutoff) this.uploads.delete(k);
  }

  toJSON(): { media: MediaRecord[]; files: Array<[string, string]> } {
    return {
      media: [...this.media.values()],
      files: [...this.files.entries()].map(([k, v]) => [k, v.toString('base64')]),
    };
  }

  load(data: { media: MediaRecord[]; files: Array<[string, string]> }): void {
    for (const m of data.media) this.media.set(m.id, m);
    for (const [k, v] of data.files) this.files.set(k, Buffer.from(v, 'base64'));
  }
}
