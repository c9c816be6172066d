import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type Clients, lambdaEntry, WORKFLOW_ENV, workflowDeps } from '../adapters/aws';
import { ConfigError, readConfig } from '../adapters/config';
import { logger } from '../adapters/observability';
import { partitionsFor, ReportFolder, type ReportFolderOptions } from '../adapters/report-folder';
import { exportPrefix } from '../adapters/s3-objects';
import { eachLimited } from '../core/concurrency';
import { type Run, reportPrefix, reportRun, type WorkflowDeps } from '../core/pipeline/steps';
import { decisionsIn, type Summary } from '../core/report/summary';
import { readManifest } from '../core/rules/manifest';
import type { Verification } from '../core/verify/verify';
import { ENV } from '../env';

/** The detail of the `Migration Run Finished` event: counts and outcome, never personal data. */
export interface RunFinished {
  readonly exportId: string;
  readonly waves: readonly string[];
  readonly status: Summary['status'];
  readonly counts: Summary['counts'];
  readonly reasons: Summary['reasons'];
  readonly verified: boolean | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly report: { readonly bucket: string; readonly prefix: string };
}

export interface ReportOutput {
  readonly status: string;
  readonly records: number;
  readonly receipts: number;
  readonly prefix: string;
  readonly event: RunFinished;
}

const CONTENT_TYPES: Record<string, string> = {
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  html: 'text/html; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
};

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Pre-signed GET links to the export's blobs, named as the teacher knew the file (TS-5). A link signed
 * with the function's role lasts at most as long as the role's session, whatever `hours` says.
 */
export function presignedDownloads(
  s3: S3Client,
  exportsBucket: string,
  exportId: string,
  hours: number,
): ReportFolderOptions['downloadUrl'] {
  if (hours <= 0) return undefined;
  return async (d) => {
    const expiresIn = Math.round(hours * 3600);
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket: exportsBucket,
        Key: `${exportPrefix(exportId)}blobs/${d.sha256}`,
        ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(d.fileName)}`,
      }),
      { expiresIn },
    );
    return { url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  };
}

/** Builds the report folder (summary, decisions, receipts, report.html) and puts it into the reports bucket. */
export const makeHandler =
  (deps: {
    workflow: WorkflowDeps;
    reportsBucket: string;
    downloads?: (exportId: string) => ReportFolderOptions['downloadUrl'];
    workDir?: string;
  }) =>
  async (event: { run: Run; verification?: Verification }): Promise<ReportOutput> => {
    const { run } = event;
    const dir = join(deps.workDir ?? tmpdir(), `report-${run.scope.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await rm(dir, { recursive: true, force: true });
    const downloadUrl = deps.downloads?.(run.exportId);
    // Memory stays flat whatever the export's size: more spool partitions for more records.
    const { files } = await readManifest(deps.workflow.source(run.exportId));
    const exportRecords = [...files.values()].reduce((n, f) => n + f.records, 0);
    const folder = new ReportFolder(dir, run.exportId, {
      partitions: partitionsFor(exportRecords),
      ...(downloadUrl ? { downloadUrl } : {}),
    });
    await folder.open();
    try {
      const { summary, receipts } = await reportRun(run, deps.workflow, folder, event.verification);
      // One folder per export and set of waves: a run of one wave never mixes with the report of all.
      const prefix = reportPrefix(run);
      await eachLimited(await filesUnder(dir), 16, async (file) => {
        const key = prefix + relative(dir, file).split('\\').join('/');
        await deps.workflow.objects.put(
          deps.reportsBucket,
          key,
          await readFile(file),
          CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
        );
      });
      const records = decisionsIn(summary.counts);
      logger.info('report written', { exportId: run.exportId, status: summary.status, records, receipts });
      const finished: RunFinished = {
        exportId: run.exportId,
        waves: run.waves,
        status: summary.status,
        counts: summary.counts,
        reasons: summary.reasons,
        verified: summary.verification ? summary.verification.passed : null,
        startedAt: summary.startedAt,
        finishedAt: summary.finishedAt,
        report: { bucket: deps.reportsBucket, prefix },
      };
      return { status: summary.status, records, receipts, prefix, event: finished };
    } catch (error) {
      await folder.abandon();
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'reportsBucket', 'downloadUrlHours'], env);
  const hours = Number(config.downloadUrlHours);
  if (!Number.isFinite(hours) || hours < 0 || hours > 168)
    throw new ConfigError(`${ENV.downloadUrlHours}: expected 0 to 168 hours, got ${config.downloadUrlHours}`);
  return {
    workflow: workflowDeps(clients, config),
    reportsBucket: config.reportsBucket,
    downloads: (exportId: string) => presignedDownloads(clients.s3, config.exportsBucket, exportId, hours),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
