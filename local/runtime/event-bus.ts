import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An event as the local bus keeps it: one JSON line of `<state>/events.ndjson` each. */
export interface LocalEvent {
  readonly time: string;
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
}

/** The Task Resource of Step Functions' EventBridge integration. */
export const PUT_EVENTS = 'arn:aws:states:::events:putEvents';

/**
 * The stand-in for the default event bus: the state machine's `events:putEvents` Task appends its
 * entries to a file of the state folder, where a later command (or a test) reads them.
 */
export function localEventBus(stateDir: string) {
  const file = join(stateDir, 'events.ndjson');
  return {
    file,
    async putEvents(input: unknown): Promise<unknown> {
      const entries = (input as { Entries?: Record<string, unknown>[] }).Entries ?? [];
      const time = new Date().toISOString();
      const lines = entries.map((e) => {
        const detail = typeof e.Detail === 'string' ? JSON.parse(e.Detail) : e.Detail;
        return `${JSON.stringify({ time, source: e.Source, detailType: e.DetailType, detail })}\n`;
      });
      await appendFile(file, lines.join(''));
      return {
        Entries: entries.map((_, i) => ({ EventId: `local-${Date.now()}-${i}` })),
        FailedEntryCount: 0,
      };
    },
    async read(): Promise<LocalEvent[]> {
      const text = await readFile(file, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as LocalEvent);
    },
  };
}
