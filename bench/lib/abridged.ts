/**
 * Client side of the MTProto abridged TCP transport (after the 0xef tag):
 * length in 4-byte words, 1 byte when < 0x7f, else 0x7f + 3 bytes.
 * Source: https://core.telegram.org/mtproto/mtproto-transports#abridged
 */
export class AbridgedFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onPacket: (packet: Buffer) => void) {}

  /** Consumes socket bytes; emits complete packets. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const b = this.buf;
      if (b.length < 1) return;
      let head = 1;
      let len = b[0]! * 4;
      if (b[0]! >= 0x7f) {
        if (b.length < 4) return;
        head = 4;
        len = b.readUIntLE(1, 3) * 4;
      }
      if (b.length < head + len) return;
      this.buf = b.subarray(head + len);
      this.onPacket(b.subarray(head, head + len));
    }
  }

  /** Frames one packet (length a multiple of 4). */
  encode(payload: Buffer): Buffer {
    const words = payload.length >> 2;
    const head = words < 0x7f ? 1 : 4;
    const out = Buffer.allocUnsafe(head + payload.length);
    if (head === 1) out[0] = words;
    else {
      out[0] = 0x7f;
      out.writeUIntLE(words, 1, 3);
    }
    payload.copy(out, head);
    return out;
  }
}
