import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { countEvent, logger } from '../adapters/observability';
import { s3Objects } from '../adapters/s3-objects';
import { sqsBatchHandler } from '../adapters/sqs';
import { type Clients, emailSecret, lambdaEntry, readConfig } from '../adapters/wiring';
import { LinkRefusedError } from '../core/errors';
import type { LinkOutcome } from '../core/ports';
import {
  deliverRegistration,
  deliverSupportLink,
  LINK_EVENTS,
  type LinkDocumentDeps,
  RegistrationSchema,
  SupportLinkSchema,
} from '../core/rules/linking';

/** The events the function takes (docs/operators.md), as EventBridge delivers them through SQS. */
export const LinkEventSchema = z.discriminatedUnion('detail-type', [
  z.object({
    source: z.literal(LINK_EVENTS.registration.source),
    'detail-type': z.literal(LINK_EVENTS.registration.detailType),
    detail: RegistrationSchema,
  }),
  z.object({
    source: z.literal(LINK_EVENTS.supportLink.source),
    'detail-type': z.literal(LINK_EVENTS.supportLink.detailType),
    detail: SupportLinkSchema,
  }),
]);

export interface LinkDeps extends LinkDocumentDeps {
  readonly secret: () => Promise<string>;
}

const logged = (outcome: LinkOutcome, what: string): LinkOutcome => {
  if (outcome.reason === 'AMBIGUOUS_LEGACY_EMAIL') countEvent('AmbiguousLegacyEmail');
  logger.info(what, { esepUserId: outcome.esepUserId, decision: outcome.decision, reason: outcome.reason });
  return outcome;
};

/** Links one registration; logs the outcome by user id and reason, never the e-mail. */
export async function handleRegistration(detail: unknown, deps: LinkDeps): Promise<LinkOutcome> {
  return logged(await deliverRegistration(detail, deps), 'registration decided');
}

/** The support desk's link by hand: audited in the state table; a refusal is logged, never retried. */
export async function handleSupportLink(detail: unknown, deps: LinkDeps): Promise<LinkOutcome> {
  return logged(await deliverSupportLink(detail, deps), 'linked by the support desk');
}

export const makeHandler = (deps: LinkDeps) =>
  sqsBatchHandler(async (r: SQSRecord) => {
    const event = LinkEventSchema.parse(JSON.parse(r.body));
    if (event['detail-type'] === LINK_EVENTS.registration.detailType) {
      await handleRegistration(event.detail, deps);
      return;
    }
    try {
      await handleSupportLink(event.detail, deps);
    } catch (error) {
      // A refused link stays refused on every delivery: say why, do not send it round again.
      if (!(error instanceof LinkRefusedError)) throw error;
      countEvent('SupportLinkRefused');
      logger.warn('support link refused', { esepUserId: event.detail.esepUserId, why: error.message });
    }
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
