/**
 * The benchmark's arithmetic (bench/stats.ts) and its goal table (bench/report.ts): the numbers the
 * README quotes come from these, so they are checked against hand-computed values.
 */
import { goals, renderMarkdown, type BenchResults } from '../../bench/report';
import { EVENT, turnBreakdown } from '../../bench/breakdown';
import { floorSteps } from '../../bench/floor/system';
import { checkFloorShape } from '../../bench/measure';
import { SCENARIOS, scenario } from '../../bench/scenarios';
import type { DeskSystem } from '../../bench/systems';
import {
  addedFraction,
  alternation,
  fmt,
  markdownTable,
  median,
  percentile,
  ratio,
  summarize,
} from '../../bench/stats';

describe('percentile', () => {
  it('interpolates linearly between the closest ranks, as numpy does by default', () => {
    const xs = [15, 20, 35, 40, 50];
    expect(percentile(xs, 0)).toBe(15);
    expect(percentile(xs, 100)).toBe(50);
    expect(percentile(xs, 50)).toBe(35);
    expect(percentile(xs, 40)).toBeCloseTo(29); // rank 1.6: 20 + 0.6 * 15
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99)).toBeCloseTo(9.91);
  });

  it('does not depend on the order of the sample, and leaves it alone', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(xs).toEqual([5, 1, 4, 2, 3]);
  });

  it('is NaN for an empty sample and refuses a percentile outside 0..100', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });

  it('of one value is that value', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(median([7])).toBe(7);
  });
});

describe('summarize', () => {
  it('gives count, extremes, mean and percentiles', () => {
    const s = summarize([4, 1, 3, 2]);
    expect(s).toMatchObject({ n: 4, min: 1, max: 4, mean: 2.5, p50: 2.5 });
    expect(s.p99).toBeCloseTo(3.97);
  });

  it('of nothing is NaN everywhere but the count', () => {
    const s = summarize([]);
    expect(s.n).toBe(0);
    expect(s.p50).toBeNaN();
  });
});

describe('ratios', () => {
  it('divides by the baseline, and is NaN without a usable baseline', () => {
    expect(ratio(86, 0.8)).toBeCloseTo(107.5);
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(NaN, 1)).toBeNaN();
  });

  it('says what durability adds as a fraction of the in-process turn', () => {
    expect(addedFraction(1332, 1200)).toBeCloseTo(0.11);
    expect(addedFraction(1, 0)).toBeNaN();
  });
});

describe('alternation', () => {
  it('reverses the order every other round', () => {
    expect(alternation(['a', 'b'], 0)).toEqual(['a', 'b']);
    expect(alternation(['a', 'b'], 1)).toEqual(['b', 'a']);
    expect(alternation(['a', 'b'], 2)).toEqual(['a', 'b']);
  });
});

describe('markdown', () => {
  it('formats numbers and tables', () => {
    expect(fmt(1.25, 1)).toBe('1.3');
    expect(fmt(NaN)).toBe('-');
    expect(fmt(undefined)).toBe('-');
    expect(markdownTable(['a', 'b'], [['1', 'x|y']])).toBe('| a | b |\n| --- | --- |\n| 1 | x\\|y |');
  });
});

