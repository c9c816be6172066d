import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

/**
 * Lines gathered in memory and handed to the stream in large writes: one system call per batch rather
 * than per line. `write` returns a promise only when it had to flush (back-pressure).
 */
export class BatchedWriter {
  private parts: string[] = [];
  private size = 0;
  readonly stream: WriteStream;

  constructor(
    path: string,
    private readonly batchChars: number,
  ) {
    this.stream = createWriteStream(path, { highWaterMark: Math.max(batchChars, 16 * 1024) });
  }

  write(text: string): void | Promise<void> {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.batchChars) return this.flush();
  }

  /** One wait for 'drain' however many writes wait on it (a record spooled to many members' receipts). */
  private draining?: Promise<void>;

  async flush(): Promise<void> {
    if (this.size === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok)
      this.draining ??= once(this.stream, 'drain').then(() => {
        this.draining = undefined;
      });
    await this.draining;
  }

  async close(): Promise<void> {
    await this.flush();
    const closed = once(this.stream, 'close');
    this.stream.end();
    await closed;
  }
}
