// The job file's JSON Schema (TypeBox), printed by `stacklab schema job` and
// served at /api/schema/job. Built from the same field table as the checker;
// a test holds the two together. It types the fields stacklab reads; every
// other key is an lkp job variable or program map and may hold anything.
import { Type, type Static } from 'typebox';
import { CONFIG_RE, ENV_RE, FIELDS, LABEL_KEY_RE, MAX_COMMIT, MAX_NAME, NAME_RE, OWNED_FIELDS, PKG_RE, SS_KEYS } from './fields.ts';

const Name = (description: string) => Type.String({ pattern: NAME_RE.source, maxLength: MAX_NAME, description });

const SsEntry = Type.Union([
  Type.Null(),
  Type.Object(
    {
      fork: Type.Optional(Type.String({ pattern: PKG_RE.source, maxLength: MAX_NAME, description: SS_KEYS.fork })),
      commit: Type.Optional(Type.String({ pattern: '^[^\\s-][^\\s]*$', maxLength: MAX_COMMIT, description: SS_KEYS.commit })),
      config: Type.Optional(Type.String({ pattern: `${CONFIG_RE.source}|^[./].*/.*$`, maxLength: 4096, description: SS_KEYS.config })),
      testbox: Type.Optional(Name(SS_KEYS.testbox!)),
    },
    {
      description: 'Build parameters of one package. Keys starting with _ override the registry entry (_upstream_url, _recipe); any other key is a build parameter, part of the build key, passed to the recipe as a variable of its own name',
      patternProperties: { '^_': Type.String(), [ENV_RE.source]: Type.String() },
      additionalProperties: false,
    },
  ),
]);

const properties = {
  suite: Name(FIELDS.suite!.description),
  testbox: Type.Optional(Name(FIELDS.testbox!.description)),
  os: Type.Optional(Name(FIELDS.os!.description)),
  os_version: Type.Optional(Name(FIELDS.os_version!.description)),
  os_arch: Type.Optional(Name(FIELDS.os_arch!.description)),
  memory_minimum: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: FIELDS.memory_minimum!.description })),
  runtime: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^0*[1-9][0-9]*[smhdwy]?$' }), Type.Null()], { description: FIELDS.runtime!.description })),
  need_memory: Type.Optional(
    Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^(\\d+\\s*(?:[kmgtpKMGTP][bB]?|[bB])?|\\d+(?:\\.\\d+)?%)$' }), Type.Null()], {
      description: FIELDS.need_memory!.description,
    }),
  ),
  priority: Type.Optional(Type.Integer({ minimum: -1000, maximum: 1000, description: FIELDS.priority!.description })),
  my_account: Type.Optional(Name(FIELDS.my_account!.description)),
  labels: Type.Optional(
    Type.Union([Type.Null(), Type.Object({}, { patternProperties: { [LABEL_KEY_RE.source]: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]) }, additionalProperties: false })], {
      description: FIELDS.labels!.description,
    }),
  ),
  ss: Type.Optional(
    Type.Union([Type.Null(), Type.Object({}, { patternProperties: { [PKG_RE.source]: SsEntry }, additionalProperties: false })], { description: FIELDS.ss!.description }),
  ),
};

const variable = Type.Unknown({
  description:
    "Any other key is an lkp job variable (exported to the suite) or a program's parameter map (the suite's own map, named by `suite`, and lkp programs' maps such as fio-setup-basic); see SPEC §2",
});

const common = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  propertyNames: { not: { enum: [...OWNED_FIELDS, '__proto__'] } },
};

/** One document of a job file as written: a list in the suite's parameters expands into several jobs. */
export const JobFileSchema = Type.Object(properties, {
  ...common,
  $id: 'https://stacklab.dev/schema/job.json',
  title: 'stacklab job file',
  description:
    'A stacklab job: the lkp-tests job format (SPEC §2) — any key is a job variable, lists expand into several jobs, `<<: file` includes, `{{ }}` templates, multi-document files (document 0 a job of its own, documents 1..N each merged over it) and key=value overrides on the command line. The fields typed here are the ones stacklab reads; fields the scheduler sets are refused.',
  additionalProperties: variable,
});

/** One expanded job, as the API takes it. */
export const JobSchema = Type.Object(properties, {
  ...common,
  title: 'stacklab job',
  additionalProperties: variable,
});

export type JobSpec = Static<typeof JobSchema>;
