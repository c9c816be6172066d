import type { Kind } from '../rules/kinds';

/** The per-entity workers of the pipeline, each fed by its own queue, and the kinds each one decides. */
export const ENTITIES = ['profile', 'twinspace', 'group', 'portfolio-events'] as const;
export type Entity = (typeof ENTITIES)[number];

/**
 * Every queue of the workflow: the entity workers', the identity stages' (index-identities), the
 * report's parts and verify's partitions.
 */
export const QUEUED = [...ENTITIES, 'identities', 'report', 'verify'] as const;
export type Queued = (typeof QUEUED)[number];

export const ENTITY_OF_KIND: Readonly<Record<Kind, Entity>> = {
  accounts: 'profile',
  activities: 'profile',
  photos: 'profile',
  contacts: 'profile',
  'feed-posts': 'profile',
  mailbox: 'profile',
  'partner-forum': 'profile',
  projects: 'twinspace',
  'twinspace-items': 'twinspace',
  groups: 'group',
  'group-items': 'group',
  portfolio: 'portfolio-events',
  events: 'portfolio-events',
  'learning-lab': 'portfolio-events',
};
