import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app';
import { HANDLER_METADATA } from '../../lib/constructs/migration-function';

/**
 * The synthesized app, read the way the local runtime and the tests need it: the state machine's
 * definition as plain ASL, and each Lambda function's handler module and environment.
 */
export interface SynthesizedApp {
  readonly templates: { readonly stateful: CfnTemplate; readonly pipeline: CfnTemplate };
  readonly functions: ReadonlyMap<string, FunctionInfo>;
  readonly stateMachineLogicalId: string;
}

export interface CfnTemplate {
  Resources: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }
  >;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

export interface FunctionInfo {
  readonly logicalId: string;
  /** The handler module, relative to the project root (functions/<name>/handler.ts). */
  readonly handler: string;
  readonly environment: Record<string, unknown>;
  readonly timeoutSeconds: number;
  readonly tmpMb: number;
}

/** Synthesizes the CDK app in-process, without bundling, and returns both templates and the functions. */
export function synthesize(context: Record<string, unknown> = {}): SynthesizedApp {
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  // Its own folder, removed afterwards: an App without one leaves a temporary cdk.out behind per synth.
  const outdir = mkdtempSync(join(tmpdir(), 'esep-synth-'));
  try {
    const { app, stateful, pipeline } = buildApp(
      new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } }),
    );
    const assembly = app.synth();
    const template = (stack: Stack) => assembly.getStackArtifact(stack.artifactId).template as CfnTemplate;
    const functions = new Map<string, FunctionInfo>();
    const walk = (c: IConstruct) => {
      const handler = c.node.metadata.find((m) => m.type === HANDLER_METADATA)?.data as string | undefined;
      if (handler) {
        const fn = c as lambda.Function;
        const logicalId = Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnResource);
        const props = template(Stack.of(fn)).Resources[logicalId]?.Properties as {
          Environment?: { Variables?: Record<string, unknown> };
          Timeout?: number;
          EphemeralStorage?: { Size?: number };
        };
        functions.set(logicalId, {
          logicalId,
          handler,
          environment: props.Environment?.Variables ?? {},
          // Lambda's defaults when the template sets none: 3 seconds, 512 MB of /tmp.
          timeoutSeconds: props.Timeout ?? 3,
          tmpMb: props.EphemeralStorage?.Size ?? 512,
        });
      }
      for (const child of c.node.children) walk(child);
    };
    walk(pipeline);
    const sm = Object.entries(template(pipeline).Resources).find(
      ([, r]) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    if (!sm) throw new Error('the pipeline stack has no state machine');
    return {
      templates: { stateful: template(stateful), pipeline: template(pipeline) },
      functions,
      stateMachineLogicalId: sm[0],
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}
