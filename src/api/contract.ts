// The wire contract of the HTTP API: one TypeBox schema per shape that
// crosses it, and the TypeScript type of each (Static<>). The routes declare
// these as their request and response schemas (so fastify validates input,
// serialises output and writes the OpenAPI document from them); the
// scheduler's views are typed by them; the CLI and the testbox agent read
// them. A field added here is added everywhere at once.
import { Type, type Static, type TSchema } from 'typebox';
import { HEALTHS, STAGES, TESTBOX_HEALTHS } from '../model/lifecycle.ts';
import type { BisectResult } from '../bisect/types.ts';
import type { Status } from '../bisect/engine.ts';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Iso = (description?: string) => Type.String({ description: description ?? 'ISO 8601 time' });

export const HOSTNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';
export const MAC_PATTERN = '^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$';

export const StageSchema = Type.Enum(STAGES);
export const HealthSchema = Type.Enum(HEALTHS);
export const BUILD_STATES = ['queued', 'building', 'succeeded', 'failed', 'cancelled'] as const;
export type BuildState = (typeof BUILD_STATES)[number];
export const DEP_STATES = ['waiting', 'done', 'failed', 'detached'] as const;
export type DepState = (typeof DEP_STATES)[number];
export const BISECT_STATES = ['running', 'done', 'failed', 'cancelled'] as const;
export type BisectStateName = (typeof BISECT_STATES)[number];

/** Every 4xx and 5xx answer. `error` is a stable code from ERROR_CODES (api/errors.ts). */
export const ErrorBody = Type.Object(
  { error: Type.String(), message: Type.String(), details: Type.Unknown() },
  { $id: 'Error', description: 'Every 4xx and 5xx answer: a stable code, a message for people, details for programs' },
);
export type ErrorBody = Static<typeof ErrorBody>;

// ---- jobs -------------------------------------------------------------------

export const SubmitResult = Type.Object({
  job_id: Type.Integer(),
  result_root: Type.String(),
  warning: Type.Optional(Type.String({ description: 'The job was accepted but no registered testbox can take it (it finishes unrunnable at the lab\'s queue_timeout unless one registers)' })),
});
export type SubmitResult = Static<typeof SubmitResult>;
export const SubmitResults = Type.Array(SubmitResult);

/** What a job whose build failed is told (SPEC §4). */
export const DepFailure = Type.Object(
  {
    pkg: Type.String(),
    build_key: Type.String(),
    pkgbuild_job: Nullable(Type.Integer()),
    health: Type.String(),
    log: Nullable(Type.String()),
    error: Type.Optional(Type.String()),
    cached: Type.Optional(Type.Boolean({ description: 'The failure was remembered from an earlier build, not seen now' })),
  },
  { additionalProperties: true },
);
export type DepFailure = Static<typeof DepFailure>;

export const Dep = Type.Object({
  pkg: Type.String(),
  build_key: Type.String(),
  wait: Type.Enum(DEP_STATES),
  build_state: Type.Enum(BUILD_STATES),
  pkgbuild_job: Nullable(Type.Integer()),
  commit: Type.String({ description: 'Full sha' }),
  commit_ref: Type.String({ description: 'The commit as written' }),
  config: Nullable(Type.String()),
});
export type Dep = Static<typeof Dep>;

export const TimelineEntry = Type.Object({ time: Iso(), event: Type.String() }, { additionalProperties: true, description: 'One transition, with its details' });
export type TimelineEntry = Static<typeof TimelineEntry> & { [detail: string]: unknown };

export const Stats = Type.Record(Type.String(), Type.Number());
export type Stats = Static<typeof Stats>;

