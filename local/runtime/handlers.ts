import type { Clients } from '../../functions/adapters/wiring';
import type { TaskHandler } from './state-machine';

/** What the local runtime takes of a function's handler module (functions/<name>/handler.ts). */
export interface HandlerModule {
  makeHandler(deps: unknown): TaskHandler;
  depsFrom(clients: Clients, env: NodeJS.ProcessEnv): unknown;
}

/**
 * Every function's handler module by its path in the synthesized app, loaded when first asked. Named here
 * rather than required by path so that the command line's build (tools/build-cli.mjs) holds them: one
 * copy of every module in the process, whichever way it was started.
 */
const HANDLERS: Readonly<Record<string, () => HandlerModule>> = {
  'functions/account-link/handler.ts': () => require('../../functions/account-link/handler'),
  'functions/group/handler.ts': () => require('../../functions/group/handler'),
  'functions/index-identities/handler.ts': () => require('../../functions/index-identities/handler'),
  'functions/portfolio-events/handler.ts': () => require('../../functions/portfolio-events/handler'),
  'functions/profile/handler.ts': () => require('../../functions/profile/handler'),
  'functions/progress/handler.ts': () => require('../../functions/progress/handler'),
  'functions/report/handler.ts': () => require('../../functions/report/handler'),
  'functions/rollback/handler.ts': () => require('../../functions/rollback/handler'),
  'functions/run-status/handler.ts': () => require('../../functions/run-status/handler'),
  'functions/split/handler.ts': () => require('../../functions/split/handler'),
  'functions/summary/handler.ts': () => require('../../functions/summary/handler'),
  'functions/twinspace/handler.ts': () => require('../../functions/twinspace/handler'),
  'functions/validate/handler.ts': () => require('../../functions/validate/handler'),
  'functions/verify/handler.ts': () => require('../../functions/verify/handler'),
};

/** The handler paths it knows (a test compares them with the handlers under functions/). */
export const HANDLER_PATHS: readonly string[] = Object.keys(HANDLERS);

/** The handler module of a function of the synthesized app (its `handler` path). */
export function handlerModule(path: string): HandlerModule {
  const load = HANDLERS[path];
  if (!load)
    throw new Error(`local runtime: no handler module ${path} (add it to local/runtime/handlers.ts)`);
  return load();
}