describe('the report', () => {
  const sample = (phase: string, system: string, latencyMs: number, ms: number, round: number) => ({
    phase,
    system,
    scenario: 'refund' as const,
    latencyMs,
    round,
    ms,
    modelSteps: 4,
    ok: true,
    conversationId: 'c',
  });
  const results: BenchResults = {
    meta: {
      date: '2026-11-28T08:00:00.000Z',
      mode: 'quick',
      cores: 2,
      node: 'v20',
      temporalCli: '1.9.1',
      loadAverageBefore: [1, 1, 1],
      loadAverageAfter: [1, 1, 1],
      durationSeconds: 60,
    },
    servers: [{ name: 'tuned', label: 'desk (tuned)', dynamicConfig: { k: 1 }, sqlitePragmas: {} }],
    latency: [
      // in-process 4 ms a turn (1 ms a step); the desk 40 and 60 ms a turn: p50 50 ms, 12.5 ms a step.
      sample('tuned', 'in-process', 0, 4, 0),
      sample('tuned', 'in-process', 0, 4, 1),
      sample('tuned', 'desk (tuned)', 0, 40, 0),
      sample('tuned', 'desk (tuned)', 0, 60, 1),
      sample('tuned', 'in-process', 300, 1200, 0),
      sample('tuned', 'desk (tuned)', 300, 1332, 0),
    ],
    sweep: [
      {
        phase: 'tuned',
        system: 'desk (tuned)',
        concurrency: 50,
        latencyMs: 0,
        turns: 3,
        errors: 0,
        elapsedMs: 1000,
        turnsPerSecond: 3,
        samples: [10, 20, 30],
        meanModelSteps: 3,
      },
    ],
    breakdown: [],
    history: [
      {
        turn: 10,
        continuedAsNew: false,
        run: 1,
        scenario: 'status',
        eventsAdded: 30,
        bytesAdded: 1000,
        eventsTotal: 300,
        bytesTotal: 10_000,
        transcriptChars: 5000,
        deskMs: 50,
        inProcessMs: 5,
        modelSteps: 3,
      },
      {
        turn: 90,
        continuedAsNew: false,
        run: 1,
        scenario: 'cancel_refund',
        eventsAdded: 50,
        bytesAdded: 2000,
        eventsTotal: 3000,
        bytesTotal: 100_000,
        transcriptChars: 50_000,
        deskMs: 80,
        inProcessMs: 8,
        modelSteps: 6,
      },
    ],
    rss: undefined,
  };

  it('reads the issue goals from the numbers', () => {
    expect(goals(results)).toEqual([
      {
        goal: '0 ms model: <= 15 ms per model step p50 (refund turn)',
        server: 'desk (tuned)',
        value: '12.5 ms',
        met: true,
      },
      {
        goal: '300 ms model: <= 5 % added to a turn (refund turn)',
        server: 'desk (tuned)',
        value: '11.0 %',
        met: false,
      },
      { goal: 'p99 <= 2x p50 at 50 concurrent', server: 'desk (tuned)', value: '1.49x', met: true },
      { goal: 'history bytes per turn at turn 90 within 1.5x of turn 10', server: 'any', value: '2.00x', met: false },
    ]);
  });

  it('puts the ratio against the in-process loop of the same run in the headline table', () => {
    const md = renderMarkdown(results);
    expect(md).toContain('| Refund | 4 | 1.00 | 12.5 | 13x |');
    expect(md).toContain('| Refund | 1200 ms | 1332 ms | 11.0 % |');
  });
});

describe('turnBreakdown', () => {
  // One turn: the workflow task that accepts the update (dispatch 2 ms, run 3 ms; it ran a local
  // activity, and recorded a patch), one activity (eager: started when scheduled; runs 10 ms), the
  // workflow task that completes the update (dispatch 4, run 5).
  const at = (ms: number) => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 });
  const ev = (eventId: number, eventType: number, ms: number, extra: object = {}) => ({
    eventId,
    eventType,
    eventTime: at(ms),
    ...extra,
  });
  const events = [
    ev(1, 1, 0), // workflow execution started
    ev(2, EVENT.WORKFLOW_TASK_SCHEDULED, 1000),
    ev(3, EVENT.WORKFLOW_TASK_STARTED, 1002, { workflowTaskStartedEventAttributes: { scheduledEventId: 2 } }),
    ev(4, EVENT.WORKFLOW_TASK_COMPLETED, 1005, { workflowTaskCompletedEventAttributes: { startedEventId: 3 } }),
    ev(5, EVENT.WORKFLOW_EXECUTION_UPDATE_ACCEPTED, 1005),
    ev(51, EVENT.MARKER_RECORDED, 1005, { markerRecordedEventAttributes: { markerName: 'core_patch' } }),
    ev(52, EVENT.MARKER_RECORDED, 1005, { markerRecordedEventAttributes: { markerName: 'core_local_activity' } }),
    ev(6, EVENT.ACTIVITY_TASK_SCHEDULED, 1005),
    ev(7, EVENT.ACTIVITY_TASK_STARTED, 1005),
    ev(8, EVENT.ACTIVITY_TASK_COMPLETED, 1015, {
      activityTaskCompletedEventAttributes: { scheduledEventId: 6, startedEventId: 7 },
    }),
    ev(9, EVENT.WORKFLOW_TASK_SCHEDULED, 1015),
    ev(10, EVENT.WORKFLOW_TASK_STARTED, 1019, { workflowTaskStartedEventAttributes: { scheduledEventId: 9 } }),
    ev(11, EVENT.WORKFLOW_TASK_COMPLETED, 1024, { workflowTaskCompletedEventAttributes: { startedEventId: 10 } }),
    ev(12, EVENT.WORKFLOW_EXECUTION_UPDATE_COMPLETED, 1024),
  ];

  it('sums dispatch waits and run times of the turn that accepted the last update', () => {
    expect(turnBreakdown(events)).toEqual({
      serverMs: 19,
      workflowTasks: 2,
      workflowTaskDispatchMs: 6,
      workflowTaskRunMs: 8,
      activities: 1,
      activityDispatchMs: 0,
      activityRunMs: 10,
      localActivities: 1,
    });
  });

  it('is undefined without a completed update', () => {
    expect(turnBreakdown(events.slice(0, 8))).toBeUndefined();
    expect(turnBreakdown([])).toBeUndefined();
  });
});

