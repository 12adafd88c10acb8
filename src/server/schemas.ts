// Request and response schemas shared by the routes; they validate input,
// shape output and make the OpenAPI document at /docs.
import { Type } from 'typebox';

export const ErrorBody = Type.Object(
  { error: Type.String(), message: Type.String(), details: Type.Unknown() },
  { $id: 'Error', description: 'Every 4xx and 5xx answer' },
);

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const HostParams = Type.Object({ host: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }) });

export const SubmitResults = Type.Array(Type.Object({ job_id: Type.Integer(), result_root: Type.String() }));

export const JobDetailBody = Type.Object(
  {
    id: Type.Integer(),
    suite: Type.String(),
    job_stage: Type.String(),
    job_health: Type.Union([Type.String(), Type.Null()]),
    waiting: Type.Boolean(),
    result_root: Type.String(),
    stats: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
    deps: Type.Array(Type.Unknown()),
    ss_wait_jobs: Type.Record(Type.String(), Type.String()),
    dep_failure: Type.Unknown(),
    initrds: Type.Array(Type.String()),
    kernel_uri: Type.Union([Type.String(), Type.Null()]),
    timeline: Type.Optional(Type.Array(Type.Object({ time: Type.String(), event: Type.String() }, { additionalProperties: true }))),
  },
  { additionalProperties: true, description: 'A job: its submitted fields, lifecycle, results and timeline' },
);

export const TestboxRegistration = Type.Object({
  hostname: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' }),
  type: Type.Union([Type.Literal('dc'), Type.Literal('vm'), Type.Literal('hw')]),
  arch: Type.String({ pattern: '^[A-Za-z0-9_]+$' }),
  max_memory: Type.Number({ exclusiveMinimum: 0, description: 'GiB' }),
  cpus: Type.Integer({ minimum: 1 }),
  mac: Type.Optional(Type.String({ pattern: '^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$', description: 'vm/hw boxes that boot from /boot.ipxe?mac=' })),
});

export const Holder = Type.Object({ testbox: Type.String({ minLength: 1 }) });

export const errorResponses = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };
