/**
 * Worker Versioning: how the desk ships. Every worker declares a version of a worker deployment
 * (Temporal's deployment name + build id); the server sends each conversation's workflow tasks only
 * to workers of the version it runs on, so a conversation is never replayed on code it did not start
 * with (the conversation workflow is PINNED: workflows/conversation.ts says why). A new version takes
 * new conversations once it is made *current* (`npm run deploy -- current <build id>`); the old
 * version keeps serving its own until they end or move at their next continue-as-new.
 *
 * This file owns the configuration (DESK_VERSIONING, DESK_DEPLOYMENT, DESK_BUILD_ID, DESK_PROMOTE),
 * the default build id (the package version plus a hash of the workflow bundle the worker runs), and
 * the calls to the server's worker-deployment API that the worker and `npm run deploy` share.
 */
import { createHash } from 'node:crypto';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { version as PACKAGE_VERSION } from '../package.json';

/** The worker-deployment part of Temporal's gRPC API, as both Client.workflowService and NativeConnection.workflowService expose it. */
export type DeploymentService = Pick<
  temporal.api.workflowservice.v1.WorkflowService,
  | 'describeWorkerDeployment'
  | 'listWorkerDeployments'
  | 'setWorkerDeploymentCurrentVersion'
  | 'setWorkerDeploymentRampingVersion'
  | 'describeWorkerDeploymentVersion'
>;

export const DEFAULT_DEPLOYMENT = 'desk';

/**
 * What a worker does about the deployment's current version once it polls:
 * - `if-none`: makes its own version current only when the deployment has none yet (its first
 *   worker ever); a later version waits for `npm run deploy -- current`. The default of `npm run worker`.
 * - `always`: makes its own version current (the one-worker launchers `npm start` and `npm run demo`).
 * - `never`: leaves routing to `npm run deploy`.
 */
export type PromotePolicy = 'if-none' | 'always' | 'never';
const PROMOTE_POLICIES: readonly PromotePolicy[] = ['if-none', 'always', 'never'];

export type VersioningConfig =
  | { enabled: false }
  | {
      enabled: true;
      deploymentName: string;
      /** Unset: derived from the workflow bundle (buildIdFor). */
      buildId?: string;
      promote: PromotePolicy;
    };

// Names travel in version strings ("<deployment>:<build id>" in the UI and the CLI) and in
// command lines: keep them to plain characters, and short.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** Reads DESK_VERSIONING / DESK_DEPLOYMENT / DESK_BUILD_ID / DESK_PROMOTE; a bad value is one clear error. */
export function versioningFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  defaults: { deploymentName?: string; promote?: PromotePolicy } = {},
): VersioningConfig {
  const switchValue = (env.DESK_VERSIONING ?? 'on').trim().toLowerCase();
  if (['off', 'false', '0', 'no'].includes(switchValue)) return { enabled: false };
  if (!['on', 'true', '1', 'yes', ''].includes(switchValue))
    throw new Error(`DESK_VERSIONING must be on or off, not ${JSON.stringify(env.DESK_VERSIONING)}`);
  const deploymentName = env.DESK_DEPLOYMENT?.trim() || defaults.deploymentName || DEFAULT_DEPLOYMENT;
  if (!NAME.test(deploymentName))
    throw new Error(`DESK_DEPLOYMENT must be 1-63 letters, digits, _ or -, not ${JSON.stringify(deploymentName)}`);
  const buildId = env.DESK_BUILD_ID?.trim() || undefined;
  if (buildId !== undefined && !BUILD_ID.test(buildId))
    throw new Error(`DESK_BUILD_ID must be 1-128 letters, digits, . _ + or -, not ${JSON.stringify(buildId)}`);
  const promote = (env.DESK_PROMOTE?.trim() || defaults.promote || 'if-none') as PromotePolicy;
  if (!PROMOTE_POLICIES.includes(promote))
    throw new Error(
      `DESK_PROMOTE must be one of ${PROMOTE_POLICIES.join(', ')}, not ${JSON.stringify(env.DESK_PROMOTE)}`,
    );
  return { enabled: true, deploymentName, ...(buildId && { buildId }), promote };
}

/**
 * The default build id: `<package.json version>-<12 hex digits of the bundle's SHA-256>`. The bundle
 * is exactly the code that replays histories (workflows, agents, contract, the SDK's workflow
 * runtime), so two workers with the same build id make the same decisions, and any change that could
 * break a running conversation gives a new id. Activity-only changes keep the id: they are safe to
 * roll in place.
 */
export function buildIdFor(bundleCode: string): string {
  // Without the inline source map: it names the sources by absolute path, so the same code in two
  // checkouts (two hosts, two folders) would get two ids.
  const code = bundleCode.replace(/^\/\/# sourceMappingURL=.*$/gm, '');
  return `${PACKAGE_VERSION}-${createHash('sha256').update(code).digest('hex').slice(0, 12)}`;
}

export function formatVersion(v: WorkerDeploymentVersion | null | undefined): string {
  return v?.deploymentName && v.buildId ? `${v.deploymentName}:${v.buildId}` : 'unversioned';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
const NOT_FOUND = 5;

/** The deployment as the server describes it; undefined while it does not exist yet (no worker of it has polled). */
export async function describeDeployment(
  service: DeploymentService,
  namespace: string,
  deploymentName: string,
): Promise<temporal.api.workflowservice.v1.DescribeWorkerDeploymentResponse | undefined> {
  try {
    return await service.describeWorkerDeployment({ namespace, deploymentName });
  } catch (err) {
    if (grpcCode(err) === NOT_FOUND) return undefined;
    throw err;
  }
}

function sameVersion(
  a: temporal.api.deployment.v1.IWorkerDeploymentVersion | null | undefined,
  b: WorkerDeploymentVersion,
): boolean {
  return !!a && a.deploymentName === b.deploymentName && a.buildId === b.buildId;
}

/**
 * Applies a worker's promote policy once its version is registered (the server learns a version from
 * its workers' polls, so this waits for that). Returns one line for the worker's banner.
 */
export async function applyPromotePolicy(
  service: DeploymentService,
  namespace: string,
  version: WorkerDeploymentVersion,
  policy: PromotePolicy,
  opts: { timeoutMs?: number; identity?: string } = {},
): Promise<string> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const described = await describeDeployment(service, namespace, version.deploymentName);
    const info = described?.workerDeploymentInfo;
    const registered = info?.versionSummaries?.some((s) => sameVersion(s.deploymentVersion, version)) ?? false;
    const current = info?.routingConfig?.currentDeploymentVersion;
    if (sameVersion(current, version)) return `${formatVersion(version)} is current`;
    const currentText = current?.buildId ? formatVersion(current as WorkerDeploymentVersion) : 'none';
    if (policy === 'never' || (policy === 'if-none' && current?.buildId)) {
      return `${formatVersion(version)} is not current (current: ${currentText}); make it current with \`npm run deploy -- current ${version.buildId}\``;
    }
    if (described && registered) {
      try {
        await service.setWorkerDeploymentCurrentVersion({
          namespace,
          deploymentName: version.deploymentName,
          buildId: version.buildId,
          // With if-none, someone else promoting in between wins: the set fails and the loop reads again.
          conflictToken: policy === 'if-none' ? described.conflictToken : undefined,
          identity: opts.identity,
        });
        return `${formatVersion(version)} made current (was: ${currentText})`;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    } else if (Date.now() > deadline) {
      throw new Error(`worker deployment version ${formatVersion(version)} did not register within the timeout`);
    }
    await sleep(250);
  }
}
