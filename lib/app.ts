import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FEATURE_FLAGS } from './feature-flags';
import { PipelineStack } from './pipeline-stack';
import { readSettings } from './settings';
import { StatefulStack } from './stateful-stack';

/** Builds the CDK app: the stateful stack (RETAIN) and the pipeline stack, checked by cdk-nag. */
export function buildApp(app = new App()): { app: App; stateful: StatefulStack; pipeline: PipelineStack } {
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
  const settings = readSettings(app.node);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stateful = new StatefulStack(app, `EsepMigration-Stateful-${settings.envName}`, {
    env,
    exportRetentionDays: settings.exportRetentionDays,
    tableWarmWrites: settings.tableWarmWrites,
    tableWarmReads: settings.tableWarmReads,
    targetBuckets: settings.targetBuckets,
    description: 'ESEP migration: key, buckets, table and identity key (retained)',
  });
  const pipeline = new PipelineStack(app, `EsepMigration-Pipeline-${settings.envName}`, {
    env,
    settings,
    stateful: stateful.outputs,
    description: 'ESEP migration: state machine, workers, queues, triggers, dashboard and alarms',
  });
  pipeline.addStackDependency(stateful);
  Tags.of(app).add('project', 'esep-migration');
  Tags.of(app).add('environment', settings.envName);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stateful, pipeline };
}
