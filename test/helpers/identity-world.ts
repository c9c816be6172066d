import { forgetAccount } from '../../functions/core/pipeline/erase';
import { type IndexDeps, indexIdentities } from '../../functions/core/pipeline/identities';
import type { Run } from '../../functions/core/pipeline/run';
import { supersededWithdrawer } from '../../functions/core/pipeline/withdraw';
import type { ExportSource } from '../../functions/core/ports';
import {
  deliverRegistration,
  deliverSupportLink,
  withdrawIndexedAccount,
} from '../../functions/core/rules/linking';
import { compilePolicy } from '../../functions/core/rules/policy';
import { buildExport, type ExportSpec, memorySource } from './memory-export';
import { memoryIdentities, memoryObjects, memoryStore } from './memory-ports';

export const SECRET = 'test-secret';
export const AT = '2022-06-15T09:00:00+02:00';

/** A legacy account line, with the credentials an export may carry (ID-1 drops them). */
export const account = (
  id: string,
  platform: 'etwinning' | 'seg' | string,
  email: string,
  over: object = {},
) => ({
  id,
  platform,
  email,
  firstName: 'Ana',
  lastName: 'Silva',
  country: 'PT',
  registeredAt: '2012-01-01T00:00:00Z',
  organisations: [{ id: 'o1', name: 'Escola', country: 'PT', role: 'teacher' }],
  passwordHash: '$2y$10$secret',
  login: 'ana',
  ...over,
});

/**
 * The identity side of the pipeline over in-memory ports: exports indexed as a run's first step does,
 * registrations and links by hand delivered as the account-link function does.
 */
export function identityWorld() {
  const ids = memoryIdentities();
  const objects = memoryObjects();
  const pipeline = memoryStore();
  const sources = new Map<string, ExportSource>();
  const policy = compilePolicy();
  const target = { store: pipeline.store, objects: objects.store, migratedBucket: 'migrated' };
  const deps: IndexDeps = {
    workflow: {
      policy,
      store: pipeline.store,
      objects: objects.store,
      exportsBucket: 'exports',
      source: (id) => sources.get(id) as ExportSource,
    },
    identities: ids.store,
    secret: async () => SECRET,
    objects: objects.store,
    migratedBucket: 'migrated',
    withdrawSuperseded: supersededWithdrawer(target),
  };
  const linkDeps = { identities: ids.store, objects: objects.store, migratedBucket: 'migrated' };
  return {
    ...ids,
    objects,
    pipeline,
    /** Indexes an export (its accounts), as a run's identity stages do. */
    async index(spec: ExportSpec & { exportId: string }) {
      sources.set(spec.exportId, memorySource(spec.exportId, buildExport(spec)));
      const run: Run = {
        exportId: spec.exportId,
        scope: `${spec.exportId}@p`,
        waves: ['2023'],
        startedAt: AT,
      };
      return indexIdentities(run, deps);
    },
    /** What withdrawing a replaced run of `exportId` does for an account it staged (withdraw.ts). */
    withdrawAccount: (accountId: string, exportId: string, platform: 'etwinning' | 'seg' = 'etwinning') =>
      withdrawIndexedAccount({ platform, accountId }, exportId, linkDeps),
    /** What `forget` does for an account (core/pipeline/erase): the erasure, then its link taken back. */
    erase: (accountId: string, platform: 'etwinning' | 'seg' = 'etwinning') =>
      forgetAccount(
        { platform, accountId, ticket: 'T-1' },
        { ...target, workflow: deps.workflow, identities: ids.store, secret: async () => SECRET },
      ),
    register: (esepUserId: string, email: string) =>
      deliverRegistration(
        { esepUserId, email, registeredAt: AT },
        { ...linkDeps, secret: async () => SECRET },
      ),
    linkByHand: (esepUserId: string, legacyAccountId: string, over: object = {}) =>
      deliverSupportLink(
        { esepUserId, legacyAccountId, reason: 'checked with the school', by: 'nss-pt', ...over },
        linkDeps,
      ),
    /** The end state: each user's link as `platform:account` (or its pending reason), sorted by user. */
    state() {
      return Object.fromEntries(
        [...ids.links.values()]
          .sort((a, b) => a.esepUserId.localeCompare(b.esepUserId))
          .map((l) => [l.esepUserId, l.account ? `${l.account.platform}:${l.account.accountId}` : l.reason]),
      );
    },
    /** The link document of a user, as the importer reads it. */
    linkDocument(esepUserId: string) {
      const bytes = objects.objects.get(`migrated/links/${esepUserId}.json`);
      return bytes && JSON.parse(bytes.toString('utf8'));
    },
  };
}
