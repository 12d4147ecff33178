/**
 * `npm run deploy -- <command>`: roll a desk version out and back, against whatever Temporal
 * TEMPORAL_ADDRESS names (the dev server, the cluster of `npm run cluster`, any cluster or Cloud).
 * A version is a build id of the worker deployment DESK_DEPLOYMENT (default `desk`); each worker
 * prints its own in its banner (worker/versioning.ts).
 *
 *   versions                       every version: status, since when, conversations still running on it
 *   current <build id>             new conversations (and every run that continues as new) go to it
 *   ramp <build id> <percent>      that share of new conversations go to it; `ramp --stop` ends a ramp
 *   rollback                       the version that was current before becomes current again
 *
 * Conversations already running stay on their version (they are pinned) until they end or continue
 * as new: README, "Changing an agent while conversations run". Exit codes: 0 ok, 1 usage or refused
 * by the server, 3 Temporal unreachable.
 */
import { Command, CommanderError } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient, temporalSettings } from '../config/connection';
import { DEFAULT_DEPLOYMENT, describeDeployment, formatVersion, type DeploymentService } from '../worker/versioning';

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

/** One version as `versions` prints it. */
export interface VersionRow {
  buildId: string;
  /** current, ramping (with its share), draining, drained, inactive: the server's own status. */
  status: string;
  currentSince?: string;
  lastCurrent?: string;
  /** Running conversations pinned to it (visibility; a few seconds behind). */
  running: number | undefined;
}

// temporal.api.enums.v1.WorkerDeploymentVersionStatus, as numbers: @temporalio/proto is not a runtime dependency.
const STATUS: Record<number, string> = {
  1: 'inactive',
  2: 'current',
  3: 'ramping',
  4: 'draining',
  5: 'drained',
};