/** Why a queued job waits (SPEC §6): what it waits on, in words and for programs. */
export const WAIT_KINDS = ['build', 'no_testbox', 'busy', 'pinned', 'unhealthy'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];
export const WaitReason = Type.Object({
  kind: Type.Enum(WAIT_KINDS, {
    description:
      'build: on an ss build; no_testbox: no registered testbox of its type, arch and memory; busy: boxes match, all taken; pinned: only one box may take it; unhealthy: the boxes that match are lost or out of dispatch',
  }),
  message: Type.String(),
  position: Type.Optional(Type.Integer({ description: 'busy: its place among the queued jobs of its type and arch (1 = next), by priority and age' })),
  matching: Type.Optional(Type.Integer({ description: 'Registered testboxes that could ever take it' })),
  build_key: Type.Optional(Type.String({ description: 'build: the (first) build it waits on' })),
  timeout_at: Type.Optional(Iso('no_testbox: when it finishes unrunnable (lab.yaml queue_timeout) unless a testbox that can take it registers')),
});
export type WaitReason = Static<typeof WaitReason>;

export const Job = Type.Object(
  {
    id: Type.Integer(),
    suite: Type.String(),
    job_stage: StageSchema,
    job_health: Nullable(HealthSchema),
    waiting: Type.Boolean({ description: 'In submit, waiting for builds' }),
    wait_reason: Type.Optional(Nullable(WaitReason)),
    testbox: Type.String({ description: 'The testbox group asked for' }),
    testbox_host: Nullable(Type.String({ description: 'The testbox holding (or that held) the job' })),
    result_root: Type.String(),
    submit_time: Iso(),
    boot_time: Nullable(Iso()),
    running_time: Nullable(Iso()),
    finish_time: Nullable(Iso()),
    deadline: Nullable(Iso('When the current stage must be over')),
    stats: Nullable(Stats),
    deps: Type.Array(Dep),
    ss_wait_jobs: Type.Record(Type.String(), Type.String(), { description: "compass-ci's field: pkgbuild job id → unknown | its health" }),
    dep_failure: Nullable(DepFailure),
    initrds: Type.Array(Type.String()),
    kernel_uri: Nullable(Type.String()),
    modules_uri: Nullable(Type.Array(Type.String())),
    build_key: Type.Optional(Type.String({ description: 'pkgbuild jobs: the build they make' })),
    timeline: Type.Optional(Type.Array(TimelineEntry)),
  },
  { additionalProperties: true, description: 'A job: its submitted fields (any key of the job file), lifecycle, results and timeline' },
);
/** A job; any key of its job file is a field of it too. */
export type Job = Omit<Static<typeof Job>, 'timeline'> & { timeline?: TimelineEntry[]; [field: string]: unknown };

/** What a submit would make, without making it (`POST /api/jobs?dry_run=true`): the jobs after the lab's defaults, each ss package resolved. */
export const DryRunBuild = Type.Object({
  pkg: Type.String(),
  build_key: Type.String(),
  upstream_url: Type.String(),
  commit: Type.String({ description: 'Full sha' }),
  commit_ref: Type.String(),
  config: Nullable(Type.String()),
  config_sha256: Nullable(Type.String()),
  os: Type.String(),
  os_version: Type.String(),
  os_arch: Type.String(),
  recipe: Type.String(),
  params: Type.Record(Type.String(), Type.String()),
  testbox: Type.String(),
  would: Type.Union([Type.Literal('reuse'), Type.Literal('wait'), Type.Literal('build'), Type.Literal('fail')], {
    description: 'reuse a verified build, wait on one in flight, build it, or fail at once (a build that failed recently)',
  }),
});
export const DryRun = Type.Array(Type.Object({ job: Type.Object({}, { additionalProperties: true }), builds: Type.Array(DryRunBuild) }));
export type DryRun = { job: Record<string, unknown>; builds: Static<typeof DryRunBuild>[] }[];

export const EventsPage = Type.Object({
  events: Type.Array(Type.Intersect([TimelineEntry, Type.Object({ id: Type.Integer() })])),
  job_stage: StageSchema,
  job_health: Nullable(HealthSchema),
});
export type EventsPage = Omit<Static<typeof EventsPage>, 'events'> & { events: (TimelineEntry & { id: number })[] };

// ---- builds -----------------------------------------------------------------

export const BuildFile = Type.Object({ name: Type.String(), url: Type.String(), size: Type.Integer(), sha256: Type.String() });

