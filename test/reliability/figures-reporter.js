// Prints the reliability suite's figures (recorded by each part into FIGURES_FILE) when jest is done.
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const FILE = process.env.RELIABILITY_FIGURES ?? join(tmpdir(), 'esep-reliability-figures.ndjson');

class FiguresReporter {
  onRunStart() {
    rmSync(FILE, { force: true });
  }

  onRunComplete() {
    if (!existsSync(FILE)) return;
    const parts = readFileSync(FILE, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const sum = (key) => parts.reduce((n, p) => n + (p[key] ?? 0), 0);
    const byKind = {};
    for (const p of parts)
      for (const [k, v] of Object.entries(p.faultsByKind ?? {})) byKind[k] = (byKind[k] ?? 0) + v;
    const lines = [
      '',
      'Reliability figures',
      `  runs killed with SIGKILL and started again: ${sum('runsKilled')}; runs that then ended identical: ${sum('killedRunsSurvived')}`,
      `  faults injected into S3, DynamoDB and SQS calls: ${sum('faultsInjected')} (${Object.entries(byKind)
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}); runs under faults that ended identical: ${sum('faultRunsSurvived')} of ${sum('faultRuns')}`,
      `  SQS messages delivered twice: ${sum('duplicateDeliveries')}; runs that ended identical: ${sum('duplicateRunsSurvived')}`,
      `  bad inputs tried: ${sum('badInputsTried')}; handled as documented: ${sum('badInputsHandled')}`,
      `  messages dead-lettered: ${sum('deadLettered')}; redriven to a completed run: ${sum('redriven')}`,
      `  log lines and target objects scanned for personal data: ${sum('logLinesScanned')} and ${sum('targetObjectsScanned')}; leaks: ${sum('leaks')}`,
      `  orders of exports, waves and registrations tried: ${sum('ordersTried')} (${sum('runsInOrders')} runs); orders that ended in the same state: ${sum('ordersSame')}`,
      `  records lost: ${sum('recordsLost')}`,
      `  records duplicated: ${sum('recordsDuplicated')}`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

module.exports = FiguresReporter;
