import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand } from '@aws-sdk/client-s3';
import { startServices } from '../../local/stand-ins/services';
import { startServicesThread } from '../../local/stand-ins/services-thread';

const ROOT = join(__dirname, '..', '..');

// A command on the local state starts the stand-ins' thread before it loads its own modules (cli/main.ts).
describe("the stand-ins' thread started ahead", () => {
  test('hosts the stand-ins over the state folder of the command that takes it', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'esep-ahead-'));
    startServicesThread();
    const services = await startServices(stateDir);
    try {
      await services.clients.s3.send(new CreateBucketCommand({ Bucket: 'ahead' }));
      const { Buckets } = await services.clients.s3.send(new ListBucketsCommand({}));
      expect(Buckets?.map((b) => b.Name)).toContain('ahead');
    } finally {
      await services.stop();
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 60_000);

  test('keeps no process alive when no command takes it (a usage error, a deployed stack)', () => {
    const r = spawnSync(
      process.execPath,
      ['-r', 'tsx/cjs', '-e', "require('./local/stand-ins/services-thread').startServicesThread()"],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
  }, 60_000);
});
