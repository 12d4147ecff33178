/**
 * Worker Versioning's configuration and routing rules, without a server: what DESK_* means, the
 * default build id, what a worker does about the current version (DESK_PROMOTE), and which version
 * `npm run deploy -- rollback` goes back to. The real thing, against a dev server: test/e2e/upgrade.test.ts.
 */
import { previousVersion, type VersionRow } from '../../scripts/deploy';
import { version as PACKAGE_VERSION } from '../../package.json';
import { applyPromotePolicy, buildIdFor, versioningFromEnv, type DeploymentService } from '../../worker/versioning';

describe('versioningFromEnv', () => {
  it('is on by default: deployment desk, build id from the bundle, promote only a first version', () => {
    expect(versioningFromEnv({})).toEqual({ enabled: true, deploymentName: 'desk', promote: 'if-none' });
  });

  it('takes DESK_DEPLOYMENT, DESK_BUILD_ID and DESK_PROMOTE, over the caller defaults', () => {
    expect(
      versioningFromEnv(
        { DESK_DEPLOYMENT: 'support-eu', DESK_BUILD_ID: '1.4.0+g1a2b3c', DESK_PROMOTE: 'never' },
        { promote: 'always', deploymentName: 'desk-demo' },
      ),
    ).toEqual({ enabled: true, deploymentName: 'support-eu', buildId: '1.4.0+g1a2b3c', promote: 'never' });
    expect(versioningFromEnv({}, { promote: 'always' })).toMatchObject({ promote: 'always' });
  });

  it('DESK_VERSIONING=off: an unversioned worker', () => {
    expect(versioningFromEnv({ DESK_VERSIONING: 'off', DESK_BUILD_ID: 'ignored' })).toEqual({ enabled: false });
  });

  it.each([
    [{ DESK_VERSIONING: 'maybe' }, /DESK_VERSIONING must be on or off, not "maybe"/],
    [{ DESK_DEPLOYMENT: 'desk:prod' }, /DESK_DEPLOYMENT must be 1-63 letters, digits, _ or -, not "desk:prod"/],
    [{ DESK_BUILD_ID: 'v 2' }, /DESK_BUILD_ID must be 1-128 letters/],
    [{ DESK_BUILD_ID: 'x'.repeat(129) }, /DESK_BUILD_ID must be 1-128 letters/],
    [{ DESK_PROMOTE: 'sometimes' }, /DESK_PROMOTE must be one of if-none, always, never, not "sometimes"/],
  ])('refuses %j with a clear message', (env, message) => {
    expect(() => versioningFromEnv(env)).toThrow(message);
  });
});

describe('buildIdFor', () => {
  it('names the package version and the bundle: the same code, the same id; any change, a new one', () => {
    const id = buildIdFor('bundle one');
    expect(id).toMatch(new RegExp(`^${PACKAGE_VERSION.replace(/\./g, '\\.')}-[0-9a-f]{12}$`));
    expect(buildIdFor('bundle one')).toBe(id);
    expect(buildIdFor('bundle one ')).not.toBe(id);
  });

  it('is the same in every checkout: the inline source map (absolute paths) does not count', () => {
    const map = (dir: string) =>
      `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(`{"sources":["${dir}/workflows/index.ts"]}`).toString('base64')}`;
    expect(buildIdFor(`bundle one${map('/srv/desk')}`)).toBe(buildIdFor(`bundle one${map('/home/me/desk')}`));
    expect(buildIdFor(`bundle one${map('/srv/desk')}`)).toBe(buildIdFor('bundle one\n'));
  });
});

/** A worker-deployment API that knows one deployment, with `registered` versions and a current one. */
function fakeService(state: { registered: string[]; current?: string; registerAfterCalls?: number }) {
  const sets: { buildId: string; conflictToken?: unknown }[] = [];
  let describes = 0;
  const service = {
    describeWorkerDeployment: async () => {
      describes++;
      if (describes <= (state.registerAfterCalls ?? 0)) throw Object.assign(new Error('not found'), { code: 5 });
      return {
        conflictToken: new Uint8Array([describes]),
        workerDeploymentInfo: {
          versionSummaries: state.registered.map((buildId) => ({
            deploymentVersion: { deploymentName: 'desk', buildId },
          })),
          routingConfig: {
            currentDeploymentVersion: state.current ? { deploymentName: 'desk', buildId: state.current } : null,
          },
        },
      };
    },
    setWorkerDeploymentCurrentVersion: async (req: { buildId: string; conflictToken?: unknown }) => {
      sets.push({ buildId: req.buildId, conflictToken: req.conflictToken });
      state.current = req.buildId;
      return {};
    },
  } as unknown as DeploymentService;
  return { service, sets };
}

describe('applyPromotePolicy', () => {
  const v2 = { deploymentName: 'desk', buildId: 'v2' };

  it('if-none: the first version of a deployment makes itself current, once it has registered', async () => {
    const { service, sets } = fakeService({ registered: ['v2'], registerAfterCalls: 2 });
    expect(await applyPromotePolicy(service, 'default', v2, 'if-none')).toBe('desk:v2 made current (was: none)');
    // With the deployment's conflict token: a version promoted in between by someone else wins.
    expect(sets).toEqual([{ buildId: 'v2', conflictToken: expect.any(Uint8Array) }]);
  });

  it('if-none: a later version leaves the current one alone and says how to promote it', async () => {
    const { service, sets } = fakeService({ registered: ['v1', 'v2'], current: 'v1' });
    expect(await applyPromotePolicy(service, 'default', v2, 'if-none')).toBe(
      'desk:v2 is not current (current: desk:v1); make it current with `npm run deploy -- current v2`',
    );
    expect(sets).toEqual([]);
  });

  it('always: takes over from the current version', async () => {
    const { service, sets } = fakeService({ registered: ['v1', 'v2'], current: 'v1' });
    expect(await applyPromotePolicy(service, 'default', v2, 'always')).toBe('desk:v2 made current (was: desk:v1)');
    expect(sets).toEqual([{ buildId: 'v2', conflictToken: undefined }]);
  });

  it('never: only reports; a version already current says so', async () => {
    const { service, sets } = fakeService({ registered: ['v2'], current: 'v2' });
    expect(await applyPromotePolicy(service, 'default', v2, 'never')).toBe('desk:v2 is current');
    expect(sets).toEqual([]);
  });

  it('gives up with a clear error when the version never registers', async () => {
    const { service } = fakeService({ registered: [], registerAfterCalls: 1_000 });
    await expect(applyPromotePolicy(service, 'default', v2, 'always', { timeoutMs: 300 })).rejects.toThrow(
      'worker deployment version desk:v2 did not register within the timeout',
    );
  });
});

describe('npm run deploy -- rollback', () => {
  const row = (buildId: string, status: string, lastCurrent?: string): VersionRow => ({
    buildId,
    status,
    lastCurrent,
    running: 0,
  });

  it('goes back to the version that was current most recently before the current one', () => {
    const rows = [
      row('v3', 'current', '2026-11-28T10:00:00.000Z'),
      row('v1', 'drained', '2026-11-20T10:00:00.000Z'),
      row('v2', 'draining', '2026-11-27T10:00:00.000Z'),
      row('v4', 'ramping 10%'),
    ];
    expect(previousVersion(rows)?.buildId).toBe('v2');
  });

  it('has nothing to go back to when no other version was ever current', () => {
    expect(previousVersion([row('v1', 'current', '2026-11-28T10:00:00.000Z'), row('v2', 'inactive')])).toBeUndefined();
  });
});
