import { generateExport } from './local/generate';
import { runLocal } from './local/run';

(async () => {
  const n = Number(process.argv[2]);
  const dir = `/tmp/mem-${n}`;
  await generateExport({ out: `${dir}/mem-export`, accounts: n, seed: 1 });
  const peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const phases: string[] = [];
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], m[k]);
  }, 200);
  const t = Date.now();
  await runLocal({
    exportDir: `${dir}/mem-export`,
    stateDir: `${dir}/state-${Date.now()}`,
    out: `${dir}/out`,
    stderr: { write: () => true },
    pipeline: {
      onTask: (state: string) => {
        const m = process.memoryUsage();
        phases.push(`${state} rss=${(m.rss / 1e6).toFixed(0)} heap=${(m.heapUsed / 1e6).toFixed(0)}`);
      },
    } as never,
  });
  clearInterval(timer);
  console.log(
    n,
    'accounts',
    Date.now() - t,
    'ms',
    Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(v / 1e6)])),
  );
  console.log(phases.filter((p, i) => i % 5 === 0 || /report|Verify|Validate|split/.test(p)).join('\n'));
})();