export const Build = Type.Object({
  key: Type.String(),
  pkg: Type.String(),
  fork: Type.String(),
  upstream_url: Type.String(),
  commit: Type.String({ description: 'Full sha' }),
  commit_ref: Type.String({ description: 'The commit as first written (tag, branch, sha)' }),
  config: Nullable(Type.String()),
  os: Type.String(),
  os_version: Type.String(),
  os_arch: Type.String(),
  params: Type.Record(Type.String(), Type.String()),
  testbox: Type.String({ description: 'The testbox group its pkgbuild job runs on' }),
  state: Type.Enum(BUILD_STATES),
  attempts: Type.Integer(),
  pkgbuild_job: Nullable(Type.Integer()),
  error: Nullable(DepFailure),
  created_at: Iso(),
  started_at: Nullable(Iso()),
  finished_at: Nullable(Iso()),
  files: Type.Array(BuildFile),
  waiting: Type.Integer({ description: 'Jobs waiting on it now' }),
  pkgbuild_jobs: Type.Optional(Type.Array(Type.Object({ id: Type.Integer(), stage: StageSchema, health: Nullable(HealthSchema) }))),
  jobs: Type.Optional(Type.Array(Type.Object({ job_id: Type.Integer(), wait: Type.Enum(DEP_STATES) }))),
});
export type Build = Static<typeof Build>;

// ---- testboxes --------------------------------------------------------------

/** The variables a box sets for every build it makes (`stacklab testbox --build-env`); never part of a build key. */
export const BUILD_ENV_MAX = { names: 64, valueLength: 4096 };
const BuildEnv = Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }), Type.String({ maxLength: BUILD_ENV_MAX.valueLength }), {
  maxProperties: BUILD_ENV_MAX.names,
  additionalProperties: false,
  description: "The variables the box sets for every build it makes (stacklab testbox --build-env): how recipes keep what they reuse; not part of a build key",
});

export const TestboxRegistration = Type.Object(
  {
    hostname: Type.String({ pattern: HOSTNAME_PATTERN }),
    type: Type.Union([Type.Literal('dc'), Type.Literal('vm'), Type.Literal('hw')]),
    arch: Type.String({ pattern: '^[A-Za-z0-9_]{1,32}$' }),
    max_memory: Type.Number({ exclusiveMinimum: 0, maximum: 1_048_576, description: 'GiB' }),
    cpus: Type.Integer({ minimum: 1, maximum: 65_536 }),
    mac: Type.Optional(Type.String({ pattern: MAC_PATTERN, description: 'vm/hw boxes that boot from /boot.ipxe?mac=' })),
    build_env: Type.Optional(BuildEnv),
    secret: Type.Optional(Type.String({ maxLength: 200, description: 'With accounts on: the secret the lab issued (`stacklab secret issue`)' })),
    token: Type.Optional(Type.String({ maxLength: 200, description: "With accounts on: the box's token from its previous registration, so a restarted box may take its name back while it still looks live" })),
  },
  { additionalProperties: false },
);
export type TestboxRegistration = Static<typeof TestboxRegistration>;

export const Registered = Type.Object({
  heartbeat_interval: Type.Integer({ description: 'ms between heartbeats' }),
  token: Type.Optional(Type.String({ description: "With accounts on: the box's own token, for every request it makes from now on" })),
  ended: Type.Array(Type.Integer(), { description: "Jobs its previous incarnation held: handed out again if it never started them, else ended abnormal (a build is retried)" }),
});
export type Registered = Static<typeof Registered>;

/** What a box tells in its heartbeat: the jobs it is running. */
export const HeartbeatBody = Type.Object({ running: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), { maxItems: 4096 })) });
export const HeartbeatReply = Type.Object({ jobs: Type.Array(Type.Integer(), { description: 'The jobs the scheduler believes the box holds' }) });
export type HeartbeatReply = Static<typeof HeartbeatReply>;

