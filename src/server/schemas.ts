// Route-level schemas the routes share (params, error answers), and the
// OpenAPI tags the document at /docs groups routes by. The wire shapes
// themselves are in api/contract.ts.
import { Type } from 'typebox';
import { ErrorBody, HOSTNAME_PATTERN } from '../api/contract.ts';

export { ErrorBody } from '../api/contract.ts';

/** Ids the store can hold and SQL can compare: positive, below 2^53. */
export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
export const HostParams = Type.Object({ host: Type.String({ pattern: HOSTNAME_PATTERN }) });

/** Every route that can fail for the caller's reasons answers these. */
export const errorResponses = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** OpenAPI tags: the user routes by resource, and the testbox protocol apart. */
export const TAGS = [
  { name: 'jobs', description: 'Submit, read, follow and cancel jobs' },
  { name: 'builds', description: 'The build cache: one build per build key' },
  { name: 'testboxes', description: 'The testboxes the scheduler knows and what they do' },
  { name: 'bisects', description: 'Bisection in the lab' },
  { name: 'boot', description: 'What testboxes boot and download: iPXE script, job.cgz, artifacts, result files' },
  { name: 'testbox protocol', description: 'Testbox-internal: registration, heartbeats, the long-poll for work, stage reports, uploads and the close' },
  { name: 'meta', description: 'Health, metrics and the job file schema' },
] as const;
