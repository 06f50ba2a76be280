/**
 * S3's aws-chunked request bodies (x-amz-content-sha256 STREAMING-…: what SDKs send for a stream
 * body, with the checksum in a trailer), which s3rver would store framing and all: decoded here
 * into the plain payload, with the headers S3 gives the stored object (Content-Length from
 * x-amz-decoded-content-length, aws-chunked dropped from Content-Encoding). Chunk signatures and
 * trailing checksums are not checked.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';

/** `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n` → data. */
class AwsChunkedDecoder extends Transform {
  private buf = Buffer.alloc(0);
  private left = 0;
  private state: 'size' | 'data' | 'crlf' | 'trailer' = 'size';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    try {
      this.drain();
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private drain(): void {
    for (;;) {
      if (this.state === 'trailer') return void (this.buf = Buffer.alloc(0));
      if (this.state === 'data') {
        const n = Math.min(this.left, this.buf.length);
        if (n) this.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.left -= n;
        if (this.left) return;
        this.state = 'crlf';
      }
      if (this.state === 'crlf') {
        if (this.buf.length < 2) return;
        this.buf = this.buf.subarray(2);
        this.state = 'size';
      }
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return;
      const size = parseInt(this.buf.subarray(0, eol).toString('latin1').split(';')[0]!, 16);
      if (!Number.isFinite(size)) throw new Error('malformed aws-chunked body');
      this.buf = this.buf.subarray(eol + 2);
      this.left = size;
      this.state = size ? 'data' : 'trailer';
    }
  }
}

export const isAwsChunked = (req: IncomingMessage): boolean => String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');

/** The request as s3rver should see it: the decoded body, with the request's headers, method, url and socket. */
export function decodeAwsChunked(req: IncomingMessage): IncomingMessage {
  const h = req.headers;
  if (h['x-amz-decoded-content-length'] !== undefined) h['content-length'] = String(h['x-amz-decoded-content-length']);
  const enc = String(h['content-encoding'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'aws-chunked');
  if (enc.length) h['content-encoding'] = enc.join(', ');
  else delete h['content-encoding'];
  delete h['transfer-encoding'];
  const body = req.pipe(new AwsChunkedDecoder());
  req.on('error', (e) => body.destroy(e));
  return Object.assign(body, {
    headers: h,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    socket: req.socket,
    connection: req.socket,
  }) as unknown as IncomingMessage;
}
