/**
 * Cluster mode's config, without starting anything: the server config template in the repo
 * renders with every placeholder filled into the PostgreSQL layout the launcher sets up (and
 * compose runs), a placeholder the launcher does not know is an error rather than an empty value,
 * and the server install is only trusted when complete. The cluster itself runs in
 * `npm run test:cluster`.
 */
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parse } from 'yaml';

import {
  CLUSTER_DATABASES,
  CLUSTER_TEMPLATE,
  DEFAULT_CLUSTER_PORTS,
  clusterConfigValues,
  renderTemplate,
} from '../../scripts/local-cluster';
import { findTemporalServer } from '../../scripts/temporal-server';

const values = clusterConfigValues({ ...DEFAULT_CLUSTER_PORTS });

interface ServerConfig {
  persistence: {
    defaultStore: string;
    visibilityStore: string;
    datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }>;
  };
  services: Record<string, { rpc: { grpcPort: number; membershipPort: number } }>;
  dynamicConfigClient: { filepath: string };
}

describe('the server config template', () => {
  const template = fs.readFileSync(CLUSTER_TEMPLATE, 'utf8');

  it('renders to a config with persistence and visibility on the cluster PostgreSQL', () => {
    const config = parse(renderTemplate(template, values)) as ServerConfig;
    const store = (name: string) => config.persistence.datastores[name]!.sql;
    expect(store(config.persistence.defaultStore)).toMatchObject({
      pluginName: 'postgres12',
      databaseName: CLUSTER_DATABASES.temporal,
      connectAddr: '127.0.0.1:55432',
    });
    expect(store(config.persistence.visibilityStore)).toMatchObject({
      pluginName: 'postgres12',
      databaseName: CLUSTER_DATABASES.visibility,
      connectAddr: '127.0.0.1:55432',
    });
    expect(Object.keys(config.services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    expect(config.services.frontend!.rpc.grpcPort).toBe(7233);
    // Temporal keeps membership ports in a smallint column.
    for (const s of Object.values(config.services)) expect(s.rpc.membershipPort).toBeLessThan(32768);
    expect(fs.existsSync(config.dynamicConfigClient.filepath)).toBe(true);
  });

  it('uses every value the launcher sets, and no other', () => {
    const used = new Set([...template.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(values).sort());
  });

  it('refuses a placeholder the launcher does not set', () => {
    expect(() => renderTemplate('port: {{NOPE}}', values)).toThrow(/\{\{NOPE\}\}/);
  });
});

describe('the server install', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'temporal-server-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is found only when both binaries and both schema folders are there', () => {
    const env = { TEMPORAL_SERVER_DIR: dir };
    expect(findTemporalServer(env)).toBeUndefined();
    fs.mkdirSync(path.join(dir, 'bin'));
    for (const bin of ['temporal-server', 'temporal-sql-tool'])
      fs.writeFileSync(path.join(dir, 'bin', bin), '#!/bin/sh\n', { mode: 0o755 });
    expect(findTemporalServer(env)).toBeUndefined();
    for (const folder of ['temporal', 'visibility'])
      fs.mkdirSync(path.join(dir, 'schema', 'postgresql', 'v12', folder, 'versioned'), { recursive: true });
    expect(findTemporalServer(env)).toMatchObject({
      dir,
      server: path.join(dir, 'bin', 'temporal-server'),
      sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    });
    fs.chmodSync(path.join(dir, 'bin', 'temporal-sql-tool'), 0o644);
    expect(findTemporalServer(env)).toBeUndefined();
  });
});
