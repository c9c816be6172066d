import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The reliability suite runs at two scales: small inside `npm test`, full under `npm run
 * test:reliability` (RELIABILITY=full): more kills, more faults, larger exports. Every part records its
 * figures; the suite's reporter prints their totals at the end.
 */
export const FULL = process.env.RELIABILITY === 'full';
export const scale = <T>(small: T, full: T): T => (FULL ? full : small);

export const FIGURES_FILE =
  process.env.RELIABILITY_FIGURES ?? join(tmpdir(), 'esep-reliability-figures.ndjson');

export interface Figures {
  runsKilled?: number;
  killedRunsSurvived?: number;
  faultsInjected?: number;
  faultsByKind?: Record<string, number>;
  faultRunsSurvived?: number;
  faultRuns?: number;
  duplicateDeliveries?: number;
  duplicateRunsSurvived?: number;
  badInputsTried?: number;
  badInputsHandled?: number;
  deadLettered?: number;
  redriven?: number;
  ordersTried?: number;
  runsInOrders?: number;
  ordersSame?: number;
  recordsLost?: number;
  recordsDuplicated?: number;
  logLinesScanned?: number;
  targetObjectsScanned?: number;
  leaks?: number;
}

export function recordFigures(part: string, figures: Figures): void {
  appendFileSync(FIGURES_FILE, `${JSON.stringify({ part, ...figures })}\n`);
}

/**
 * Records lost and duplicated: decision lines of a disturbed run against the undisturbed ones (a
 * multiset difference each way), and target objects that an undisturbed run does not have.
 */
export function lossAndDuplication(
  expected: readonly string[],
  actual: readonly string[],
): { lost: number; duplicated: number } {
  const count = new Map<string, number>();
  for (const line of expected) count.set(line, (count.get(line) ?? 0) + 1);
  let duplicated = 0;
  for (const line of actual) {
    const n = count.get(line) ?? 0;
    if (n > 0) count.set(line, n - 1);
    else duplicated++;
  }
  const lost = [...count.values()].reduce((a, b) => a + b, 0);
  return { lost, duplicated };
}