describe('the floor', () => {
  const refund = scenario('refund');
  const places = (mode: Parameters<typeof floorSteps>[1]) =>
    floorSteps(refund, mode).map((s) => `${s.kind}:${s.local ? 'local' : 'activity'}`);

  it('places each activity of a turn where the desk does in each execution mode', () => {
    // refund: receptionist, billing -> get_order_status, billing -> process_refund, billing replies.
    expect(places('activities')).toEqual([
      'model:activity',
      'model:activity',
      'tool:activity',
      'model:activity',
      'tool:activity',
      'model:activity',
    ]);
    // local: a change to the shop stays an ordinary activity.
    expect(places('local')).toEqual([
      'model:local',
      'model:local',
      'tool:local',
      'model:local',
      'tool:activity',
      'model:local',
    ]);
    expect(places('local-tools')).toEqual([
      'model:activity',
      'model:activity',
      'tool:local',
      'model:activity',
      'tool:local',
      'model:activity',
    ]);
  });

  // A desk whose turn in each conversation ran `ran(conversationId)`, as its history says.
  const deskThatRan = (ran: (conversationId: string) => { activities: number; localActivities: number }) =>
    ({
      name: 'desk (tuned:local)',
      breakdown: async (conversationId: string) => ({
        serverMs: 0,
        workflowTasks: 1,
        workflowTaskDispatchMs: 0,
        workflowTaskRunMs: 0,
        activityDispatchMs: 0,
        activityRunMs: 0,
        ...ran(conversationId),
      }),
    }) as unknown as DeskSystem;
  const deskSamples = SCENARIOS.map((s) => ({
    system: 'desk (tuned:local)',
    conversationId: `c-${s.name}`,
    scenario: s.name,
    latencyMs: 0,
    round: 0,
    ms: 50,
    modelSteps: s.modelSteps,
    ok: true,
  }));

  it("accepts a run whose desk turns ran the floor's activities, and stops one whose did not", async () => {
    // In `local`, each scenario's ordinary activities are its changes to the shop: 0, 1 and 2.
    const ordinary = { status: 0, refund: 1, cancel_refund: 2 } as const;
    const ran = new Map(
      SCENARIOS.map((s) => [
        `c-${s.name}`,
        { activities: ordinary[s.name], localActivities: s.activities.length - ordinary[s.name] },
      ]),
    );
    const faithful = deskThatRan((id) => ran.get(id)!);
    await expect(checkFloorShape(faithful, deskSamples, (s) => floorSteps(s, 'local'))).resolves.toBeUndefined();
    // One local activity fewer (a step the floor would run that the desk did not), or one ordinary activity more.
    const oneLocalFewer = deskThatRan((id) => ({ ...ran.get(id)!, localActivities: ran.get(id)!.localActivities - 1 }));
    await expect(checkFloorShape(oneLocalFewer, deskSamples, (s) => floorSteps(s, 'local'))).rejects.toThrow(
      "the floor's status turn runs 0 activities and 4 local ones, the desk's ran 0 and 3",
    );
    const refundWithOneMore = deskThatRan((id) =>
      id === 'c-refund' ? { activities: 2, localActivities: 5 } : ran.get(id)!,
    );
    await expect(checkFloorShape(refundWithOneMore, deskSamples, (s) => floorSteps(s, 'local'))).rejects.toThrow(
      "the floor's refund turn runs 1 activities and 5 local ones, the desk's ran 2 and 5",
    );
  });

  it('reports what the desk adds above the loop and the floor', () => {
    const turn = (system: string, ms: number) => ({
      phase: 'tuned:local',
      system,
      conversationId: 'c',
      scenario: 'refund' as const,
      latencyMs: 0,
      round: 0,
      ms,
      modelSteps: 4,
      ok: true,
    });
    const md = renderMarkdown({
      meta: {
        date: 'd',
        mode: 'quick',
        cores: 2,
        node: 'v20',
        temporalCli: 'x',
        loadAverageBefore: [],
        loadAverageAfter: [],
        durationSeconds: 1,
      },
      servers: [{ name: 'tuned:local', label: 'desk (tuned:local)', dynamicConfig: {}, sqlitePragmas: {} }],
      latency: [],
      // loop 8 ms, floor 32 ms: 10 ms per model step at least; the desk's 60 ms turn is 15 a step, 20 ms above.
      floor: [turn('in-process', 8), turn('Temporal floor (local)', 32), turn('desk (tuned:local)', 60)],
      sweep: [],
      breakdown: [],
      history: [],
      rss: undefined,
    });
    expect(md).toContain('| desk (tuned:local) | Refund | 6 | 8.0 | 32.0 | 10.0 | 15.0 | 20.0 (33 %) |');
  });
});
