/**
 * The benchmark's measurements, one function per section. Each returns plain data (it goes into
 * results.json as it is); bench/report.ts turns it into tables and the chart.
 *
 * - latency: the seed's three scenarios, one fresh conversation per timed turn, the systems
 *   alternating turn by turn, at one model latency.
 * - floor: the same three scenarios at a 0 ms model, the desk and the loop beside the floor
 *   (bench/floor: the desk's activities, doing nothing, in a workflow of their own), alternating.
 * - sweep: N virtual customers at once, each sending refund requests one after another in its own
 *   conversation, for a bounded time and count (at least two turns each): turns/s, p50, p99, errors.
 * - history: one conversation taken to turn 90 (the three scenarios in turn), the desk's history
 *   events and bytes added by turns 1, 10, 30 and 90.
 * - rss: a worker process (worker/main.ts, as `npm run worker` runs it) holding N idle conversations.
 * - restart: N conversations at turn 90, a worker restart, one message each: are they answered, at
 *   the SDK's default workflow-task slot count and at the desk's (worker/slots.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';

import { startWithMessage } from '../client/conversations';
import { historyQuery, stateQuery } from '../workflows/messages';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { setStubLatency } from './model-stub';
import { SCENARIOS, scenario, type BenchShop, type Scenario, type ScenarioName } from './scenarios';
import type { TurnBreakdown } from './breakdown';
import type { FloorSystem } from './floor/system';
import type { FloorStep } from './floor/workflow';
import { alternation } from './stats';
import { CUSTOMER, type BenchSystem, type DeskSystem } from './systems';

export type Log = (line: string) => void;

/** Child processes running now, for the benchmark's Ctrl-C handler to stop. */
export const runningChildren = new Set<ChildProcess>();

export interface TurnSample {
  system: string;
  conversationId: string;
  scenario: ScenarioName;
  latencyMs: number;
  round: number;
  ms: number;
  modelSteps: number;
  ok: boolean;
  error?: string;
}

async function timedTurn(
  system: BenchSystem,
  s: Scenario,
  shop: BenchShop,
  meta: { latencyMs: number; round: number },
): Promise<TurnSample> {
  const conv = await system.startConversation();
  const text = s.message(shop.orderFor(s));
  const t0 = performance.now();
  try {
    const reply = await conv.send(text);
    const ms = performance.now() - t0;
    const ok = s.expect.test(reply.text) && reply.modelSteps === s.modelSteps;
    return {
      system: system.name,
      conversationId: conv.id,
      scenario: s.name,
      ...meta,
      ms,
      modelSteps: reply.modelSteps,
      ok,
      ...(!ok && { error: `unexpected reply after ${reply.modelSteps} model steps: ${reply.text.slice(0, 120)}` }),
    };
  } catch (err) {
    return {
      system: system.name,
      conversationId: conv.id,
      scenario: s.name,
      ...meta,
      ms: performance.now() - t0,
      modelSteps: 0,
      ok: false,
      error: String(err),
    };
  }
}

/** The three scenarios, `rounds` times, systems alternating; one untimed warm-up round first. */
export async function latencySection(
  systems: readonly BenchSystem[],
  shop: BenchShop,
  stubURL: string,
  latencyMs: number,
  rounds: number,
  log: Log,
): Promise<TurnSample[]> {
  await setStubLatency(stubURL, latencyMs);
  return alternatingRounds(timedSystems(systems, shop, latencyMs), rounds, `model ${latencyMs} ms`, log);
}

/** Something the latency rounds time: a turn of a scenario, as one sample. */
interface Timed {
  name: string;
  time(s: Scenario, round: number): Promise<TurnSample>;
}

function timedSystems(systems: readonly BenchSystem[], shop: BenchShop, latencyMs: number): Timed[] {
  return systems.map((system) => ({
    name: system.name,
    time: (s, round) => timedTurn(system, s, shop, { latencyMs, round }),
  }));
}

