// Every CLI command registers itself on the program; add new ones here.
import type { Command } from 'commander';
import { registerServer } from './server.ts';
import { registerTestbox } from './testbox.ts';
import { registerSubmit } from './submit.ts';
import { registerSplit } from './split.ts';
import { registerJobs } from './jobs.ts';
import { registerTestboxes } from './testboxes.ts';
import { registerSchema } from './schema.ts';
import { registerBisect } from './bisect.ts';
import { registerBisectLab } from './bisect-lab.ts';
import { registerBuilds } from './builds.ts';
import { registerDemo } from './demo.ts';
import { registerAccount } from './account.ts';
import { registerOsimage } from './osimage.ts';
import { registerCompare } from './compare.ts';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerServer, registerTestbox, registerSubmit, registerSplit, registerJobs, registerTestboxes, registerSchema, registerBuilds, registerBisect, registerBisectLab, registerDemo, registerAccount, registerOsimage, registerCompare];
