import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../adapters/observability';
import { partitionsFor, ReportFolder, uploadFolder } from '../adapters/report-folder';
import { type DownloadLink, presignedDownloads } from '../adapters/s3-objects';
import { type Clients, ENV, lambdaEntry, readConfig, WORKFLOW_ENV, workflowDeps } from '../adapters/wiring';
import { ConfigError } from '../core/errors';
import { reportPrefix } from '../core/keys';
import { type RunFinished, reportRun, runFinished } from '../core/pipeline/report-run';
import type { Run, WorkflowDeps } from '../core/pipeline/run';
import type { IdentityCounts, Verification } from '../core/report/summary';
import { decisionsIn } from '../core/report/summary';
import { readManifest } from '../core/rules/manifest';

export interface ReportOutput {
  readonly status: string;
  readonly records: number;
  readonly receipts: number;
  readonly prefix: string;
  readonly event: RunFinished;
}

/** Builds the report folder (summary, decisions, receipts, report.html) and puts it into the reports bucket. */
export const makeHandler =
  (deps: {
    workflow: WorkflowDeps;
    reportsBucket: string;
    downloads?: (exportId: string) => DownloadLink | undefined;
    /** Days the export's files are kept: the receipts' download deadline counts from the run's start. */
    retentionDays?: number;
    workDir?: string;
  }) =>
  async (event: {
    run: Run;
    verification?: Verification;
    identities?: IdentityCounts;
  }): Promise<ReportOutput> => {
    const { run } = event;
    const dir = join(deps.workDir ?? tmpdir(), `report-${run.scope.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await rm(dir, { recursive: true, force: true });
    const downloadUrl = deps.downloads?.(run.exportId);
    // Memory stays flat whatever the export's size: more spool partitions for more records.
    const { files } = await readManifest(deps.workflow.source(run.exportId));
    const exportRecords = [...files.values()].reduce((n, f) => n + f.records, 0);
    const folder = new ReportFolder(dir, run.exportId, {
      partitions: partitionsFor(exportRecords),
      policy: deps.workflow.policy,
      ...(deps.retentionDays
        ? {
            downloadDeadline: new Date(
              Date.parse(run.firstStartedAt ?? run.startedAt) + deps.retentionDays * 86_400_000,
            ).toISOString(),
          }
        : {}),
      ...(downloadUrl ? { downloadUrl } : {}),
    });
    await folder.open();
    try {
      const { summary, receipts } = await reportRun(
        run,
        deps.workflow,
        folder,
        event.verification,
        event.identities,
      );
      // One folder per export and set of waves: a run of one wave never mixes with the report of all.
      const prefix = reportPrefix(run);
      await uploadFolder(dir, deps.workflow.objects, deps.reportsBucket, prefix);
      const records = decisionsIn(summary.counts);
      logger.info('report written', { exportId: run.exportId, status: summary.status, records, receipts });
      const finished = runFinished(summary, { bucket: deps.reportsBucket, prefix });
      return { status: summary.status, records, receipts, prefix, event: finished };
    } catch (error) {
      await folder.abandon();
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig(
    [...WORKFLOW_ENV, 'reportsBucket', 'downloadUrlHours', 'exportRetentionDays'],
    env,
  );
  const hours = Number(config.downloadUrlHours);
  if (!Number.isFinite(hours) || hours < 0 || hours > 168)
    throw new ConfigError(`${ENV.downloadUrlHours}: expected 0 to 168 hours, got ${config.downloadUrlHours}`);
  const days = Number(config.exportRetentionDays);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new ConfigError(
      `${ENV.exportRetentionDays}: expected 1 to 3650 days, got ${config.exportRetentionDays}`,
    );
  return {
    retentionDays: days,
    workflow: workflowDeps(clients, config),
    reportsBucket: config.reportsBucket,
    downloads: (exportId: string) => presignedDownloads(clients.s3, config.exportsBucket, exportId, hours),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
