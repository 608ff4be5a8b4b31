import { TopologyError, describeTopology, parseTopology, throughputRuns } from '../../../bench/lib/topology';

describe('the benchmark and drills processes (--temporal, --apis, --workers, --worker-queues)', () => {
  it('defaults to one API and one worker serving every queue, on the given engines', () => {
    expect(parseTopology({}, ['dev', 'server'])).toEqual({ engines: ['dev', 'server'], apis: 1, workers: [['purchases', 'fulfillment', 'finance']] });
  });

  it('takes one engine, N APIs and a worker process per ";"-separated group of queues', () => {
    const t = parseTopology({ temporal: 'server', apis: '2', 'worker-queues': 'purchases;fulfillment,finance' }, ['dev', 'server']);
    expect(t).toEqual({ engines: ['server'], apis: 2, workers: [['purchases'], ['fulfillment', 'finance']] });
    expect(describeTopology(t)).toBe('2 APIs, 2 workers [purchases] [fulfillment,finance]');
    expect(parseTopology({ workers: '2' }, ['dev']).workers).toEqual([
      ['purchases', 'fulfillment', 'finance'],
      ['purchases', 'fulfillment', 'finance'],
    ]);
  });

  it('refuses every bad flag at once, before anything starts', () => {
    const attempt = () => parseTopology({ temporal: 'cloud', apis: '0', workers: '-1' }, ['dev']);
    expect(attempt).toThrow(TopologyError);
    try {
      attempt();
    } catch (err) {
      expect((err as TopologyError).problems).toEqual([
        '--temporal cloud: one of dev, server',
        '--apis 0: a whole number of at least 1',
        '--workers -1: a whole number of at least 1',
      ]);
    }
  });

  it('refuses unknown queues, empty groups, a count that disagrees and a queue nobody serves', () => {
    expect(() => parseTopology({ 'worker-queues': 'purchases;payments' }, ['dev'])).toThrow(/unknown queue payments/);
    expect(() => parseTopology({ 'worker-queues': 'purchases,fulfillment,finance;' }, ['dev'])).toThrow(/needs at least one queue/);
    expect(() => parseTopology({ workers: '3', 'worker-queues': 'purchases;fulfillment,finance' }, ['dev'])).toThrow(/--workers 3 but --worker-queues names 2/);
    expect(() => parseTopology({ 'worker-queues': 'purchases;finance' }, ['dev'])).toThrow(/no worker process serves fulfillment/);
    expect(() => parseTopology({ apis: '1.5' }, ['dev'])).toThrow(/--apis 1.5/);
  });
});

describe('the runs of one throughput benchmark', () => {
  it('measures the dev server, then the real server with one and with two worker processes', () => {
    const runs = throughputRuns(parseTopology({}, ['dev', 'server']), {});
    expect(runs.map((r) => r.label)).toEqual([
      'dev server, 1 API, 1 worker [purchases,fulfillment,finance]',
      'real server, 1 API, 1 worker [purchases,fulfillment,finance]',
      'real server, 1 API, 2 workers [purchases,fulfillment,finance] [purchases,fulfillment,finance]',
    ]);
  });

  it('measures only the processes the flags name, on the engine they name', () => {
    const flags = { temporal: 'server', apis: '2', 'worker-queues': 'purchases;fulfillment,finance' };
    const runs = throughputRuns(parseTopology(flags, ['dev', 'server']), flags);
    expect(runs).toEqual([{ engine: 'server', apis: 2, workers: [['purchases'], ['fulfillment', 'finance']], label: 'real server, 2 APIs, 2 workers [purchases] [fulfillment,finance]' }]);
  });
});
