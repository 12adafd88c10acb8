// The command table the CLI loads lazily from: each entry names exactly the
// top-level commands its module registers, and every command of the full
// program is in the table — else `stacklab <that command>` would load the
// wrong module and fail as an unknown command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { commandModules, commandsFor } from '../../../src/cli/commands/index.ts';

const names = (p: Command): string[] => p.commands.map((c) => c.name());

test('each command module registers exactly the commands the table names for it', async () => {
  for (const m of commandModules) {
    const p = new Command('stacklab');
    // a module that adds to another's command (bisect-lab to bisect) registers it too when loaded alone
    (await m.load())(p);
    assert.deepEqual([...new Set(names(p))].sort(), [...new Set(m.names)].sort(), `the module of ${m.names.join(', ')}`);
  }
});

test('a command line loads its own command, the same as the full program has it', async () => {
  const full = new Command('stacklab');
  for (const r of await commandsFor([])) r(full);
  const all = names(full);
  assert.deepEqual(new Set(all), new Set(commandModules.flatMap((m) => m.names)));
  for (const name of all) {
    const p = new Command('stacklab');
    for (const r of await commandsFor([name, '--json'])) r(p);
    // its module's commands only (server brings up, jobs brings job and cancel)
    assert.deepEqual(new Set(names(p)), new Set(commandModules.filter((m) => m.names.includes(name)).flatMap((m) => m.names)), name);
    const sub = (c: Command): string[] => c.commands.map((x) => x.name()).sort();
    assert.deepEqual(sub(p.commands.find((c) => c.name() === name)!), sub(full.commands.find((c) => c.name() === name)!), `${name}'s subcommands`);
  }
  // no command, or one that is not there: every module (commander lists them, or suggests the nearest)
  assert.equal((await commandsFor(['--help'])).length, commandModules.length);
  assert.equal((await commandsFor(['jbos'])).length, commandModules.length);
  assert.equal((await commandsFor(['--version'])).length, 0);
});