export const Testbox = Type.Object({
  hostname: Type.String(),
  type: Type.String(),
  arch: Type.String(),
  max_memory: Type.Number(),
  cpus: Type.Integer(),
  state: Type.Union([Type.Literal('idle'), Type.Literal('busy'), Type.Literal('lost'), Type.Literal('disabled')], {
    description: 'disabled: out of dispatch after testbox_max_infra_failures infrastructure failures in a row, until `stacklab testbox enable` or a passing health-check job',
  }),
  last_heartbeat: Iso(),
  jobs: Type.Array(Type.Integer()),
  infra_failures: Type.Integer({ description: 'Infrastructure failures in a row attributed to the box' }),
  disabled_reason: Nullable(Type.String()),
  build_env: BuildEnv,
});
export type Testbox = Static<typeof Testbox>;

/** One ss artifact a testbox downloads, and checks against its sha256, before a run. */
export const ArtifactRef = Type.Object({
  pkg: Type.String(),
  build_key: Type.String(),
  name: Type.String(),
  url: Type.String(),
  size: Type.Integer(),
  sha256: Type.String(),
});
export type ArtifactRef = Static<typeof ArtifactRef>;

/** The `pkgbuild` map of a pkgbuild job: what the recipe runner on the testbox needs. */
export const PkgbuildSpec = Type.Object({
  pkg: Type.String(),
  fork: Type.String(),
  upstream_url: Type.String(),
  fetch_url: Type.Optional(Type.String({ description: "Where to fetch the upstream from, when the lab rewrites its URL (lab.yaml url_rewrites)" })),
  commit: Type.String({ description: 'Full sha' }),
  commit_ref: Type.String(),
  config: Nullable(Type.String()),
  config_sha256: Nullable(Type.String()),
  params: Type.Record(Type.String(), Type.String()),
  recipe: Type.String(),
  recipe_sha256: Type.String(),
  build_key: Type.String(),
});
export type PkgbuildSpec = Static<typeof PkgbuildSpec>;

/** What a testbox's long-poll answers: the job it now holds and how to run it. */
export const Assignment = Type.Object({
  job: Job,
  job_cgz: Type.String({ description: "URL path of the job's own initrd (job.yaml, the suite or the recipe)" }),
  artifacts: Type.Array(ArtifactRef),
  heartbeat_interval: Type.Integer(),
  job_token: Type.Optional(Type.String({ description: "vm/hw boxes: the job's own token, for what runs inside the guest; good only for this job while it runs" })),
  os_image: Type.Optional(Type.Union([ArtifactRef, Type.Null()], { description: "vm boxes: the os image of the job's os, os_arch and os_version (null: the lab has none; `stacklab osimage` makes one)" })),
});
export type Assignment = Omit<Static<typeof Assignment>, 'job'> & { job: Job };

export const Holder = Type.Object({ testbox: Type.String({ pattern: HOSTNAME_PATTERN }) });
export const StageReport = Type.Object({ testbox: Type.String({ pattern: HOSTNAME_PATTERN }), stage: Type.Union([Type.Literal('running'), Type.Literal('post_run')]) });
export const CloseReport = Type.Object({ testbox: Type.String({ pattern: HOSTNAME_PATTERN }), health: Type.Enum(TESTBOX_HEALTHS) });
export const Ok = Type.Object({ ok: Type.Boolean() });
export const ResultStored = Type.Object({ path: Type.String(), bytes: Type.Integer() });
export const ArtifactStored = Type.Object({ name: Type.String(), path: Type.String(), size: Type.Integer(), sha256: Type.String() });
export type ArtifactStored = Static<typeof ArtifactStored>;

/** One problem with one job of a submit (error `invalid_job`, in details.issues); the CLI maps (job, path) back to file:line:col. */
export const SubmitIssue = Type.Object({ job: Type.Integer(), path: Type.String(), message: Type.String() });
export type SubmitIssue = Static<typeof SubmitIssue>;

// ---- bisects ----------------------------------------------------------------

const Ref = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s-][^\\s]*$' });
const Criterion = Type.Union([Type.Literal('build'), Type.Literal('function'), Type.Literal('perf')]);
const Direction = Type.Union([Type.Literal('lower'), Type.Literal('higher')]);

