// Every CLI command registers itself on the program; add new ones here.
// A module is loaded only when its command is run (or for the full help):
// `stacklab jobs` need not load the server, qemu and the build runner, which
// took a second of every command's start.
import type { Command } from 'commander';

export type RegisterCommand = (program: Command) => void;

export interface CommandModule {
  /** The top-level commands the module registers. */
  names: readonly string[];
  load: () => Promise<RegisterCommand>;
}

/** In the order `stacklab --help` lists them. */
export const commandModules: readonly CommandModule[] = [
  { names: ['server', 'up'], load: async () => (await import('./server.ts')).registerServer },
  { names: ['testbox'], load: async () => (await import('./testbox.ts')).registerTestbox },
  { names: ['submit'], load: async () => (await import('./submit.ts')).registerSubmit },
  { names: ['split'], load: async () => (await import('./split.ts')).registerSplit },
  { names: ['jobs', 'job', 'cancel'], load: async () => (await import('./jobs.ts')).registerJobs },
  { names: ['testboxes'], load: async () => (await import('./testboxes.ts')).registerTestboxes },
  { names: ['schema'], load: async () => (await import('./schema.ts')).registerSchema },
  { names: ['builds'], load: async () => (await import('./builds.ts')).registerBuilds },
  { names: ['bisect'], load: async () => (await import('./bisect.ts')).registerBisect },
  { names: ['bisect'], load: async () => (await import('./bisect-lab.ts')).registerBisectLab },
  { names: ['demo'], load: async () => (await import('./demo.ts')).registerDemo },
  { names: ['account', 'secret'], load: async () => (await import('./account.ts')).registerAccount },
  { names: ['osimage'], load: async () => (await import('./osimage.ts')).registerOsimage },
  { names: ['compare'], load: async () => (await import('./compare.ts')).registerCompare },
];

/**
 * The register functions a command line needs: those of its command when
 * the first word names one, every one otherwise (no command, help, a
 * mistyped name — commander then lists them or suggests the nearest);
 * none for the version alone.
 */
export async function commandsFor(argv: readonly string[]): Promise<RegisterCommand[]> {
  if (argv.length > 0 && argv.every((a) => a === '-V' || a === '--version')) return [];
  const first = argv.find((a) => !a.startsWith('-'));
  const own = first === undefined ? [] : commandModules.filter((m) => m.names.includes(first));
  return Promise.all((own.length > 0 ? own : commandModules).map((m) => m.load()));
}
