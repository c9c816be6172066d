/**
 * The one resolver of CloudFormation intrinsic functions in this project: `Fn::Join`, `Fn::Select`,
 * `Fn::Split`, `Ref`, `Fn::GetAtt` and `Fn::ImportValue`, each reference answered by the caller (the local
 * resources, the state machine's definition, the tests' symbolic names).
 */
export interface IntrinsicAnswers {
  ref(logicalId: string): string;
  getAtt(logicalId: string, attribute: string): string;
  importValue?(name: string): string;
}

export function resolveIntrinsic(value: unknown, answers: IntrinsicAnswers): string {
  const resolve = (v: unknown): string => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
    const o = (v ?? {}) as Record<string, unknown>;
    if (o.Ref !== undefined) return answers.ref(String(o.Ref));
    if (o['Fn::GetAtt']) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return answers.getAtt(id, attr);
    }
    if (o['Fn::ImportValue'] !== undefined) {
      if (!answers.importValue) throw new Error(`cannot resolve an import here: ${short(v)}`);
      return answers.importValue(resolve(o['Fn::ImportValue']));
    }
    if (o['Fn::Join']) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if (o['Fn::Select']) {
      const [index, list] = o['Fn::Select'] as [number | string, unknown];
      const items = Array.isArray(list) ? list.map(resolve) : split(list);
      return items[Number(index)] ?? '';
    }
    throw new Error(`cannot resolve ${short(v)}`);
  };
  const split = (v: unknown): string[] => {
    const o = (v ?? {}) as Record<string, unknown>;
    if (o['Fn::Split']) {
      const [sep, source] = o['Fn::Split'] as [string, unknown];
      return resolve(source).split(sep);
    }
    throw new Error(`cannot split ${short(v)}`);
  };
  return resolve(value);
}

const short = (value: unknown) => JSON.stringify(value).slice(0, 120);

/** The pseudo parameters of a region and account. */
export const pseudoParameters = (region: string, account: string): Readonly<Record<string, string>> => ({
  'AWS::Region': region,
  'AWS::AccountId': account,
  'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com',
});