export const BisectRequest = Type.Object({
  job: Type.Union([Type.String(), Type.Object({}, { additionalProperties: true })], { description: 'The job: one job object, or job-file YAML expanding to one job' }),
  pkg: Type.String({ pattern: '^[a-z0-9][a-z0-9._+-]{0,63}$', description: 'The ss package whose commit moves' }),
  good: Type.Union([Ref, Type.Array(Ref, { minItems: 1, maxItems: 64 })]),
  bad: Ref,
  criterion: Type.Optional(Criterion),
  metric: Type.Optional(Type.String({ maxLength: 200, description: 'perf: the stat sampled, suite.key' })),
  direction: Type.Optional(Type.Union([Direction], { description: 'perf: which direction is better' })),
  errid: Type.Optional(Type.String({ maxLength: 200, description: 'function: a stat that marks a commit bad when present and non-zero' })),
  repeat: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  max_runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  confidence: Type.Optional(Type.Number({ exclusiveMinimum: 0.5, exclusiveMaximum: 1, description: 'build/function: stop once the most likely first bad commit has this probability (default 0.95)' })),
  budget: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'build/function: runs in all before the most likely commit is reported as a best guess (default: 50 + 30 per halving of the candidates)' })),
  false_positives: Type.Optional(Type.Boolean({ description: 'function: the test may also fail before the first bad commit, at a lower rate' })),
  deterministic: Type.Optional(Type.Boolean({ description: 'function: the test always fails after the first bad commit (git bisect\'s cost; a flaky run is reported as a contradiction). Always so for build' })),
  interleave_ends: Type.Optional(Type.Boolean({ description: 'perf: a fresh sample of each end every round, for machines whose speed drifts' })),
  slots: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'Probes at once (default: the testboxes that can run the job)' })),
  first_parent: Type.Optional(Type.Boolean()),
});
export type BisectRequest = Static<typeof BisectRequest>;

export const CommitInfo = Type.Object({ subject: Type.String(), author: Type.String(), date: Type.String() });
export type CommitInfo = Static<typeof CommitInfo>;

const Evidence = Type.Object(
  { sha: Type.String(), verdict: Type.String(), outcomes: Type.Array(Type.String()) },
  { additionalProperties: true, description: 'What the engine knows of one commit it tested (samples, p-values, posterior…)' },
);

export const BisectOutcome = Type.Object(
  {
    first_bad: Nullable(Type.String()),
    parent: Nullable(Type.String()),
    confidence: Type.Number(),
    reason: Type.String(),
    probes: Type.Integer(),
    samples: Type.Integer(),
    rounds: Type.Integer(),
    skipped: Type.Array(Type.String()),
    candidates: Type.Optional(Type.Array(Type.String())),
    evidence: Type.Array(Evidence),
    commits: Type.Record(Type.String(), CommitInfo),
  },
  { additionalProperties: true },
);

export const BisectProgress = Type.Object(
  {
    rounds: Type.Integer(),
    remaining: Type.Integer(),
    judged: Type.Integer(),
    samples: Type.Integer(),
    owed: Type.Integer(),
    log: Type.Integer(),
    best: Type.Optional(Type.Object({ sha: Type.String(), p: Type.Number() }, { description: 'build/function: the most likely first bad commit so far and its confidence' })),
  },
  { additionalProperties: true },
);

/** One probe job of a bisect and, once it is in the log, what its run said. */
export const BisectProbe = Type.Object({
  job_id: Type.Integer(),
  sha: Type.String(),
  round: Type.Integer(),
  recorded: Type.Boolean({ description: 'Its run is in the engine\'s log' }),
  stage: StageSchema,
  testbox: Nullable(Type.String({ description: 'The testbox that holds or held it, or (perf, queued) the one it is pinned to' })),
  outcome: Type.Optional(Type.Union([Type.Literal('good'), Type.Literal('bad'), Type.Literal('skip'), Type.Literal('infra')], { description: 'Recorded: what the run said (infra: the lab failed, not the commit; never evidence)' })),
  value: Type.Optional(Type.Number({ description: 'perf: the sample' })),
});
export type BisectProbe = Static<typeof BisectProbe>;

