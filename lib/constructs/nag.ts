import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag names an IAM5 finding by the resource as it reads it from the template: `<Logical.Arn>` for
 * a GetAtt, the export's name for an import. This renders that name for an ARN token and a suffix, so an
 * acknowledgement names exactly the one finding it accepts.
 */
export function nagResource(scope: IConstruct, arn: string, suffix: string): string {
  const resolved = Stack.of(scope).resolve(arn) as unknown;
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as Record<string, unknown>;
    if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
    if (v['Fn::ImportValue']) return render(v['Fn::ImportValue']);
    if (v.Ref) return `<${v.Ref}>`;
    if (v['Fn::Join'])
      return ((v['Fn::Join'] as [string, unknown[]])[1] ?? [])
        .map(render)
        .join((v['Fn::Join'] as [string])[0]);
    return JSON.stringify(value);
  };
  return `AwsSolutions-IAM5[Resource::${render(resolved)}${suffix}]`;
}

/** Acknowledges findings on a construct, each with its reason. */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  for (const [id, reason] of Object.entries(findings)) Validations.of(scope).acknowledge({ id, reason });
}

export const REASONS = {
  xray: 'X-Ray PutTraceSegments/PutTelemetryRecords accept no resource narrower than *.',
  kmsGrant:
    'CDK grants for SSE-KMS objects, queues and items on the one customer-managed key of this app (GenerateDataKey*, ReEncrypt*); no other key is reachable.',
  s3Read:
    'Object reads (GetObject*, GetBucket*, List*) as granted by CDK, limited to the prefix this function reads.',
  s3Put:
    'Object writes (PutObject*, Abort* for multipart uploads) as granted by CDK, limited to the prefix this function writes.',
  objects:
    'Objects are named by export and record ids, so access is granted on the prefix, not on single keys.',
} as const;
