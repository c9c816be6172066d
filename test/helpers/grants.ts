import type { SynthesizedApp } from '../../local/cloudformation/synth';

type Statement = { Effect?: string; Action: string | string[]; Resource: unknown };

/** The statements of every policy attached to a function's role, and their actions, from the template. */
export function permissions(
  synth: SynthesizedApp,
  handler: string,
): { actions: string[]; statements: Statement[] } {
  const resources = synth.templates.pipeline.Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  const fn = [...synth.functions.values()].find((f) => f.handler === `functions/${handler}/handler.ts`);
  if (!fn) throw new Error(`no function ${handler}`);
  const role = resources[fn.logicalId]?.Properties?.Role as { 'Fn::GetAtt': [string] } | undefined;
  const roleRef = role?.['Fn::GetAtt'][0];
  const statements = Object.values(resources)
    .filter(
      (r) =>
        // CDK moves statements past a role's inline policy size into an overflow managed policy.
        (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') &&
        ((r.Properties?.Roles ?? []) as { Ref: string }[]).some((x) => x.Ref === roleRef),
    )
    .flatMap(
      (r) => ((r.Properties?.PolicyDocument ?? { Statement: [] }) as { Statement: Statement[] }).Statement,
    );
  return { actions: [...new Set(statements.flatMap((s) => [s.Action].flat()))].sort(), statements };
}

/**
 * The one table of the IAM actions an AWS operation needs, for the operations the functions call
 * (limits.json `calls`); an operation not listed needs the action of its own name.
 */
export const IAM_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  's3:HeadObject': ['s3:GetObject'],
  's3:CopyObject': ['s3:GetObject', 's3:PutObject'],
  's3:ListObjectsV2': ['s3:ListBucket'],
  'sqs:SendMessageBatch': ['sqs:SendMessage'],
  'sqs:ChangeMessageVisibilityBatch': ['sqs:ChangeMessageVisibility'],
  'sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
};

/** Whether an action is allowed by one of the granted patterns (`s3:GetObject*`, `s3:List*`). */
export const allows = (granted: readonly string[], action: string) =>
  granted.some((g) =>
    new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(action),
  );
