// Tests run handlers in-process: keep Powertools quiet (tests that read logs set their own level).
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_METRICS_NAMESPACE ??= 'EsepMigration/test';
process.env.POWERTOOLS_SERVICE_NAME ??= 'esep-migration';
