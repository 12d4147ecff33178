/**
 * The benchmark's report: results.json's data as markdown tables (ratios against the in-process
 * loop first) and one PNG chart (chart.js drawn on @napi-rs/canvas: no browser, no native build).
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';

import type {
  BreakdownSample,
  HistoryPoint,
  ReplayCost,
  RestartResult,
  RssResult,
  SweepResult,
  TurnSample,
} from './measure';
import { SCENARIOS, type ScenarioName } from './scenarios';
import { WORKFLOW_TASK_TIMEOUT_MS, isExecutionMode } from '../workflows/messages';
import { DEFAULT_WORKFLOW_TASK_SLOTS } from '../worker/slots';
import { addedFraction, fmt, markdownTable, median, percentile, ratio } from './stats';

export interface BenchResults {
  meta: {
    date: string;
    mode: 'quick' | 'full';
    cores: number;
    node: string;
    temporalCli: string;
    loadAverageBefore: number[];
    loadAverageAfter: number[];
    durationSeconds: number;
    /** The desk worker's maxConcurrentWorkflowTaskExecutions (absent in runs from before it was set). */
    workflowTaskSlots?: number;
  };
  servers: {
    name: string;
    label: string;
    dynamicConfig: Readonly<Record<string, unknown>>;
    sqlitePragmas: Readonly<Record<string, string>>;
  }[];
  /** `phase`: the server setting whose run the sample belongs to (the in-process loop ran in each). */
  latency: (TurnSample & { phase: string })[];
  /** The floor section: the in-process loop, the desk and the floor (bench/floor) taking turns at a 0 ms model. */
  floor?: (TurnSample & { phase: string })[];
  sweep: (SweepResult & { phase: string })[];
  /** Where the desk's timed turns spent their time, from their histories (the last 10 turns of each scenario). */
  breakdown: (BreakdownSample & { phase: string })[];
  history: HistoryPoint[];
  /** Replaying the history conversation's current run, as a worker without it cached does. */
  replay?: ReplayCost;
  rss: RssResult | undefined;
  /** A worker restart with long conversations waiting, at each workflow-task slot count. */
  restart?: RestartResult[];
}

const IN_PROCESS = 'in-process';

/** Per-step or per-turn p50 of one system in one phase, at one latency, one scenario. */
function p50(
  r: BenchResults,
  phase: string,
  system: string,
  latencyMs: number,
  sc: ScenarioName,
  perStep: boolean,
): number {
  const xs = r.latency
    .filter((s) => s.phase === phase && s.system === system && s.latencyMs === latencyMs && s.scenario === sc && s.ok)
    .map((s) => (perStep ? s.ms / s.modelSteps : s.ms));
  return median(xs);
}

function errorsOf(r: BenchResults, phase: string, latencyMs: number): number {
  return r.latency.filter((s) => s.phase === phase && s.latencyMs === latencyMs && !s.ok).length;
}

function roundsOf(r: BenchResults, latencyMs: number): number {
  return new Set(r.latency.filter((s) => s.latencyMs === latencyMs).map((s) => s.round)).size;
}

export interface Goal {
  goal: string;
  server: string;
  value: string;
  met: boolean | undefined;
}

