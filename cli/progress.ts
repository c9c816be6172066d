import { SingleBar } from 'cli-progress';

/**
 * Progress of long work on stderr, as people expect it: the phase ("step 3 of 9: sept-2022 decide-2"),
 * records done of the total with a percentage, the rate and an ETA. On a terminal one bar redrawn in place
 * (cli-progress); otherwise a plain line per phase, and one every HEARTBEAT_MS while a phase lasts, so
 * that nothing stays silent. Counts and phase names only, never record contents.
 */
export interface Progress {
  /** The work entered this phase (one of the phases given, or a note such as a verify page). */
  phase(name: string): void;
  /** Records done so far, of the total. */
  records(done: number): void;
  end(): void;
}

export type ProgressStream = NodeJS.WritableStream | { write(s: string): unknown; isTTY?: boolean };

const HEARTBEAT_MS = 10_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  const minutes = Math.ceil(seconds / 60);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function progress(
  stream: ProgressStream,
  label: string,
  phases: readonly string[],
  total: number,
): Progress {
  const started = Date.now();
  let done = 0;
  let current = '';
  // A phase is one of `phases`, or several under way at once ("a + b": the waves of a plan, each on a
  // thread of its own), or any other text.
  const step = () => {
    const parts = current.split(' + ');
    const at = parts.map((p) => phases.indexOf(p) + 1);
    if (at.some((i) => i === 0)) return current;
    return `${at.length === 1 ? 'step' : 'steps'} ${at.join(' + ')} of ${phases.length}: ${current}`;
  };
  const eta = () => {
    const seconds = (Date.now() - started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    return { rate, eta: done === 0 ? Number.NaN : (total - done) / rate };
  };

  if ((stream as { isTTY?: boolean }).isTTY) {
    const bar = new SingleBar({
      stream: stream as NodeJS.WritableStream,
      format: `[${label}] {phase} {bar} {percentage}% | {value}/{total} records | {speed}/s | ETA {when}`,
      barsize: 20,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
      noTTYOutput: false,
      formatValue: (value, _options, type) =>
        type === 'value' || type === 'total' ? fmt(value) : String(value),
    });
    bar.start(Math.max(total, 1), 0, { phase: '', speed: '0', when: 'unknown' });
    const update = () => {
      const { rate, eta: seconds } = eta();
      bar.update(done, { phase: step(), speed: fmt(rate), when: formatEta(seconds) });
    };
    const timer = setInterval(update, 1000);
    timer.unref();
    return {
      phase(name) {
        current = name;
        update();
      },
      records(n) {
        done = Math.min(n, total);
        update();
      },
      end() {
        clearInterval(timer);
        bar.stop();
      },
    };
  }

  const line = () => {
    const { eta: seconds } = eta();
    const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
    stream.write(
      `[${label}] ${step()} (${pct}%, ${fmt(done)} of ${fmt(total)} records, ETA ${formatEta(seconds)})\n`,
    );
  };
  const timer = setInterval(line, HEARTBEAT_MS);
  timer.unref();
  return {
    phase(name) {
      if (name === current) return;
      current = name;
      line();
    },
    records(n) {
      done = Math.min(n, total);
    },
    end() {
      clearInterval(timer);
    },
  };
}

/** The stages of the waves run, in order, and how many lines each reads (from the manifest). */
export function stagesOf(
  waves: readonly {
    readonly stages: readonly { readonly id: string; readonly steps: readonly { kind: string }[] }[];
  }[],
  records: (kind: string) => number,
): { readonly ids: string[]; readonly lines: Map<string, number>; readonly total: number } {
  const lines = new Map<string, number>();
  for (const wave of waves)
    for (const stage of wave.stages)
      lines.set(
        stage.id,
        stage.steps.reduce((n, step) => n + records(step.kind), 0),
      );
  return { ids: [...lines.keys()], lines, total: [...lines.values()].reduce((a, b) => a + b, 0) };
}
