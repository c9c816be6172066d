import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type Clients, lambdaEntry, WORKFLOW_ENV, workflowDeps } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { logger } from '../adapters/observability';
import { ReportFolder } from '../adapters/report-folder';
import { eachLimited } from '../adapters/retry';
import { type Run, reportPrefix, reportRun, type WorkflowDeps } from '../core/workflow';

export interface ReportOutput {
  readonly status: string;
  readonly records: number;
  readonly receipts: number;
  readonly prefix: string;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Builds the report folder (summary, decisions, receipts) and puts it into the reports bucket. */
export const makeHandler =
  (deps: { workflow: WorkflowDeps; reportsBucket: string; workDir?: string }) =>
  async (event: { run: Run }): Promise<ReportOutput> => {
    const { run } = event;
    const dir = join(deps.workDir ?? tmpdir(), `report-${run.scope.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    await rm(dir, { recursive: true, force: true });
    const folder = new ReportFolder(dir, run.exportId, 16);
    await folder.open();
    try {
      const { summary, receipts } = await reportRun(run, deps.workflow, folder);
      // One folder per export and set of waves: a run of one wave never mixes with the report of all.
      const prefix = reportPrefix(run);
      await eachLimited(await filesUnder(dir), 16, async (file) => {
        const key = prefix + relative(dir, file).split('\\').join('/');
        await deps.workflow.objects.put(
          deps.reportsBucket,
          key,
          await readFile(file),
          file.endsWith('.json') ? 'application/json' : 'application/x-ndjson',
        );
      });
      const records = Object.values(summary.counts).reduce(
        (n, c) => n + c.migrated + c.dropped + c.quarantined,
        0,
      );
      logger.info('report written', { exportId: run.exportId, status: summary.status, records, receipts });
      return { status: summary.status, records, receipts, prefix };
    } catch (error) {
      await folder.abandon();
      throw error;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'reportsBucket'], env);
  return { workflow: workflowDeps(clients, config), reportsBucket: config.reportsBucket };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
