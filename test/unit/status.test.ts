import type { RunStatus } from '../../functions/core/ports';
import { statusPanel } from '../../functions/core/report/status';

const ORDER = ['sept-2022', 'nov-2022', '2023'];
const run = (
  exportId: string,
  waves: string[],
  state: RunStatus['state'],
  startedAt: string,
  at: string,
): RunStatus & { exportId: string } => ({ exportId, scope: `${exportId}@p`, waves, state, startedAt, at });

describe('the status panel', () => {
  test('lists runs oldest first, with when they ended', () => {
    const rows = statusPanel(
      [
        run('b', ['sept-2022'], 'running', '2022-09-02T00:00:00Z', '2022-09-02T00:00:00Z'),
        run(
          'a',
          ['sept-2022', 'nov-2022', '2023'],
          'completed',
          '2022-09-01T00:00:00Z',
          '2022-09-01T01:00:00Z',
        ),
      ],
      ORDER,
    );
    expect(rows.map((r) => [r.exportId, r.state, r.finishedAt])).toEqual([
      ['a', 'completed', '2022-09-01T01:00:00Z'],
      ['b', 'running', undefined],
    ]);
  });

  test('flags a wave run before an earlier wave of its export had completed', () => {
    const rows = statusPanel(
      [
        run('x', ['nov-2022'], 'completed', '2022-11-01T00:00:00Z', '2022-11-01T01:00:00Z'),
        run('x', ['sept-2022'], 'completed', '2022-11-02T00:00:00Z', '2022-11-02T01:00:00Z'),
        run('x', ['2023'], 'completed-with-quarantine', '2023-01-01T00:00:00Z', '2023-01-01T01:00:00Z'),
        // Another export's waves say nothing about this one's.
        run('y', ['2023'], 'completed', '2023-01-02T00:00:00Z', '2023-01-02T01:00:00Z'),
      ],
      ORDER,
    );
    expect(rows.map((r) => [r.exportId, r.waves[0], r.outOfOrder])).toEqual([
      ['x', 'nov-2022', ['sept-2022']],
      ['x', 'sept-2022', []],
      ['x', '2023', []],
      ['y', '2023', ['sept-2022', 'nov-2022']],
    ]);
  });

  test('a wave whose earlier wave failed or still runs is out of order', () => {
    const rows = statusPanel(
      [
        run('x', ['sept-2022'], 'incomplete', '2022-09-01T00:00:00Z', '2022-09-01T01:00:00Z'),
        run('x', ['nov-2022'], 'running', '2022-11-01T00:00:00Z', '2022-11-01T00:00:00Z'),
      ],
      ORDER,
    );
    expect(rows[1]?.outOfOrder).toEqual(['sept-2022']);
  });
});
