import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { type Clients, lambdaEntry, secretString } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import { type IdentityStore, type LinkOutcome, linkRegistration, RegistrationSchema } from '../core/linking';

/** The EventBridge event `ESEP Registration` (source `esep.accounts`), as SQS delivers it. */
export const RegistrationEventSchema = z.object({
  source: z.literal('esep.accounts'),
  'detail-type': z.literal('ESEP Registration'),
  detail: RegistrationSchema,
});

export interface LinkDeps {
  readonly identities: IdentityStore;
  readonly secret: () => Promise<string>;
}

/** Links one registration; logs the outcome by user id and reason, never the e-mail. */
export async function handleRegistration(detail: unknown, deps: LinkDeps): Promise<LinkOutcome> {
  const registration = RegistrationSchema.parse(detail);
  const outcome = await linkRegistration(registration, {
    identities: deps.identities,
    secret: await deps.secret(),
  });
  if (outcome.reason === 'AMBIGUOUS_LEGACY_EMAIL') countEvent('AmbiguousLegacyEmail');
  logger.info('registration decided', {
    esepUserId: outcome.esepUserId,
    decision: outcome.decision,
    reason: outcome.reason,
  });
  return outcome;
}

export const makeHandler = (deps: LinkDeps) => {
  const processor = new BatchProcessor(EventType.SQS);
  const record = async (r: SQSRecord) => {
    await handleRegistration(RegistrationEventSchema.parse(JSON.parse(r.body)).detail, deps);
  };
  return (event: SQSEvent, context?: unknown): Promise<SQSBatchResponse> =>
    processPartialResponse(event, record, processor, context ? { context: context as Context } : undefined);
};

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv): LinkDeps {
  const config = readConfig(['table', 'emailKeySecret'], env);
  let secret: Promise<string> | undefined;
  return {
    identities: dynamoIdentities(clients.dynamo, config.table),
    secret: () => {
      secret ??= secretString(clients.secrets, config.emailKeySecret);
      return secret;
    },
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
