import type { ProgressEvent } from '../functions/core/pipeline/decide-export';

/**
 * Progress of long work on stderr: one line rewritten in place on a terminal (stage, kind, lines,
 * rate), a plain line per finished step otherwise. Never prints record contents.
 */
export function progressReporter(
  stream: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean },
  label: string,
) {
  const tty = Boolean(stream.isTTY);
  const started = Date.now();
  let lastDraw = 0;
  let total = 0;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return {
    onProgress(e: ProgressEvent) {
      const what =
        e.step.op === 'index' ? `indexing ${e.step.kind} (${e.step.index})` : `deciding ${e.step.kind}`;
      const now = Date.now();
      const rate = Math.round((total + e.lines) / Math.max((now - started) / 1000, 0.001));
      if (e.done) total += e.lines;
      if (tty) {
        if (!e.done && now - lastDraw < 100) return;
        lastDraw = now;
        stream.write(`\r\x1b[2K[${label}] ${e.stage} ${what}: ${fmt(e.lines)} lines, ${fmt(rate)} lines/s`);
      } else if (e.done) {
        stream.write(`[${label}] ${e.stage} ${what}: ${fmt(e.lines)} lines\n`);
      }
    },
    end() {
      if (tty) stream.write('\r\x1b[2K');
    },
  };
}
