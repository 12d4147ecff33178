/**
 * The deployment files, checked without Docker: docker-compose.yml (parsed with `yaml`), the
 * Dockerfile and .dockerignore (read line by line) and .env.example. What is checked is what breaks
 * silently otherwise: a floating image tag, a worker that talks to the wrong server, a search
 * attribute list that drifts from the code, a model variable nobody documented.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadModelConfig } from '../../activities/model-config';
import { DESK_SEARCH_ATTRIBUTES } from '../../scripts/dev-server';
import { CLUSTER_DATABASES, CLUSTER_DYNAMIC_CONFIG } from '../../scripts/local-cluster';
import pins from '../../scripts/temporal-versions.json';

const REPO = path.resolve(__dirname, '..', '..');
const read = (file: string) => fs.readFileSync(path.join(REPO, file), 'utf8');

// --- docker-compose.yml -----------------------------------------------------------------------------

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | (string | { path: string; required?: boolean })[];
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
}

const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}; it has ${Object.keys(services).join(', ')}`);
  return s;
}

function environment(s: Service): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const i = entry.indexOf('=');
      env[i < 0 ? entry : entry.slice(0, i)] = i < 0 ? '' : entry.slice(i + 1);
    }
  } else {
    for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = v === null ? '' : String(v);
  }
  return env;
}

/** Published ports as { host, container } (short syntax "[ip:]host:container[/proto]" or long syntax). */
function publishedPorts(s: Service): { host: number; container: number }[] {
  return (s.ports ?? []).map((p) => {
    if (typeof p === 'object') return { host: Number(p.published ?? p.target), container: Number(p.target) };
    const parts = String(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const container = Number(parts[parts.length - 1]);
    const host = parts.length >= 2 ? Number(parts[parts.length - 2]) : container;
    return { host, container };
  });
}

function dependsOn(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([k, v]) => [k, v.condition ?? 'service_started']));
}

function text(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join('\n') : (value ?? '');
}

/** The search-attribute setup service: the one whose command runs `temporal operator search-attribute create`. */
function setupServiceName(): string {
  const names = Object.keys(services).filter((n) =>
    /search-attribute\s+create/.test(text(services[n]!.command) + text(services[n]!.entrypoint)),
  );
  expect(names).toHaveLength(1);
  return names[0]!;
}

/**
 * A pinned reference: an explicit tag with at least major.minor (`postgres:16` floats over patch
 * releases, `latest` over everything), or a digest; no `${...}` that could make it anything.
 */
function pinProblem(ref: string): string | undefined {
  if (ref.includes('$')) return 'is interpolated';
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return undefined;
  const lastSegment = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  if (colon < 0) return 'has no tag (means latest)';
  const tag = lastSegment.slice(colon + 1);
  if (/latest/i.test(tag)) return `has the floating tag ${tag}`;
  if (!/^v?\d+\.\d+/.test(tag)) return `has tag ${tag}, not a version with at least major.minor`;
  return undefined;
}