/** Issue 11's goals (item 5), read from the numbers. */
export function goals(r: BenchResults): Goal[] {
  const out: Goal[] = [];
  for (const s of r.servers) {
    const step0 = p50(r, s.name, s.label, 0, 'refund', true);
    if (Number.isFinite(step0))
      out.push({
        goal: '0 ms model: <= 15 ms per model step p50 (refund turn)',
        server: s.label,
        value: `${fmt(step0)} ms`,
        met: step0 <= 15,
      });
    const added = addedFraction(
      p50(r, s.name, s.label, 300, 'refund', false),
      p50(r, s.name, IN_PROCESS, 300, 'refund', false),
    );
    if (Number.isFinite(added))
      out.push({
        goal: '300 ms model: <= 5 % added to a turn (refund turn)',
        server: s.label,
        value: `${fmt(added * 100)} %`,
        met: added <= 0.05,
      });
    const at50 = r.sweep.find((x) => x.phase === s.name && x.system === s.label && x.concurrency === 50);
    if (at50 && at50.samples.length > 0) {
      const tail = ratio(percentile(at50.samples, 99), percentile(at50.samples, 50));
      out.push({ goal: 'p99 <= 2x p50 at 50 concurrent', server: s.label, value: `${fmt(tail, 2)}x`, met: tail <= 2 });
    }
  }
  const h10 = r.history.find((h) => h.turn === 10);
  const h90 = r.history.find((h) => h.turn === 90);
  if (h10 && h90) {
    const g = ratio(h90.bytesAdded, h10.bytesAdded);
    out.push({
      goal: 'history bytes per turn at turn 90 within 1.5x of turn 10',
      server: 'any',
      value: `${fmt(g, 2)}x`,
      met: g <= 1.5,
    });
  }
  return out;
}

/** Turn p50s of the floor section, per server setting and scenario: what the desk adds to the floor. */
function floorTable(r: BenchResults, samples: readonly (TurnSample & { phase: string })[]): string {
  const rows: string[][] = [];
  for (const s of r.servers) {
    const mine = samples.filter((x) => x.phase === s.name && x.ok);
    const floorName = mine.find((x) => x.system !== IN_PROCESS && x.system !== s.label)?.system;
    if (!floorName) continue;
    for (const sc of SCENARIOS) {
      const turn = (system: string) =>
        median(mine.filter((x) => x.system === system && x.scenario === sc.name).map((x) => x.ms));
      const [inProcess, floor, desk] = [turn(IN_PROCESS), turn(floorName), turn(s.label)];
      const bound = inProcess + floor;
      rows.push([
        s.label,
        sc.title,
        String(sc.activities.length),
        fmt(inProcess, 1),
        fmt(floor, 1),
        fmt(bound / sc.modelSteps, 1),
        fmt(desk / sc.modelSteps, 1),
        `${fmt(desk - bound, 1)} (${fmt(((desk - bound) / desk) * 100, 0)} %)`,
      ]);
    }
  }
  const errors = samples.filter((x) => !x.ok).length;
  return (
    `### The floor: what Temporal itself costs for the same activities (model at 0 ms, ${Math.max(0, ...samples.map((x) => x.round)) + 1} rounds, the three systems alternating)\n\n` +
    `The floor (bench/floor) runs each scenario's model steps and tool calls as the desk's execution mode places them (ordinary or local activities, the desk's activity options), ` +
    `in one update to a workflow of its own that does nothing else, and every activity returns at once. ` +
    `The in-process loop's turn is the model calls and the tools themselves; with the floor's turn it is what a turn on Temporal costs at least. ` +
    `What is left of the desk's turn is its own: the workflow code, the transcript references, the activity wrappers, the UI summaries, the client. Turn p50s in ms; wrong or failed turns: ${errors}.\n\n` +
    markdownTable(
      [
        'system',
        'scenario',
        'activities',
        'in-process turn',
        'floor turn',
        'in-process + floor, per model step',
        'desk, per model step',
        'desk above in-process + floor, per turn',
      ],
      rows,
    )
  );
}

