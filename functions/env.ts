import type { Entity } from './core/pipeline/workers';

/**
 * Names of the environment variables of the Lambda functions: one list, used by the CDK construct that
 * sets them and by the handlers that read them (once, at start-up).
 */
export const ENV = {
  exportsBucket: 'EXPORTS_BUCKET',
  migratedBucket: 'MIGRATED_BUCKET',
  reportsBucket: 'REPORTS_BUCKET',
  table: 'STATE_TABLE',
  /** The migration policy as JSON (validated at start-up). */
  policy: 'MIGRATION_POLICY',
  /** The Secrets Manager secret holding the identity index's HMAC key. */
  emailKeySecret: 'EMAIL_KEY_SECRET_ARN',
  /** Hours that a receipt's pre-signed download links stay valid; 0 for none (the local runtime). */
  downloadUrlHours: 'DOWNLOAD_URL_HOURS',
  queueProfile: 'QUEUE_URL_PROFILE',
  queueTwinspace: 'QUEUE_URL_TWINSPACE',
  queueGroup: 'QUEUE_URL_GROUP',
  queuePortfolioEvents: 'QUEUE_URL_PORTFOLIO_EVENTS',
} as const;

export type EnvKey = keyof typeof ENV;

export const QUEUE_ENV: Readonly<Record<Entity, EnvKey>> = {
  profile: 'queueProfile',
  twinspace: 'queueTwinspace',
  group: 'queueGroup',
  'portfolio-events': 'queuePortfolioEvents',
};