describe('docker-compose.yml', () => {
  const TEMPORAL = 'temporal';
  const UI = services['temporal-ui'] ? 'temporal-ui' : 'ui';

  test('has PostgreSQL, the Temporal server, the Web UI, the worker and the search-attribute setup', () => {
    for (const name of ['postgresql', TEMPORAL, UI, 'worker']) expect(services).toHaveProperty([name]);
    expect(service('postgresql').image).toMatch(/^postgres:/);
    expect(service(TEMPORAL).image).toMatch(/^temporalio\/(server|auto-setup):/);
    expect(service(UI).image).toMatch(/^temporalio\/ui:/);
    expect(service(setupServiceName()).image).toMatch(/^temporalio\/admin-tools:/);
  });

  test('every image is pinned to a version (no latest, no missing tag, no interpolation)', () => {
    const images = Object.entries(services).filter(([, s]) => s.image !== undefined);
    expect(images.length).toBeGreaterThanOrEqual(4);
    const problems = images.flatMap(([name, s]) => {
      const why = pinProblem(s.image!);
      return why ? [`${name}: ${s.image} ${why}`] : [];
    });
    expect(problems).toEqual([]);
    // Anything without an image must be built from this repository.
    for (const [name, s] of Object.entries(services))
      if (s.image === undefined) expect([name, s.build]).toEqual([name, expect.anything()]);
  });

  test('all Temporal images are the same server version (admin-tools matches the server it sets up)', () => {
    const versions = Object.values(services)
      .map((s) => /^temporalio\/(?:server|auto-setup|admin-tools):(\d+\.\d+\.\d+)/.exec(s.image ?? '')?.[1])
      .filter((v): v is string => v !== undefined);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(new Set(versions).size).toBe(1);
  });

  test('publishes the Temporal frontend on 7233 and the Web UI on 8080', () => {
    expect(publishedPorts(service(TEMPORAL))).toContainEqual({ host: 7233, container: 7233 });
    expect(publishedPorts(service(UI))).toContainEqual({ host: 8080, container: 8080 });
    expect(environment(service(UI)).TEMPORAL_ADDRESS).toBe(`${TEMPORAL}:7233`);
  });

  test('the server runs on PostgreSQL, whose schema is set up before the server starts', () => {
    const env = environment(service(TEMPORAL));
    expect(env.DB).toBe('postgres12');
    expect(env.POSTGRES_SEEDS).toBe('postgresql');
    expect(env.DB_PORT).toBe('5432');
    expect(env.POSTGRES_USER).toBeTruthy();
    expect(env.POSTGRES_PWD).toBeTruthy();
    expect(dependsOn(service(TEMPORAL)).postgresql).toBe('service_healthy');
    // The schema step: some service runs temporal-sql-tool for both databases and the server waits for it.
    const schema = Object.entries(services).find(([, s]) => /temporal-sql-tool/.test(text(s.command)));
    expect(schema).toBeDefined();
    const script = text(schema![1].command);
    for (const db of ['temporal', 'temporal_visibility'])
      expect(script).toMatch(new RegExp(`--db ${db} update-schema`));
    const isAutoSetup = /auto-setup/.test(service(TEMPORAL).image ?? '');
    if (!isAutoSetup) expect(dependsOn(service(TEMPORAL))[schema![0]]).toBe('service_completed_successfully');
  });

  test('bind-mounted files (Temporal dynamic config) exist in the repository', () => {
    const binds = Object.values(services).flatMap((s) =>
      (s.volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '')))
        .filter((src) => src.startsWith('.')),
    );
    expect(binds.length).toBeGreaterThan(0);
    for (const src of binds) expect([src, fs.existsSync(path.join(REPO, src))]).toEqual([src, true]);
    const dynamicConfig = environment(service(TEMPORAL)).DYNAMIC_CONFIG_FILE_PATH;
    if (dynamicConfig)
      expect(fs.existsSync(path.join(REPO, 'deploy', 'temporal', 'dynamicconfig', path.basename(dynamicConfig)))).toBe(
        true,
      );
  });

  test("the server's dynamic config turns eager activity execution on (issue 11)", () => {
    const file = path.basename(environment(service(TEMPORAL)).DYNAMIC_CONFIG_FILE_PATH ?? '');
    const config = parse(read(path.join('deploy', 'temporal', 'dynamicconfig', file))) as Record<
      string,
      { value: unknown; constraints?: object }[]
    >;
    expect(config['system.enableActivityEagerExecution']).toEqual([{ value: true, constraints: {} }]);
  });

  test('the tracing profile runs Jaeger on loopback (UI 16686, OTLP/HTTP 4318), and only with that profile', () => {
    const jaeger = service('jaeger') as Service & { profiles?: string[] };
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one:/);
    expect(jaeger.profiles).toEqual(['tracing']);
    expect(publishedPorts(jaeger)).toEqual([
      { host: 16686, container: 16686 },
      { host: 4318, container: 4318 },
    ]);
    expect((jaeger.ports ?? []).every((p) => String(p).startsWith('127.0.0.1:'))).toBe(true);
    // Every other service runs without a profile: `docker compose up` is the desk as before.
    const profiled = Object.entries(services).filter(([, s]) => (s as { profiles?: unknown }).profiles !== undefined);
    expect(profiled.map(([name]) => name)).toEqual(['jaeger']);
    // The worker is pointed at it through .env, as .env.example shows.
    expect(read('.env.example')).toMatch(/^# OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/jaeger:4318$/m);
  });

  test('every depends_on condition can be met', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, condition] of Object.entries(dependsOn(s))) {
        const target = service(dep);
        if (condition === 'service_healthy')
          expect([name, dep, target.healthcheck?.test !== undefined && !target.healthcheck.disable]).toEqual([
            name,
            dep,
            true,
          ]);
        // A one-shot that is restarted "always" never completes.
        if (condition === 'service_completed_successfully')
          expect([name, dep, target.restart ?? 'no']).toEqual([
            name,
            dep,
            expect.stringMatching(/^(no|on-failure.*)$/),
          ]);
      }
    }
  });

  test('the worker is built from this repository and talks to the stack', () => {
    const worker = service('worker');
    const build = typeof worker.build === 'string' ? { context: worker.build } : (worker.build ?? {});
    expect(path.normalize(build.context ?? '')).toBe('.');
    expect(build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
    expect(fs.existsSync(path.join(REPO, 'Dockerfile'))).toBe(true);

    const env = environment(worker);
    expect(env.TEMPORAL_ADDRESS).toBe(`${TEMPORAL}:7233`);

    // It must not start before the namespace and the search attributes exist.
    expect(dependsOn(worker)[setupServiceName()]).toBe('service_completed_successfully');
  });

  test('every worker shares one shop: its own database on the stack PostgreSQL, so --scale worker=3 is correct across hosts', () => {
    const worker = service('worker');
    const env = environment(worker);
    // No SQLite file: a file is local to one host, and scaled workers would each have their own shop.
    expect(env.SHOP_DB).toBeUndefined();
    expect((worker.volumes ?? []).length).toBe(0);
    const url = new URL(env.SHOP_DATABASE_URL ?? '');
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('postgresql');
    expect(url.port).toBe(environment(service(TEMPORAL)).DB_PORT);
    expect(url.pathname).toBe('/shop');
    // The same user and password as the server's PostgreSQL account.
    expect(decodeURIComponent(url.username)).toBe(environment(service('postgresql')).POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(environment(service('postgresql')).POSTGRES_PASSWORD);
    // The shop database is its own, not Temporal's, and exists before any worker starts.
    expect(['temporal', 'temporal_visibility']).not.toContain(url.pathname.slice(1));
    const schema = Object.entries(services).find(([, s]) => /temporal-sql-tool/.test(text(s.command)))!;
    expect(text(schema[1].command)).toMatch(/--db shop create/);
    expect(dependsOn(worker)[schema[0]]).toBe('service_completed_successfully');
    expect(dependsOn(worker).postgresql).toBe('service_healthy');
    // Nothing else in the stack mounts a shop volume any more.
    expect(Object.keys(compose.volumes ?? {})).toEqual(['postgresql-data']);
  });

  test('the Temporal tags are the server version npm run cluster builds, with the same dynamic config', () => {
    const tags = Object.values(services)
      .map((s) => /^temporalio\/(?:server|admin-tools):(\d+\.\d+\.\d+)/.exec(s.image ?? '')?.[1])
      .filter((v): v is string => v !== undefined);
    expect(new Set(tags)).toEqual(new Set([pins.server.version]));
    // The launcher's config template points at the same dynamic config file the compose file mounts.
    const mounted = (service(TEMPORAL).volumes ?? []).map((v) =>
      typeof v === 'string' ? v.split(':')[0]! : (v.source ?? ''),
    );
    expect(mounted).toContain('./deploy/temporal/dynamicconfig');
    expect(path.relative(REPO, CLUSTER_DYNAMIC_CONFIG)).toBe(
      path.join(
        'deploy',
        'temporal',
        'dynamicconfig',
        path.basename(environment(service(TEMPORAL)).DYNAMIC_CONFIG_FILE_PATH ?? ''),
      ),
    );
    // The same schema commands: the compose script's lines and the launcher's, for both databases.
    const script = text(Object.values(services).find((s) => /temporal-sql-tool/.test(text(s.command)))!.command);
    const launcher = read('scripts/local-cluster.ts');
    for (const step of ['create', "'setup-schema', '-v', '0.0'", "'update-schema', '-d'"])
      expect(launcher).toContain(step);
    for (const db of ['temporal', 'temporal_visibility']) {
      expect(script).toMatch(new RegExp(`--db ${db} create`));
      expect(script).toMatch(new RegExp(`--db ${db} setup-schema -v 0.0`));
      expect(script).toMatch(new RegExp(`--db ${db} update-schema -d`));
    }
    expect(Object.values(CLUSTER_DATABASES).sort()).toEqual(['shop', 'temporal', 'temporal_visibility']);
  });

  test('the worker takes its model settings from the .env file, never from the compose file', () => {
    const worker = service('worker');
    const envFiles = (Array.isArray(worker.env_file) ? worker.env_file : [worker.env_file]).filter(
      (f) => f !== undefined,
    );
    expect(envFiles.map((f) => (typeof f === 'string' ? f : f.path))).toContain('.env');
    // Optional, so `docker compose up` works without a .env (offline model).
    const dotEnv = envFiles.find((f) => (typeof f === 'string' ? f : f.path) === '.env');
    expect(typeof dotEnv === 'object' ? dotEnv.required : 'string form: required').toBe(false);
    const hardCoded = Object.keys(environment(worker)).filter((k) => k.startsWith('OPENAI_'));
    expect(hardCoded).toEqual([]);
  });

  test('the setup service registers exactly the desk search attributes, one per command, with their types', () => {
    const script = text(service(setupServiceName()).command);
    const registered: Record<string, string> = {};
    for (const line of script.split('\n').filter((l) => /search-attribute\s+create/.test(l))) {
      const names = [...line.matchAll(/--name[ =]"?(\w+)"?/g)].map((m) => m[1]!);
      const types = [...line.matchAll(/--type[ =]"?(\w+)"?/g)].map((m) => m[1]!);
      // `--name A --name B --type X` silently registers only A with the Temporal CLI.
      expect([line.trim(), names.length, types.length]).toEqual([line.trim(), 1, 1]);
      registered[names[0]!] = types[0]!;
    }
    expect(registered).toEqual({ ...DESK_SEARCH_ATTRIBUTES });
    // And it waits for the server instead of failing on the first try.
    expect(script).toMatch(/cluster health/);
    expect(script).toMatch(/until|retry|while/);
    // The namespace it prepares is the one the worker uses.
    const nsVar = environment(service(setupServiceName()));
    expect(Object.values(nsVar)).toContain(environment(service('worker')).TEMPORAL_NAMESPACE);
  });

  test('every variable the compose file interpolates is documented in .env.example', () => {
    const raw = read('docker-compose.yml').replace(/\$\$/g, '');
    const used = new Set([...raw.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!));
    const documented = new Set([...read('.env.example').matchAll(/^#?\s*(\w+)=/gm)].map((m) => m[1]!));
    expect([...used].filter((v) => !documented.has(v))).toEqual([]);
  });
});

// --- .env.example ------------------------------------------------------------------------------------

describe('.env.example', () => {
  const example = read('.env.example');
  const assignments = new Map([...example.matchAll(/^(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));

  /** The variables loadModelConfig actually reads, recorded by handing it an environment that logs reads. */
  function variablesReadByLoadModelConfig(): string[] {
    const seen = new Set<string>();
    const env = new Proxy({} as NodeJS.ProcessEnv, {
      get(_target, key) {
        if (typeof key === 'string') seen.add(key);
        return undefined;
      },
    });
    loadModelConfig(env);
    return [...seen].sort();
  }

  test('names every variable loadModelConfig reads', () => {
    const vars = variablesReadByLoadModelConfig();
    expect(vars).toEqual(
      expect.arrayContaining(['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_MODEL', 'OPENAI_TIMEOUT_MS']),
    );
    for (const v of vars) expect([v, assignments.has(v)]).toEqual([v, true]);
  });

  test('holds no secrets: OPENAI_API_KEY is empty and nothing looks like a key', () => {
    expect(assignments.get('OPENAI_API_KEY')).toBe('');
    expect(assignments.get('TEMPORAL_API_KEY') ?? '').toBe('');
    expect(example).not.toMatch(/sk-[A-Za-z0-9_-]{8,}/);
    expect(example).not.toMatch(/-----BEGIN/);
  });

  test('the values it does set are valid for loadModelConfig (copying it to .env gives the offline model)', () => {
    const env = Object.fromEntries(assignments) as NodeJS.ProcessEnv;
    expect(loadModelConfig(env).mode).toBe('offline');
  });

  test('documents the Temporal Cloud settings, commented out', () => {
    for (const v of [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_API_KEY',
      'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'TEMPORAL_TLS_CLIENT_KEY_PATH',
    ]) {
      expect([v, new RegExp(`^#\\s*${v}=`, 'm').test(example)]).toEqual([v, true]);
    }
    expect(assignments.has('TEMPORAL_ADDRESS')).toBe(false);
  });
});

// --- Dockerfile and .dockerignore ----------------------------------------------------------------------

describe('Dockerfile', () => {
  // Logical lines: continuation backslashes joined, comments and blank lines dropped.
  const lines = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const instructions = lines.map((l) => {
    const m = /^(\w+)\s+(.*)$/.exec(l)!;
    return { op: m[1]!.toUpperCase(), args: m[2]! };
  });
  const froms = instructions.filter((i) => i.op === 'FROM');
  const lastStage = instructions.slice(instructions.lastIndexOf(froms[froms.length - 1]!));

  test('every FROM is pinned to a Node 20 bookworm-slim release (or an earlier stage)', () => {
    expect(froms.length).toBeGreaterThanOrEqual(1);
    const stages = new Set<string>();
    for (const from of froms) {
      const [ref, , alias] = from.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      if (!stages.has(ref!)) {
        expect([ref, pinProblem(ref!)]).toEqual([ref, undefined]);
        expect(ref).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
      }
      if (alias) stages.add(alias);
    }
  });

  test('installs production dependencies with npm ci, skipping the Temporal binaries', () => {
    const npmCi = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(-1);
    expect(instructions[npmCi]!.args).toMatch(/--omit=dev/);
    const before = instructions.slice(0, npmCi);
    expect(
      before.some((i) => (i.op === 'ENV' || i.op === 'ARG') && /TEMPORAL_SKIP_INSTALL=1/.test(i.args)) ||
        /TEMPORAL_SKIP_INSTALL=1/.test(instructions[npmCi]!.args),
    ).toBe(true);
    // The postinstall script and its pins must be in the image before `npm ci` runs it.
    const copied = before
      .filter((i) => i.op === 'COPY')
      .map((i) => i.args)
      .join(' ');
    for (const f of [
      'package.json',
      'package-lock.json',
      'scripts/install-temporal.mjs',
      'scripts/temporal-versions.json',
    ])
      expect(copied).toContain(f);
    // better-sqlite3's build toolchain is in a build stage, not in the final image.
    expect(
      before.some((i) => i.op === 'RUN' && /python3/.test(i.args) && /g\+\+/.test(i.args) && /\bmake\b/.test(i.args)),
    ).toBe(true);
    expect(lastStage.some((i) => i.op === 'RUN' && /apt-get install/.test(i.args))).toBe(false);
  });

  test('runs worker/main.ts as the unprivileged node user, with the shop database on /data', () => {
    const user = lastStage.filter((i) => i.op === 'USER').pop();
    expect(user?.args).toBeDefined();
    expect(user!.args).not.toMatch(/^(root|0)(:|$)/);
    const cmd = lastStage.filter((i) => i.op === 'CMD').pop();
    expect(cmd).toBeDefined();
    const argv = JSON.parse(cmd!.args) as string[]; // exec form: the process gets SIGTERM itself
    expect(argv.join(' ')).toMatch(/worker\/main\.ts$/);
    expect(lastStage.some((i) => i.op === 'ENV' && /SHOP_DB=\/data\/shop\.db/.test(i.args))).toBe(true);
    expect(lastStage.some((i) => i.op === 'VOLUME' && /\/data\b/.test(i.args))).toBe(true);
  });

  test('.dockerignore keeps host state and secrets out of the build context', () => {
    const ignored = read('.dockerignore')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', '.temporal', '.data', '.git', 'coverage', '.env'])
      expect(ignored).toContain(entry);
  });
});