export function renderMarkdown(r: BenchResults): string {
  const parts: string[] = [];
  const m = r.meta;
  parts.push(
    `Run ${m.date} (${m.mode}, ${m.durationSeconds.toFixed(0)} s): ${m.cores} cores, Node ${m.node}, Temporal CLI ${m.temporalCli}${m.workflowTaskSlots ? `, the worker running ${m.workflowTaskSlots} workflow tasks at once` : ''}; ` +
      `load average ${m.loadAverageBefore.map((l) => l.toFixed(2)).join(' ')} before, ${m.loadAverageAfter.map((l) => l.toFixed(2)).join(' ')} after.`,
  );
  const describe = (s: BenchResults['servers'][number]) =>
    [
      Object.keys(s.dynamicConfig).length
        ? `dynamic config \`${JSON.stringify(s.dynamicConfig)}\``
        : "the dev server's own dynamic config",
      Object.keys(s.sqlitePragmas).length
        ? `SQLite pragmas \`${JSON.stringify(s.sqlitePragmas)}\``
        : "SQLite's own defaults",
    ].join(', ');
  parts.push(`Server settings: ${r.servers.map((s) => `**${s.name}**: ${describe(s)}`).join('; ')}.`);

  if (r.latency.length > 0) {
    const header = ['scenario', 'model steps', 'in-process'];
    for (const s of r.servers) header.push(s.label, 'x in-process');
    const rows0 = SCENARIOS.map((sc) => {
      const row = [sc.title, String(sc.modelSteps)];
      const base = r.servers.map((s) => p50(r, s.name, IN_PROCESS, 0, sc.name, true));
      row.push(base.map((b) => fmt(b, 2)).join(' / '));
      for (const [i, s] of r.servers.entries()) {
        const v = p50(r, s.name, s.label, 0, sc.name, true);
        row.push(fmt(v, 1), `${fmt(ratio(v, base[i]!), 0)}x`);
      }
      return row;
    });
    parts.push(
      `### Model at 0 ms: milliseconds per model step, p50 (${roundsOf(r, 0)} rounds, systems alternating)\n\n` +
        `The in-process column shows the loop's own p50 in each server's run (${r.servers.map((s) => s.name).join(' / ')}); each ratio is against the loop of the same run.\n\n` +
        markdownTable(header, rows0),
    );
    const header300 = ['scenario', 'in-process turn'];
    for (const s of r.servers) header300.push(`${s.label} turn`, 'added');
    const rows300 = SCENARIOS.map((sc) => {
      const row = [sc.title];
      const base = r.servers.map((s) => p50(r, s.name, IN_PROCESS, 300, sc.name, false));
      row.push(base.map((b) => `${fmt(b, 0)} ms`).join(' / '));
      for (const [i, s] of r.servers.entries()) {
        const v = p50(r, s.name, s.label, 300, sc.name, false);
        row.push(`${fmt(v, 0)} ms`, `${fmt(addedFraction(v, base[i]!) * 100, 1)} %`);
      }
      return row;
    });
    parts.push(
      `### Model at 300 ms: turn p50 and what durability adds (${roundsOf(r, 300)} rounds)\n\n` +
        markdownTable(header300, rows300),
    );
    const errs = r.servers.map((s) => `${s.name}: ${errorsOf(r, s.name, 0) + errorsOf(r, s.name, 300)}`).join(', ');
    parts.push(`Wrong or failed turns in these rounds (both systems): ${errs}.`);
  }

  if (r.floor?.length) parts.push(floorTable(r, r.floor));

  if (r.breakdown.length > 0) {
    const rows: string[][] = [];
    for (const s of r.servers) {
      for (const latencyMs of [0, 300]) {
        for (const sc of SCENARIOS) {
          const xs = r.breakdown.filter(
            (b) => b.phase === s.name && b.latencyMs === latencyMs && b.scenario === sc.name,
          );
          if (xs.length === 0) continue;
          const med = (f: (b: BreakdownSample) => number) => median(xs.map(f));
          const client = med((b) => b.clientMs);
          const server = med((b) => b.serverMs);
          rows.push([
            s.label,
            `${latencyMs} ms`,
            sc.title,
            fmt(client, 0),
            fmt(server, 0),
            `${fmt(
              med((b) => b.workflowTaskDispatchMs),
              0,
            )} (${fmt(
              med((b) => b.workflowTasks),
              0,
            )} tasks)`,
            fmt(
              med((b) => b.workflowTaskRunMs),
              0,
            ),
            `${fmt(
              med((b) => b.activityDispatchMs),
              1,
            )} (${fmt(
              med((b) => b.activities),
              0,
            )} activities)`,
            fmt(
              med((b) => b.activityRunMs),
              0,
            ),
          ]);
        }
      }
    }
    parts.push(
      `### Where a desk turn's time goes (medians over the last 10 timed turns of each scenario, from their histories)\n\n` +
        `Server span: update accepted to update completed. Workflow task dispatch: scheduled to started (the wait the transfer-queue limit causes). ` +
        `Workflow task run: started to completed (the worker running the workflow code, the round trip and the server's write). ` +
        `Activity dispatch: scheduled to started (about 0 with eager execution). Activity run: started to completed (the model step or tool, the completion round trip and write). ` +
        `Sums per turn, in ms. In the \`local\` execution mode a turn is one workflow task: its model steps and tool calls (local activities) run inside "workflow task run", and the update is accepted and completed in the same write, so its server span is about 0.\n\n` +
        markdownTable(
          [
            'system',
            'model',
            'scenario',
            'client turn',
            'server span',
            'workflow task dispatch',
            'workflow task run',
            'activity dispatch',
            'activity run',
          ],
          rows,
        ),
    );
  }

  if (r.sweep.length > 0) {
    const rows = r.sweep.map((x) => {
      const s50 = percentile(x.samples, 50);
      const s99 = percentile(x.samples, 99);
      return [
        x.system === IN_PROCESS ? `${x.system} (${x.phase} run)` : x.system,
        String(x.concurrency),
        fmt(x.turnsPerSecond, 1),
        fmt(s50, 0),
        fmt(s99, 0),
        `${fmt(ratio(s99, s50), 2)}x`,
        String(x.errors),
        fmt(x.meanModelSteps, 1),
      ];
    });
    const lat = r.sweep[0]!.latencyMs;
    parts.push(
      `### Concurrency sweep: refund requests, model at ${lat} ms\n\nEach customer sends one refund request after another in its own conversation, at least two; latencies leave out each customer's first turn (all customers start at once), so later turns take 3 model steps (billing already has the customer). Turns/s counts every turn.\n\n` +
        markdownTable(
          ['system', 'at once', 'turns/s', 'p50 ms', 'p99 ms', 'p99/p50', 'errors', 'model steps/turn'],
          rows,
        ),
    );
  }

  if (r.history.length > 0) {
    const rows = r.history.map((h) => [
      `${h.turn}${h.continuedAsNew ? ' (continued as new)' : ''}`,
      String(h.run),
      h.scenario,
      String(h.eventsAdded),
      fmt(h.bytesAdded / 1024, 1),
      fmt(h.bytesTotal / 1024, 0),
      fmt(h.transcriptChars / 1024, 1),
      fmt(h.deskMs, 0),
      fmt(h.inProcessMs, 1),
    ]);
    const rp = r.replay;
    const replayLine = rp
      ? `\n\nReplaying the run at turn ${rp.turn} (execution ${rp.execution}: ${rp.events} events, ${fmt(rp.bytes / 1024, 0)} KiB), as a worker that has not cached the conversation does inside one workflow task before it can answer: ${fmt(rp.ms, 0)} ms (median of 3), against its workflow task timeout (${fmt((isExecutionMode(rp.execution) ? WORKFLOW_TASK_TIMEOUT_MS[rp.execution] : 10_000) / 1000, 0)} s; up to ${DEFAULT_WORKFLOW_TASK_SLOTS} such replays share the worker's thread, worker/slots.ts).`
      : '';
    parts.push(
      `### History per turn (one conversation, the three scenarios in turn, model at 0 ms)\n\n` +
        `Events and bytes the turn added to the conversation's history (as the server counts them: describe's historyLength and historySize); history KiB is the current run's, which continue-as-new starts afresh; transcript KiB is the JSON of the transcript, every model step's input.\n\n` +
        markdownTable(
          [
            'turn',
            'run',
            'scenario',
            'events added',
            'KiB added',
            'history KiB',
            'transcript KiB',
            'desk turn ms',
            'in-process turn ms',
          ],
          rows,
        ) +
        replayLine,
    );
  }

  if (r.rss) {
    const x = r.rss;
    parts.push(
      `### Worker memory\n\n` +
        `\`npm run worker\` as a child process: RSS ${fmt(x.rssIdleWorkerMiB, 0)} MiB with no conversation, ${fmt(x.rssWithConversationsMiB, 0)} MiB with ${x.conversations} idle conversations ` +
        `(${fmt(x.perConversationKiB, 0)} KiB each; started in ${fmt(x.startSeconds, 0)} s, ${x.errors} errors). The SDK's default workflow cache on this machine holds about ${x.defaultMaxCachedWorkflows} conversations; past that they are evicted and replayed on their next message.`,
    );
  }

  if (r.restart?.length) {
    const x0 = r.restart[0]!;
    parts.push(
      `### A worker restart with long conversations waiting (model at 0 ms)\n\n` +
        `${x0.conversations} conversations taken to turn ${x0.turns} at once, the worker restarted (an empty cache), then one message to each at once: each conversation's next workflow task replays its whole run first, on the worker's one workflow thread, and must finish within the conversation's workflow task timeout. Slots: workflow tasks the worker runs at once (the SDK's default is 40; the desk's, worker/slots.ts); task timeout: Temporal's default is 10 s (the desk's, WORKFLOW_TASK_TIMEOUT_MS). Sticky timeouts are workflow tasks that waited out a worker's 10 s schedule-to-start timeout: on the old worker's queue, or on the new one's behind the replays.\n\n` +
        markdownTable(
          [
            'slots',
            'task timeout s',
            'events per run',
            'build s',
            'answered',
            'answer s: first / median / last',
            'task timeouts (start to close)',
            'sticky timeouts',
            'first error',
          ],
          r.restart.map((x) => [
            String(x.slots),
            x.workflowTaskTimeoutMs === undefined ? '10' : fmt(x.workflowTaskTimeoutMs / 1000, 0),
            `${x.events[0]}-${x.events[1]}`,
            fmt(x.buildSeconds, 0),
            `${x.answered}/${x.conversations}`,
            x.answerSeconds.length
              ? [x.answerSeconds[0]!, median(x.answerSeconds), x.answerSeconds[x.answerSeconds.length - 1]!]
                  .map((v) => fmt(v, 1))
                  .join(' / ')
              : '-',
            String(x.startToCloseTimeouts),
            String(x.stickyTimeouts),
            x.firstError ?? '',
          ]),
        ),
    );
  }

  const g = goals(r);
  if (g.length > 0) {
    parts.push(
      `### Issue 11's goals\n\n` +
        markdownTable(
          ['goal', 'server', 'measured', 'met'],
          g.map((x) => [x.goal, x.server, x.value, x.met === undefined ? '-' : x.met ? 'yes' : 'no']),
        ),
    );
  }
  return parts.join('\n\n') + '\n';
}

