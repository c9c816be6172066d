import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * The one way to instrument: Powertools singletons. Service name, log level and namespace come from
 * POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL and POWERTOOLS_METRICS_NAMESPACE (set by the stack).
 * Log ids and counts only: never an e-mail address, a name or a record's content.
 */
export const logger = new Logger();
export const metrics = new Metrics();

/** EMF metric per kind and decision (the dashboard's "decisions" graphs). */
export function countDecisions(
  kind: string,
  counts: { migrated: number; dropped: number; quarantined: number },
): void {
  for (const decision of ['migrated', 'dropped', 'quarantined'] as const) {
    if (counts[decision] === 0) continue;
    const single = metrics.singleMetric();
    single.addDimensions({ kind, decision });
    single.addMetric('Decisions', MetricUnit.Count, counts[decision]);
  }
}

/** A named count without dimensions (for example AmbiguousLegacyEmail for the support service). */
export function countEvent(name: string, n = 1): void {
  const single = metrics.singleMetric();
  single.addMetric(name, MetricUnit.Count, n);
}
