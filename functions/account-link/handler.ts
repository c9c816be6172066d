import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import { s3Objects } from '../adapters/s3-objects';
import { sqsBatchHandler } from '../adapters/sqs';
import { type Clients, emailSecret, lambdaEntry, readConfig } from '../adapters/wiring';
import type { IdentityStore, LinkOutcome, ObjectStore } from '../core/ports';
import { deliverRegistration, RegistrationSchema } from '../core/rules/linking';

/** The EventBridge event `ESEP Registration` (source `esep.accounts`), as SQS delivers it. */
export const RegistrationEventSchema = z.object({
  source: z.literal('esep.accounts'),
  'detail-type': z.literal('ESEP Registration'),
  detail: RegistrationSchema,
});

export interface LinkDeps {
  readonly identities: IdentityStore;
  readonly secret: () => Promise<string>;
  readonly objects: ObjectStore;
  readonly migratedBucket: string;
}

/** Links one registration; logs the outcome by user id and reason, never the e-mail. */
export async function handleRegistration(detail: unknown, deps: LinkDeps): Promise<LinkOutcome> {
  const outcome = await deliverRegistration(detail, deps);
  if (outcome.reason === 'AMBIGUOUS_LEGACY_EMAIL') countEvent('AmbiguousLegacyEmail');
  logger.info('registration decided', {
    esepUserId: outcome.esepUserId,
    decision: outcome.decision,
    reason: outcome.reason,
  });
  return outcome;
}

export const makeHandler = (deps: LinkDeps) =>
  sqsBatchHandler(async (r: SQSRecord) => {
    await handleRegistration(RegistrationEventSchema.parse(JSON.parse(r.body)).detail, deps);
  });

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): LinkDeps {
  const config = readConfig(['table', 'emailKeySecret', 'migratedBucket'], env);
  return {
    identities: dynamoIdentities(clients.dynamo, config.table),
    objects: s3Objects(clients.s3),
    migratedBucket: config.migratedBucket,
    secret: emailSecret(clients.secrets, config.emailKeySecret),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