/** One untimed warm-up round, then `rounds` rounds of the three scenarios, the order alternating. */
async function alternatingRounds(
  timed: readonly Timed[],
  rounds: number,
  label: string,
  log: Log,
): Promise<TurnSample[]> {
  for (const s of SCENARIOS) for (const t of timed) await t.time(s, -1);
  const samples: TurnSample[] = [];
  let last = Date.now();
  for (let round = 0; round < rounds; round++) {
    for (const [i, s] of SCENARIOS.entries()) {
      for (const t of alternation(timed, round + i)) {
        const sample = await t.time(s, round);
        if (!sample.ok) log(`    ! ${t.name} ${s.name}: ${sample.error}`);
        samples.push(sample);
      }
    }
    if (Date.now() - last > 5000 || round === rounds - 1) {
      last = Date.now();
      log(`    ${label}: round ${round + 1}/${rounds}`);
    }
  }
  return samples;
}

/**
 * The floor beside the two systems: at a 0 ms model, the three scenarios `rounds` times, the
 * in-process loop, the desk and the floor (bench/floor: the same activities doing nothing) taking
 * turns, one untimed warm-up round first. The floor's samples count the scenario's model steps, so
 * its per-step numbers divide as the desk's do.
 */
export async function floorSection(
  systems: readonly BenchSystem[],
  floor: FloorSystem,
  shop: BenchShop,
  stubURL: string,
  rounds: number,
  log: Log,
): Promise<TurnSample[]> {
  await setStubLatency(stubURL, 0);
  const floorTurn = async (s: Scenario, round: number): Promise<TurnSample> => {
    const base = { system: floor.name, conversationId: '', scenario: s.name, latencyMs: 0, round };
    try {
      return { ...base, ms: await floor.turn(s), modelSteps: s.modelSteps, ok: true };
    } catch (err) {
      return { ...base, ms: 0, modelSteps: 0, ok: false, error: String(err) };
    }
  };
  return alternatingRounds(
    [...timedSystems(systems, shop, 0), { name: floor.name, time: floorTurn }],
    rounds,
    'floor',
    log,
  );
}

/**
 * The floor must run what the desk's turns ran: the ordinary and local activities of the desk's last
 * timed turn of each scenario, read from its history, against the floor's steps for it.
 */
export async function checkFloorShape(
  desk: DeskSystem,
  samples: readonly TurnSample[],
  steps: (s: Scenario) => FloorStep[],
): Promise<void> {
  for (const s of SCENARIOS) {
    const last = samples.findLast((x) => x.system === desk.name && x.scenario === s.name && x.ok);
    if (!last) continue;
    const ran = await desk.breakdown(last.conversationId);
    const floorSteps = steps(s);
    const local = floorSteps.filter((x) => x.local).length;
    const ordinary = floorSteps.length - local;
    if (ran?.activities !== ordinary || ran.localActivities !== local)
      throw new Error(
        `the floor's ${s.name} turn runs ${ordinary} activities and ${local} local ones, the desk's ran ${ran?.activities} and ${ran?.localActivities}: fix the scenario's activities in bench/scenarios.ts`,
      );
  }
}

export interface BreakdownSample extends TurnBreakdown {
  scenario: ScenarioName;
  latencyMs: number;
  /** The turn as the client timed it. */
  clientMs: number;
}

/** Where the desk's timed turns spent their time (read from their histories after the timing). */
export async function breakdowns(
  desk: DeskSystem,
  samples: readonly TurnSample[],
  perScenario: number,
): Promise<BreakdownSample[]> {
  const out: BreakdownSample[] = [];
  for (const s of SCENARIOS) {
    const mine = samples.filter((x) => x.system === desk.name && x.scenario === s.name && x.ok).slice(-perScenario);
    for (const x of mine) {
      const b = await desk.breakdown(x.conversationId);
      if (b) out.push({ ...b, scenario: x.scenario, latencyMs: x.latencyMs, clientMs: x.ms });
    }
  }
  return out;
}

