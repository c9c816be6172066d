import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Tests run handlers in-process: keep Powertools quiet (tests that read logs set their own level).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'EsepMigration/test';
process.env.POWERTOOLS_SERVICE_NAME ??= 'esep-migration';
// One synth cache for the many fresh state folders of the tests (and the commands they spawn): entries
// are keyed by a hash of every source, so a shared one is as exact as one per state folder.
process.env.ESEP_SYNTH_CACHE ??= join(tmpdir(), 'esep-test-synth-cache');
// The commands the tests spawn without --state use a state folder of each test worker's own, never the
// checkout's .esep-local (which `npm start` fills): plan reads what that folder holds.
process.env.ESEP_STATE ??= join(tmpdir(), `esep-test-state-${process.pid}`);
