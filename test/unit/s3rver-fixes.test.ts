import { fixS3rver } from '../../local/stand-ins/s3rver-fixes';

/** s3rver-fixes: a silent S3 stand-in serves requests without a logging middleware (koa-logger). */
test('a silent s3rver has no logging middleware; one that logs keeps it', () => {
  fixS3rver();
  const S3rver = require('s3rver') as new (options: object) => { middleware: { name: string }[] };
  const names = (silent: boolean) =>
    new S3rver({ silent, directory: '/nonexistent' }).middleware.map((m) => m.name);
  expect(names(false)).toContain('logger');
  expect(names(true)).not.toContain('logger');
  // Everything else it serves with is the same.
  expect(names(true)).toEqual(names(false).map((name) => (name === 'logger' ? 'notLogged' : name)));
});
