import { buildApp } from '../lib/app';

// The CDK entry (cdk.json): the app of lib/app.ts, synthesized.
buildApp().app.synth();
