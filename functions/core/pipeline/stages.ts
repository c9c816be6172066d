import { createHash } from 'node:crypto';
import { AUDIENCE_OF, INDEXES_BEFORE_DECIDING, type IndexName, type Kind, PARENTS } from '../rules/kinds';
import type { CompiledPolicy } from '../rules/policy';

/**
 * The order between kinds, written once as data: per wave, stages that run one after another; the
 * steps inside a stage are independent of each other. The local plan, the local pipeline and the AWS
 * state machine are all built from this plan.
 */
export type Step =
  /** A pass over a kind file that builds what a later stage needs (group activity, eTwinning e-mails). */
  | { readonly op: 'index'; readonly index: IndexName; readonly kind: Kind }
  /** A pass that decides every line of a kind file. */
  | { readonly op: 'decide'; readonly kind: Kind };

export type { IndexName };

export interface Stage {
  readonly id: string;
  readonly steps: readonly Step[];
}

export interface WavePlan {
  readonly wave: string;
  readonly kinds: readonly Kind[];
  readonly stages: readonly Stage[];
}

const depth = (kind: Kind): number => {
  // After the record it follows (PARENTS), or whose people it takes (AUDIENCE_OF).
  const before = PARENTS[kind] ?? AUDIENCE_OF[kind];
  return before ? depth(before.kind) + 1 : 0;
};

/** Builds the stage plan of every wave of a policy, in wave order. */
export function buildStagePlan(policy: CompiledPolicy): WavePlan[] {
  return policy.policy.waves.map(({ id: wave, kinds }) => {
    const stages: Stage[] = [];
    const indexSteps: Step[] = [];
    for (const kind of kinds) {
      const needs = INDEXES_BEFORE_DECIDING[kind];
      if (needs) indexSteps.push({ op: 'index', index: needs.index, kind: needs.kind });
    }
    if (indexSteps.length > 0) stages.push({ id: `${wave}/index`, steps: indexSteps });
    const layers: Kind[][] = [];
    for (const kind of kinds) {
      const d = depth(kind);
      layers[d] = [...(layers[d] ?? []), kind];
    }
    layers.forEach((layer, i) => {
      stages.push({ id: `${wave}/decide-${i + 1}`, steps: layer.map((kind) => ({ op: 'decide', kind })) });
    });
    return { wave, kinds, stages };
  });
}

/** The wave plans to run for `--wave <id>|all`; undefined when the wave is unknown. */
export function selectWaves(plan: readonly WavePlan[], wave: string): WavePlan[] | undefined {
  if (wave === 'all') return [...plan];
  const one = plan.find((w) => w.wave === wave);
  return one ? [one] : undefined;
}

/** A state of the state machine from a stage id (`sept-2022/decide-1` → `sept-2022 decide-1 split`). */
export const stageStateName = (stageId: string, what: string) => `${stageId.replace('/', ' ')} ${what}`;

/** The report's stages, after the waves (core/pipeline/report-parts). */
export const REPORT_STAGES = { parts: 'report/parts', receipts: 'report/receipts' } as const;
export type ReportStage = (typeof REPORT_STAGES)[keyof typeof REPORT_STAGES];

/**
 * The run among the runs of its scope (its waves, its start): its identity stages and its report are its
 * own, so a run of the same scope again links and reports afresh.
 */
export const runIdOf = (run: { readonly waves: readonly string[]; readonly startedAt: string }) =>
  createHash('sha256')
    .update(`${run.waves.join('+')}|${run.startedAt}`)
    .digest('hex')
    .slice(0, 12);

/** The stage whose markers a state of the workflow waits on: an identity or report stage is this run's. */
export const markerStage = (
  run: { readonly waves: readonly string[]; readonly startedAt: string },
  stage: string,
) => (stage.startsWith('report/') || stage.startsWith('identities/') ? `${stage}@${runIdOf(run)}` : stage);

/**
 * The run's identity stages, before the waves, whatever they are (ID-6): every account of the export is
 * indexed, then each chunk of accounts links what it matches (pipeline/identities).
 */
export const IDENTITY_STAGES = [
  { id: 'identities/index', steps: [{ op: 'identify', kind: 'accounts' }] },
  { id: 'identities/link', steps: [{ op: 'link', kind: 'accounts' }] },
] as const;
export type IdentityOp = (typeof IDENTITY_STAGES)[number]['steps'][number]['op'];

/** A run's stages that work kind files, in the order they run: the identity stages, then its waves'. */
export const stagesInOrder = (
  plan: readonly WavePlan[],
  waves: readonly string[],
): readonly { readonly id: string; readonly steps: readonly { readonly kind: Kind }[] }[] => [
  ...IDENTITY_STAGES,
  ...waves.flatMap((w) => plan.find((p) => p.wave === w)?.stages ?? []),
];

/** The stage of those that works a kind last: its split sends the kind's pieces themselves (pipeline/split). */
export const lastStageOf = (stages: ReturnType<typeof stagesInOrder>, kind: Kind): string | undefined =>
  stages.findLast((st) => st.steps.some((step) => step.kind === kind))?.id;

export const isReportStage = (stage: string): stage is ReportStage =>
  (Object.values(REPORT_STAGES) as string[]).includes(stage);