export const Bisect = Type.Object({
  id: Type.Integer(),
  state: Type.Enum(BISECT_STATES),
  pkg: Type.String(),
  criterion: Criterion,
  metric: Nullable(Type.String()),
  direction: Nullable(Direction),
  good: Type.Array(Type.String({ description: 'Full shas' })),
  bad: Type.String({ description: 'Full sha' }),
  upstream_url: Type.String(),
  candidates: Type.Integer(),
  progress: BisectProgress,
  jobs: Type.Array(BisectProbe),
  result: Nullable(BisectOutcome),
  error: Nullable(Type.String()),
  request: Type.Object(
    { job: Type.Object({}, { additionalProperties: true }), pkg: Type.String(), good: Type.Array(Type.String()), bad: Type.String() },
    { additionalProperties: true, description: 'The request as made: the job template and the refs as written' },
  ),
  created_at: Iso(),
  finished_at: Nullable(Iso()),
});
export type Bisect = Omit<Static<typeof Bisect>, 'result' | 'progress' | 'request'> & {
  request: Omit<BisectRequest, 'good' | 'job'> & { job: Record<string, unknown>; good: string[] };
  result: (BisectResult & { commits: Record<string, CommitInfo> }) | null;
  progress: Status & { log: number };
};

// ---- meta -------------------------------------------------------------------

export const Health = Type.Object({ ok: Type.Boolean(), db: Type.String({ description: 'sqlite or postgres' }) });

// ---- selecting jobs and comparing them ----------------------------------------

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' });

/** The filters of GET /api/jobs, which GET /api/compare and the dashboard's job list take too. */
export const JobQuery = {
  stage: Type.Optional(StageSchema),
  health: Type.Optional(Type.Union([HealthSchema, Type.Literal('not_success')], { description: 'A health, or not_success: finished with any other health' })),
  suite: Type.Optional(Name),
  account: Type.Optional(Name),
  pkg: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._+-]{0,63}$', description: 'Jobs with this ss package' })),
  commit: Type.Optional(Type.String({ pattern: '^[0-9a-f]{4,40}$', description: 'Jobs with an ss build at a commit starting so (with pkg: of that package)' })),
  bisect: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,14}|none)$', description: "A bisect's probe jobs, or none: no bisect's probes" })),
};

export const CompareGroupStat = Type.Object({
  n: Type.Integer(),
  mean: Nullable(Type.Number()),
  stddev: Nullable(Type.Number({ description: 'Sample standard deviation (n − 1)' })),
  stddev_pct: Nullable(Type.Number()),
  min: Nullable(Type.Number()),
  max: Nullable(Type.Number()),
  samples: Type.Array(Type.Number(), { description: 'One per job, in job id order' }),
  change: Nullable(
    Type.Object({
      change_pct: Nullable(Type.Number({ description: '100 · (mean − base mean) / |base mean|' })),
      p: Nullable(Type.Number({ description: "Welch's two-sided t-test against the base group" })),
      significant: Type.Boolean({ description: 'p < alpha' }),
      separated: Type.Boolean({ description: "lkp's rule: each range lies beyond the other's mean" }),
      mark: Type.String({ description: '** p < 0.01, * p < 0.05' }),
    }),
  ),
});

export const Comparison = Type.Object({
  group_by: Type.String(),
  alpha: Type.Number(),
  groups: Type.Array(
    Type.Object({
      key: Type.String({ description: "The field's value (a full sha for ss.<pkg>.commit)" }),
      label: Type.String({ description: 'How it reads: a short sha and the ref as written, or the value' }),
      jobs: Type.Array(Type.Integer()),
    }),
    { description: 'The base group first' },
  ),
  stats: Type.Array(Type.Object({ stat: Type.String(), groups: Type.Array(CompareGroupStat) }), { description: 'Largest significant change first' }),
  jobs: Type.Integer({ description: 'Finished jobs with stats selected' }),
  ungrouped: Type.Array(Type.Integer(), { description: 'Selected jobs without the field' }),
});
export type Comparison = Static<typeof Comparison>;