export interface SweepResult {
  system: string;
  concurrency: number;
  latencyMs: number;
  turns: number;
  errors: number;
  elapsedMs: number;
  turnsPerSecond: number;
  /** Turn latencies of the successful turns but each customer's first, ms. */
  samples: number[];
  meanModelSteps: number;
  firstError?: string;
}

/**
 * `concurrency` customers at once, refund after refund, until `durationMs` has passed and every
 * customer has had at least two turns (at most `maxTurns` in all). Each customer's first turn is
 * left out of the latencies: the customers all start together, so first turns measure a burst, not
 * a steady state. Turns/s counts every completed turn over the whole time.
 */
export async function sweepLevel(
  system: BenchSystem,
  shop: BenchShop,
  concurrency: number,
  latencyMs: number,
  durationMs: number,
  maxTurns: number,
): Promise<SweepResult> {
  const s = scenario('refund');
  const conversations = [];
  for (let i = 0; i < concurrency; i += 50) {
    conversations.push(
      ...(await Promise.all(Array.from({ length: Math.min(50, concurrency - i) }, () => system.startConversation()))),
    );
  }
  const samples: number[] = [];
  let steps = 0;
  let completed = 0;
  let errors = 0;
  let started = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  await Promise.all(
    conversations.map(async (conv) => {
      for (let mine = 0; (mine < 2 || performance.now() < deadline) && started < maxTurns; mine++) {
        started++;
        const text = s.message(shop.orderFor(s));
        const t = performance.now();
        try {
          const reply = await conv.send(text);
          if (!s.expect.test(reply.text)) throw new Error(`unexpected reply: ${reply.text.slice(0, 120)}`);
          completed++;
          if (mine > 0) {
            samples.push(performance.now() - t);
            steps += reply.modelSteps;
          }
        } catch (err) {
          errors++;
          firstError ??= String(err);
        }
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  return {
    system: system.name,
    concurrency,
    latencyMs,
    turns: completed,
    errors,
    elapsedMs,
    turnsPerSecond: completed / (elapsedMs / 1000),
    samples,
    meanModelSteps: samples.length ? steps / samples.length : NaN,
    ...(firstError !== undefined && { firstError }),
  };
}

export async function sweepSection(
  systems: readonly BenchSystem[],
  shop: BenchShop,
  stubURL: string,
  opts: {
    levels: readonly number[];
    latencyMs: number;
    durationMs: number;
    maxTurns: number;
    beforeLevel?: () => Promise<void>;
  },
  log: Log,
): Promise<SweepResult[]> {
  await setStubLatency(stubURL, opts.latencyMs);
  const results: SweepResult[] = [];
  for (const [i, level] of opts.levels.entries()) {
    for (const system of alternation(systems, i)) {
      await opts.beforeLevel?.();
      // Each level starts from the seed, so the order ids last.
      await shop.reset();
      const r = await sweepLevel(system, shop, level, opts.latencyMs, opts.durationMs, opts.maxTurns);
      log(
        `    ${system.name.padEnd(16)} ${String(level).padStart(3)} at once: ${r.turns} turns, ${r.turnsPerSecond.toFixed(1)}/s, ${r.errors} errors` +
          (r.firstError ? ` (first: ${r.firstError.slice(0, 160)})` : ''),
      );
      results.push(r);
    }
  }
  return results;
}

export interface HistoryPoint {
  turn: number;
  /** The turn started a new run (continue-as-new): the added numbers count from the new run's start. */
  continuedAsNew: boolean;
  /** Which run of the conversation the history numbers are of (1 = the first; continue-as-new starts the next). */
  run: number;
  scenario: ScenarioName;
  /** Events and bytes the turn added to the desk's history. */
  eventsAdded: number;
  bytesAdded: number;
  /** The whole history after the turn. */
  eventsTotal: number;
  bytesTotal: number;
  /** The transcript (every model step's input) after the turn, characters of JSON. */
  transcriptChars: number;
  deskMs: number;
  inProcessMs: number;
  modelSteps: number;
}

/**
 * What a worker that has not cached the conversation pays on its next message: replaying the current
 * run's whole history, inside one workflow task that must finish within the task timeout
 * (WORKFLOW_TASK_TIMEOUT_MS: 30 s, 10 s in `local`).
 */
export interface ReplayCost {
  turn: number;
  execution: string;
  events: number;
  bytes: number;
  /** Median of three replays of the run (Worker.runReplayHistory, this process). */
  ms: number;
}

/** One conversation per system to `checkpoints`' last turn; sizes measured around each checkpoint turn. */
export async function historySection(
  desk: DeskSystem,
  inProcess: BenchSystem,
  shop: BenchShop,
  stubURL: string,
  checkpoints: readonly number[],
  log: Log,
  workflowBundle?: WorkflowBundleWithSourceMap,
): Promise<{ points: HistoryPoint[]; replay?: ReplayCost }> {
  await setStubLatency(stubURL, 0);
  const deskConv = await desk.startConversation();
  const localConv = await inProcess.startConversation();
  const lastTurn = Math.max(...checkpoints);
  const runs: string[] = [];
  const runOf = (runId: string) => {
    if (!runs.includes(runId)) runs.push(runId);
    return runs.indexOf(runId) + 1;
  };
  runOf((await desk.historySize(deskConv.id)).runId);
  const points: HistoryPoint[] = [];
  let lastLog = Date.now();
  for (let turn = 1; turn <= lastTurn; turn++) {
    const measured = checkpoints.includes(turn);
    // Measured turns are all the same scenario (the refund), so their sizes compare like for like;
    // the turns between rotate through the three.
    const s = measured ? scenario('refund') : SCENARIOS[(turn - 1) % SCENARIOS.length]!;
    const before = measured ? await desk.historySize(deskConv.id) : undefined;
    const textDesk = s.message(shop.orderFor(s));
    const textLocal = s.message(shop.orderFor(s));
    let deskMs = 0;
    let inProcessMs = 0;
    let modelSteps = 0;
    for (const which of alternation(['desk', 'local'] as const, turn)) {
      const t0 = performance.now();
      if (which === 'desk') {
        modelSteps = (await deskConv.send(textDesk)).modelSteps;
        deskMs = performance.now() - t0;
      } else {
        await localConv.send(textLocal);
        inProcessMs = performance.now() - t0;
      }
    }
    if (measured && before) {
      const after = await desk.historySize(deskConv.id);
      const transcript = await desk.client.workflow.getHandle(deskConv.id).query(historyQuery);
      runOf(before.runId);
      const continuedAsNew = after.runId !== before.runId;
      points.push({
        turn,
        continuedAsNew,
        run: runOf(after.runId),
        scenario: s.name,
        eventsAdded: continuedAsNew ? after.events : after.events - before.events,
        bytesAdded: continuedAsNew ? after.bytes : after.bytes - before.bytes,
        eventsTotal: after.events,
        bytesTotal: after.bytes,
        transcriptChars: JSON.stringify(transcript).length,
        deskMs,
        inProcessMs,
        modelSteps,
      });
      const p = points[points.length - 1]!;
      log(
        `    turn ${turn}: +${p.eventsAdded} events, +${(p.bytesAdded / 1024).toFixed(1)} KiB (history ${(after.bytes / 1024).toFixed(0)} KiB${continuedAsNew ? ', continued as new' : ''})`,
      );
    } else if (Date.now() - lastLog > 5000) {
      lastLog = Date.now();
      log(`    turn ${turn}/${lastTurn}`);
    }
  }
  if (!workflowBundle) return { points };
  const handle = desk.client.workflow.getHandle(deskConv.id);
  const { runId, events, bytes } = await desk.historySize(deskConv.id);
  const history = await desk.client.workflow.getHandle(deskConv.id, runId).fetchHistory();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await Worker.runReplayHistory({ workflowBundle }, history);
    times.push(performance.now() - t0);
  }
  const ms = times.sort((a, b) => a - b)[1]!;
  const execution = (await handle.query(stateQuery)).execution;
  log(
    `    replaying the run at turn ${lastTurn} (${events} events, ${(bytes / 1024).toFixed(0)} KiB): ${ms.toFixed(0)} ms`,
  );
  return { points, replay: { turn: lastTurn, execution, events, bytes, ms } };
}

export interface RssResult {
  conversations: number;
  rssIdleWorkerMiB: number;
  rssWithConversationsMiB: number;
  perConversationKiB: number;
  /** The SDK's default maxCachedWorkflows on this machine (from the heap limit): conversations past it are evicted from the cache. */
  defaultMaxCachedWorkflows: number;
  startSeconds: number;
  errors: number;
}

function readRssKiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `npm run worker` as a child process against the desk's server and the stub; `count` conversations
 * each get one message (order status) and are left open, idle; the worker's RSS before and after.
 */
export async function rssSection(desk: DeskSystem, stubURL: string, count: number, log: Log): Promise<RssResult> {
  await setStubLatency(stubURL, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-bench-worker-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'worker', 'main.ts')], {
    cwd: path.join(__dirname, '..'),
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: desk.server.address,
      TEMPORAL_NAMESPACE: 'default',
      OPENAI_BASE_URL: stubURL,
      OPENAI_API_KEY: 'bench',
      OPENAI_MODEL: 'bench-stub',
      SHOP_DB: path.join(dir, 'shop.db'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  runningChildren.add(child);
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start within 60 s:\n${output}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('polling')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (code) => reject(new Error(`the worker exited (${code}):\n${output}`)));
    });
    await sleep(2000);
    const before = readRssKiB(child.pid!);
    const s = scenario('status');
    const t0 = performance.now();
    let done = 0;
    let errors = 0;
    let lastLog = Date.now();
    const next = async (): Promise<void> => {
      while (done + errors < count) {
        const i = done + errors;
        done++;
        try {
          await startWithMessage(desk.client, { customerId: CUSTOMER }, s.message(s.seedOrder), {
            workflowId: `rss-${i}-${Date.now()}`,
          });
        } catch {
          done--;
          errors++;
        }
        if (Date.now() - lastLog > 5000) {
          lastLog = Date.now();
          log(`    ${done}/${count} conversations started`);
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, next));
    const startSeconds = (performance.now() - t0) / 1000;
    await sleep(3000);
    const after = readRssKiB(child.pid!);
    const heapMiB = v8.getHeapStatistics().heap_size_limit / 2 ** 20;
    return {
      conversations: done,
      rssIdleWorkerMiB: before / 1024,
      rssWithConversationsMiB: after / 1024,
      perConversationKiB: done ? (after - before) / done : NaN,
      defaultMaxCachedWorkflows: Math.max(Math.floor((Math.max(heapMiB - 400, 0) * 250) / 1024), 10),
      startSeconds,
      errors,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => {
      if (child.exitCode !== null) r(undefined);
      else child.once('exit', r);
      setTimeout(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      }, 10_000).unref();
    });
    runningChildren.delete(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface RestartResult {
  /** Workflow tasks the restarted worker ran at once (`maxConcurrentWorkflowTaskExecutions`). */
  slots: number;
  /** The conversations' workflow task timeout. */
  workflowTaskTimeoutMs: number;
  conversations: number;
  turns: number;
  /** History events of each conversation's run when the worker restarted: min and max. */
  events: [number, number];
  /** Seconds to take every conversation to `turns` (all at once), before the restart. */
  buildSeconds: number;
  /** After the restart, one message to each conversation at once: how many were answered. */
  answered: number;
  /** Seconds from sending to each answer, sorted (only those answered). */
  answerSeconds: number[];
  /** Workflow tasks that ran past their start-to-close timeout (a replay that took too long). */
  startToCloseTimeouts: number;
  /** Sticky workflow tasks that waited past their schedule-to-start timeout (the old worker's queue, or the new one's behind replays). */
  stickyTimeouts: number;
  /** The first error a message got, if any. */
  firstError?: string;
}

/**
 * What a worker restart does to conversations it must replay: `conversations` conversations taken
 * to `turns` turns, the worker restarted (an empty cache), then one message to each at once, with
 * the restarted worker running `slots` workflow tasks at once and the conversations started with
 * this workflow task timeout. Every replay shares the worker's one workflow thread, and each task
 * must finish within its timeout of being taken (worker/slots.ts).
 */
export async function restartSection(
  desk: DeskSystem,
  shop: BenchShop,
  stubURL: string,
  opts: { slots: number; workflowTaskTimeoutMs: number; conversations: number; turns: number; answerTimeoutMs: number },
  log: Log,
): Promise<RestartResult> {
  await setStubLatency(stubURL, 0);
  await desk.restartWorker(opts.slots);
  const start = { workflowTaskTimeoutMs: opts.workflowTaskTimeoutMs };
  const convs = await Promise.all(Array.from({ length: opts.conversations }, () => desk.startConversation(start)));
  const t0 = performance.now();
  await Promise.all(
    convs.map(async (conv, i) => {
      for (let t = 0; t < opts.turns; t++) {
        const s = SCENARIOS[(t + i) % SCENARIOS.length]!;
        await conv.send(s.message(shop.orderFor(s)));
      }
    }),
  );
  const buildSeconds = (performance.now() - t0) / 1000;
  const sizes = await Promise.all(convs.map(async (c) => (await desk.historySize(c.id)).events));
  log(
    `    ${opts.slots} slots: ${opts.conversations} conversations at turn ${opts.turns} in ${buildSeconds.toFixed(0)} s`,
  );
  await desk.restartWorker(opts.slots);
  const t1 = performance.now();
  const answerSeconds: number[] = [];
  let firstError: string | undefined;
  const s = scenario('status');
  await Promise.all(
    convs.map(async (conv) => {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`no answer in ${opts.answerTimeoutMs / 1000} s`)),
          opts.answerTimeoutMs,
        ).unref(),
      );
      try {
        await Promise.race([conv.send(s.message(shop.orderFor(s))), timeout]);
        answerSeconds.push((performance.now() - t1) / 1000);
      } catch (err) {
        firstError ??= (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
      }
    }),
  );
  let startToCloseTimeouts = 0;
  let stickyTimeouts = 0;
  for (const conv of convs) {
    const history = await desk.client.workflow.getHandle(conv.id).fetchHistory();
    for (const e of history.events ?? []) {
      const type = e.workflowTaskTimedOutEventAttributes?.timeoutType;
      if (type === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE) startToCloseTimeouts++;
      if (type === temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START) stickyTimeouts++;
    }
  }
  // Ended by terminating: a conversation stuck in a task timeout loop would not take the end signal.
  await Promise.all(
    convs.map((c) =>
      desk.client.workflow
        .getHandle(c.id)
        .terminate('benchmark')
        .catch(() => undefined),
    ),
  );
  await desk.endAll();
  await desk.restartWorker();
  answerSeconds.sort((a, b) => a - b);
  const result: RestartResult = {
    slots: opts.slots,
    workflowTaskTimeoutMs: opts.workflowTaskTimeoutMs,
    conversations: opts.conversations,
    turns: opts.turns,
    events: [Math.min(...sizes), Math.max(...sizes)],
    buildSeconds,
    answered: answerSeconds.length,
    answerSeconds,
    startToCloseTimeouts,
    stickyTimeouts,
    ...(firstError !== undefined && { firstError }),
  };
  log(
    `    ${opts.slots} slots, ${opts.workflowTaskTimeoutMs / 1000} s task timeout, after the restart: ${result.answered}/${opts.conversations} answered` +
      (answerSeconds.length ? ` (last in ${answerSeconds[answerSeconds.length - 1]!.toFixed(1)} s)` : '') +
      `; ${startToCloseTimeouts} task timeouts${firstError ? `; first error: ${firstError}` : ''}`,
  );
  return result;
}