let registered = false;

const COLORS = ['#7f7f7f', '#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Four panels on one PNG: per-step cost at 0 ms, added time at 300 ms, the sweep, history per turn. */
export async function renderChart(r: BenchResults): Promise<Buffer> {
  if (!registered) {
    Chart.register(...registerables);
    registered = true;
  }
  const W = 800;
  const H = 460;
  const panels: ChartConfiguration[] = [];
  const labels = SCENARIOS.map((s) => s.title);
  const systems = [
    { name: IN_PROCESS, phase: r.servers[r.servers.length - 1]?.name ?? '' },
    ...r.servers.map((s) => ({ name: s.label, phase: s.name })),
  ];

  if (r.latency.length > 0) {
    panels.push({
      type: 'bar',
      data: {
        labels,
        datasets: systems.map((s, i) => ({
          label: s.name,
          data: SCENARIOS.map((sc) => p50(r, s.phase, s.name, 0, sc.name, true)),
          backgroundColor: COLORS[i % COLORS.length],
        })),
      },
      options: {
        plugins: { title: { display: true, text: 'Model at 0 ms: ms per model step, p50 (log scale)' } },
        scales: { y: { type: 'logarithmic', title: { display: true, text: 'ms per model step' } } },
      },
    });
    panels.push({
      type: 'bar',
      data: {
        labels,
        datasets: r.servers.map((s, i) => ({
          label: s.label,
          data: SCENARIOS.map(
            (sc) =>
              addedFraction(
                p50(r, s.name, s.label, 300, sc.name, false),
                p50(r, s.name, IN_PROCESS, 300, sc.name, false),
              ) * 100,
          ),
          backgroundColor: COLORS[(i + 1) % COLORS.length],
        })),
      },
      options: {
        plugins: { title: { display: true, text: 'Model at 300 ms: % durability adds to a turn (p50 vs in-process)' } },
        scales: { y: { beginAtZero: true, title: { display: true, text: '% added' } } },
      },
    });
  }
  if (r.sweep.length > 0) {
    const levels = [...new Set(r.sweep.map((x) => x.concurrency))].sort((a, b) => a - b);
    const series = systems.flatMap((s, i) =>
      (['p50', 'p99'] as const).map((q) => ({
        label: `${s.name} ${q}`,
        data: levels.map((c) => {
          const x = r.sweep.find((y) => y.system === s.name && y.phase === s.phase && y.concurrency === c);
          return x ? percentile(x.samples, q === 'p50' ? 50 : 99) : NaN;
        }),
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length],
        borderDash: q === 'p99' ? [6, 4] : [],
      })),
    );
    panels.push({
      type: 'line',
      data: { labels: levels.map(String), datasets: series },
      options: {
        plugins: {
          title: {
            display: true,
            text: `Concurrency sweep (refunds, model ${r.sweep[0]!.latencyMs} ms): turn latency, log scale`,
          },
        },
        scales: {
          y: { type: 'logarithmic', title: { display: true, text: 'ms per turn' } },
          x: { title: { display: true, text: 'customers at once' } },
        },
      },
    });
  }
  if (r.history.length > 0) {
    panels.push({
      type: 'bar',
      data: {
        labels: r.history.map((h) => `turn ${h.turn}`),
        datasets: [
          {
            label: 'history KiB added by the turn',
            data: r.history.map((h) => h.bytesAdded / 1024),
            backgroundColor: COLORS[2],
          },
          {
            label: "transcript KiB (each model step's input)",
            data: r.history.map((h) => h.transcriptChars / 1024),
            backgroundColor: COLORS[5],
          },
        ],
      },
      options: {
        plugins: { title: { display: true, text: 'History growth per turn' } },
        scales: { y: { beginAtZero: true, title: { display: true, text: 'KiB' } } },
      },
    });
  }

  const cols = 2;
  const rows = Math.max(1, Math.ceil(panels.length / cols));
  const title = 40;
  const page = createCanvas(W * cols, H * rows + title);
  const ctx = page.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, page.width, page.height);
  ctx.fillStyle = '#222222';
  ctx.font = 'bold 20px sans-serif';
  ctx.fillText(
    `durable-service-desk: npm run bench (${r.meta.mode}), ${r.meta.date.slice(0, 16).replace('T', ' ')} UTC, ${r.meta.cores} cores, shared machine`,
    16,
    28,
  );
  for (const [i, config] of panels.entries()) {
    const canvas = createCanvas(W, H);
    const c2 = canvas.getContext('2d');
    c2.fillStyle = '#ffffff';
    c2.fillRect(0, 0, W, H);
    const chart = new Chart(
      c2 as unknown as ConstructorParameters<typeof Chart>[0],
      {
        ...config,
        options: { ...config.options, animation: false, responsive: false, devicePixelRatio: 1 },
      } as ChartConfiguration,
    );
    chart.draw();
    ctx.drawImage(canvas, (i % cols) * W, title + Math.floor(i / cols) * H);
    chart.destroy();
  }
  return page.encode('png');
}