function iso(t: Timestamp): string | undefined {
  if (!t?.seconds) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

async function runningOn(client: Client, deploymentName: string, buildId: string): Promise<number | undefined> {
  try {
    const { count } = await client.workflow.count(
      `TemporalWorkerDeploymentVersion = '${deploymentName}:${buildId}' AND ExecutionStatus = 'Running'`,
    );
    return count;
  } catch {
    return undefined; // a server without the search attribute: the column says "?"
  }
}

export async function listVersions(client: Client, deploymentName: string): Promise<VersionRow[]> {
  const described = await describeDeployment(client.workflowService, client.options.namespace, deploymentName);
  const info = described?.workerDeploymentInfo;
  if (!info) return [];
  const ramp = info.routingConfig?.rampingVersionPercentage ?? 0;
  const rows: VersionRow[] = [];
  for (const s of info.versionSummaries ?? []) {
    const buildId = s.deploymentVersion?.buildId ?? '';
    const status = STATUS[Number(s.status ?? 0)] ?? 'unknown';
    rows.push({
      buildId,
      status: status === 'ramping' ? `ramping ${ramp}%` : status,
      currentSince: iso(s.currentSinceTime as Timestamp),
      lastCurrent: iso(s.lastCurrentTime as Timestamp),
      running: await runningOn(client, deploymentName, buildId),
    });
  }
  return rows.sort((a, b) => (b.lastCurrent ?? '').localeCompare(a.lastCurrent ?? ''));
}

/** Makes `buildId` current; returns the version that was current before. */
export async function setCurrent(
  service: DeploymentService,
  namespace: string,
  deploymentName: string,
  buildId: string,
): Promise<string> {
  const described = await describeDeployment(service, namespace, deploymentName);
  if (!described) throw new Error(`no worker deployment ${deploymentName} yet: start a worker of it first`);
  const before = described.workerDeploymentInfo?.routingConfig?.currentDeploymentVersion;
  await service.setWorkerDeploymentCurrentVersion({
    namespace,
    deploymentName,
    buildId,
    conflictToken: described.conflictToken,
    identity: 'npm run deploy',
  });
  return before?.buildId ? formatVersion({ deploymentName, buildId: before.buildId }) : 'none';
}

/** The version that was current most recently before the current one: what `rollback` returns to. */
export function previousVersion(rows: readonly VersionRow[]): VersionRow | undefined {
  return rows
    .filter((r) => r.status !== 'current' && r.lastCurrent)
    .sort((a, b) => (b.lastCurrent ?? '').localeCompare(a.lastCurrent ?? ''))[0];
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new Error(`the ramp percentage must be a number from 0 to 100, not ${JSON.stringify(value)}`);
  return n;
}

function formatRows(deploymentName: string, rows: readonly VersionRow[]): string {
  if (rows.length === 0) return `no versions of worker deployment ${deploymentName} yet: start a worker`;
  const table = [
    ['BUILD ID', 'STATUS', 'CURRENT SINCE', 'LAST CURRENT', 'RUNNING'],
    ...rows.map((r) => [
      r.buildId,
      r.status,
      r.currentSince ?? '-',
      r.lastCurrent ?? '-',
      r.running === undefined ? '?' : String(r.running),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return [
    `worker deployment ${deploymentName}`,
    ...table.map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    ),
  ].join('\n');
}

export function buildProgram(print: (line: string) => void = (l) => console.log(l)): Command {
  const program = new Command('deploy')
    .description('Roll desk versions (worker deployment build ids) out and back.')
    .option('--deployment <name>', 'worker deployment name', process.env.DESK_DEPLOYMENT || DEFAULT_DEPLOYMENT)
    .option('--json', 'machine-readable output')
    .exitOverride();
  const ctx = async () => {
    const { deployment, json } = program.opts<{ deployment: string; json?: boolean }>();
    const client = await connectClient(temporalSettings());
    return { client, deployment, json: !!json, namespace: client.options.namespace };
  };
  const withClient =
    <A extends unknown[]>(fn: (c: Awaited<ReturnType<typeof ctx>>, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const c = await ctx();
      try {
        await fn(c, ...args);
      } finally {
        await c.client.connection.close();
      }
    };

  program
    .command('versions')
    .alias('list')
    .description('every version of the deployment: status, since when, conversations still running on it')
    .action(
      withClient(async (c) => {
        const rows = await listVersions(c.client, c.deployment);
        print(c.json ? JSON.stringify(rows) : formatRows(c.deployment, rows));
      }),
    );
  program
    .command('current <buildId>')
    .description('make a version current: new conversations, and runs that continue as new, go to it')
    .action(
      withClient(async (c, buildId: string) => {
        const before = await setCurrent(c.client.workflowService, c.namespace, c.deployment, buildId);
        print(`${c.deployment}:${buildId} is current (was: ${before})`);
      }),
    );
  program
    .command('ramp [buildId] [percent]')
    .description('send a share of new conversations to a version; --stop ends the ramp')
    .option('--stop', 'no version ramps any more')
    .action(
      withClient(async (c, buildId: string | undefined, pct: string | undefined, opts: { stop?: boolean }) => {
        if (!opts.stop && (!buildId || pct === undefined)) throw new Error('ramp needs <buildId> <percent>, or --stop');
        const described = await describeDeployment(c.client.workflowService, c.namespace, c.deployment);
        if (!described) throw new Error(`no worker deployment ${c.deployment} yet: start a worker of it first`);
        await c.client.workflowService.setWorkerDeploymentRampingVersion({
          namespace: c.namespace,
          deploymentName: c.deployment,
          buildId: opts.stop ? '' : buildId,
          percentage: opts.stop ? 0 : percent(pct!),
          conflictToken: described.conflictToken,
          identity: 'npm run deploy',
        });
        print(opts.stop ? `${c.deployment}: no version ramps` : `${c.deployment}:${buildId} ramps at ${pct}%`);
      }),
    );
  program
    .command('rollback')
    .description('make the version that was current before the current one current again')
    .action(
      withClient(async (c) => {
        const previous = previousVersion(await listVersions(c.client, c.deployment));
        if (!previous)
          throw new Error(`worker deployment ${c.deployment} has no earlier current version to roll back to`);
        const before = await setCurrent(c.client.workflowService, c.namespace, c.deployment, previous.buildId);
        print(`${c.deployment}:${previous.buildId} is current again (was: ${before})`);
      }),
    );
  return program;
}

async function main(): Promise<number> {
  try {
    await buildProgram().parseAsync(process.argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 1;
    const message = (err as { details?: string }).details || (err as Error).message;
    console.error(`error: ${message.replace(/\s+/g, ' ')}`);
    return /cannot reach Temporal/.test(message) ? 3 : 1;
  }
}

if (require.main === module) {
  void main().then((code) => process.exit(code));
}
