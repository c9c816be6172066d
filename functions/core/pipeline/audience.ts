import { eachLimited } from '../concurrency';
import { workKeys } from '../keys';
import type { ObjectStore } from '../ports';
import type { Kind } from '../rules/kinds';

/**
 * The people of the records whose audience other records take (rules/kinds AUDIENCE_OF: an event's
 * organiser and participants, for its Learning Lab), one small object per record in the run's working
 * area: a record's people may be many (up to `membersPerRecord`), more than a table item holds. Written
 * by the chunks that decide them, read by the later stage's chunks, by id.
 */
export interface Audience {
  put(
    kind: Kind,
    entries: readonly { readonly id: string; readonly people: readonly string[] }[],
  ): Promise<void>;
  get(kind: Kind, ids: readonly string[]): Promise<Map<string, string[]>>;
}

/** Objects read or written at once (below the SDK's 50 sockets, shared with the chunk's other work). */
const IN_FLIGHT = 16;

export function audienceIn(objects: ObjectStore, bucket: string, scope: string): Audience {
  return {
    async put(kind, entries) {
      await eachLimited(entries, IN_FLIGHT, ({ id, people }) =>
        objects.put(bucket, workKeys.people(scope, kind, id), JSON.stringify(people), 'application/json'),
      );
    },
    async get(kind, ids) {
      const out = new Map<string, string[]>();
      await eachLimited(ids, IN_FLIGHT, async (id) => {
        const text = await objects.getText(bucket, workKeys.people(scope, kind, id));
        if (text) out.set(id, JSON.parse(text) as string[]);
      });
      return out;
    },
  };
}
