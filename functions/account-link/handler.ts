import type { SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { type Clients, lambdaEntry, secretString } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import { s3Objects } from '../adapters/s3-objects';
import type { ObjectStore } from '../core/ports';
import {
  type IdentityStore,
  type LinkOutcome,
  linkDocument,
  linkRegistration,
  RegistrationSchema,
} from '../core/rules/linking';
import { sqsBatchHandler } from '../shared/sqs-batch';

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

/**
 * Links one registration and writes the link document; logs the outcome by user id and reason, never the
 * e-mail. The document is written for the user's stored outcome on every delivery, so a crash between
 * the link and the document heals on redelivery.
 */
export async function handleRegistration(detail: unknown, deps: LinkDeps): Promise<LinkOutcome> {
  const registration = RegistrationSchema.parse(detail);
  const outcome = await linkRegistration(registration, {
    identities: deps.identities,
    secret: await deps.secret(),
  });
  const stored =
    outcome.reason === 'LINK_FROZEN' ? await deps.identities.linkOf(registration.esepUserId) : outcome;
  const link = stored && linkDocument(stored);
  if (link)
    await deps.objects.put(
      deps.migratedBucket,
      link.key,
      `${JSON.stringify(link.document, null, 2)}\n`,
      'application/json',
    );
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
  let secret: Promise<string> | undefined;
  return {
    identities: dynamoIdentities(clients.dynamo, config.table),
    objects: s3Objects(clients.s3),
    migratedBucket: config.migratedBucket,
    secret: () => {
      secret ??= secretString(clients.secrets, config.emailKeySecret);
      return secret;
    },
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
