// `stacklab compare`: finished jobs' stats grouped by a field, side by side
// as lkp's compare shows them — per stat, each group's mean ± stddev %, and
// for each group after the first its change % against the first with a
// significance mark (Welch's t-test: ** p < 0.01, * p < 0.05).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Comparison } from '../../api/contract.ts';
import { HEALTHS } from '../../model/lifecycle.ts';
import { clientFor, out, printJson, table, withJson, withServer, type GlobalOptions } from '../common.ts';
import { integer, oneOf } from '../options.ts';

interface Flags extends GlobalOptions {
  groupBy: string;
  suite?: string;
  account?: string;
  pkg?: string;
  commit?: string;
  bisect?: string;
  health?: string;
  ids?: string;
  groups?: string;
  base?: string;
  stat?: string;
  where?: string;
  alpha?: number;
  limit: number;
  changed?: boolean;
}

const fieldPath = (v: string) => {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$/.test(v)) throw new InvalidArgumentError('expected a field path such as ss.linux.commit, testbox or demo-test.iterations');
  return v;
};
const idList = (v: string) => {
  if (!/^[1-9]\d{0,14}(,[1-9]\d{0,14})*$/.test(v)) throw new InvalidArgumentError('expected job ids separated by commas, e.g. 12,13,15');
  return v;
};
const bisectId = (v: string) => {
  if (!/^([1-9]\d{0,14}|none)$/.test(v)) throw new InvalidArgumentError('expected a bisect id, or none');
  return v;
};
const alpha = (v: string) => {
  const n = /^\s*0?\.\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a probability between 0 and 1, e.g. 0.05');
  return n;
};

const num = (x: number | null) => {
  if (x === null) return '-';
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x); // counts read best whole
  return Math.abs(x) >= 1e9 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(4) : String(Number(x.toPrecision(6)));
};
const pct = (x: number | null, sign = false) => (x === null ? '' : `${sign && x >= 0 ? '+' : ''}${x.toFixed(Math.abs(x) < 10 ? 1 : 0)}%`);

/** The comparison as lkp prints it: a header naming the groups, then one line per stat. */
export function comparisonText(c: Comparison, onlyChanged = false): string {
  const lines: string[] = [];
  lines.push(`group by ${c.group_by}: ${c.jobs} finished job(s) with stats${c.ungrouped.length ? `, ${c.ungrouped.length} without the field (${c.ungrouped.join(' ')})` : ''}`);
  c.groups.forEach((g, i) => lines.push(`  [${i}]${i === 0 ? ' base' : ''} ${g.label}: ${g.jobs.length} job(s) ${g.jobs.join(' ')}`));
  if (c.groups.length === 0) return lines.concat('no group: no selected finished job has that field').join('\n');
  const rows = c.stats.filter((s) => !onlyChanged || s.groups.some((g) => g.change?.significant));
  const headers: string[] = [];
  c.groups.forEach((_, i) => {
    if (i > 0) headers.push('%change');
    headers.push(`[${i}] mean`, '±stddev');
  });
  headers.push('stat');
  lines.push('');
  lines.push(
    table(
      headers,
      rows.map((s) => [
        ...s.groups.flatMap((g, i) => {
          const cells = [num(g.mean), g.n === 0 ? '' : g.stddev_pct === null ? `(n=${g.n})` : `± ${pct(g.stddev_pct)}`];
          return i === 0 ? cells : [g.change?.change_pct != null ? `${pct(g.change.change_pct, true)}${g.change.mark ? ` ${g.change.mark}` : ''}` : '', ...cells];
        }),
        s.stat,
      ]),
    ),
  );
  if (rows.length === 0) lines.push(onlyChanged ? 'no significant change' : 'no stats');
  lines.push('', `%change against [0]; ** p < 0.01, * p < 0.05 (Welch's t-test, two-sided)`);
  return lines.join('\n');
}

export function registerCompare(program: Command): void {
  withJson(withServer(program.command('compare')))
    .description("compare finished jobs' stats grouped by a field (lkp's compare): mean ± stddev %, change % and significance")
    .requiredOption('-g, --group-by <field>', 'ss.<pkg>.commit, ss.<pkg>.config, or a key path of the job: testbox, demo-test.iterations…', fieldPath)
    .option('--suite <suite>', 'only jobs of this suite')
    .option('--account <name>', 'only jobs of this account')
    .option('--pkg <pkg>', 'only jobs with this ss package')
    .option('--commit <sha>', 'only jobs with an ss build at a commit starting so')
    .option('--bisect <id>', "only a bisect's probe jobs (or none: no bisect's probes)", bisectId)
    .option('--health <health>', `only jobs that ended so (${HEALTHS.join(', ')}, not_success)`, oneOf([...HEALTHS, 'not_success'] as const))
    .option('--ids <ids>', 'only these jobs, comma-separated', idList)
    .option('--groups <values>', 'the groups to show, in this order, comma-separated (values, sha prefixes or refs as written)')
    .option('--base <value>', 'the group the others are compared with (default: the first)')
    .option('--where <field=value>', 'only jobs whose field has this value, comma-separated (a label marks a group of submits: labels.run=nightly-3)', (v: string) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}=[^,]{1,200}(,[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}=[^,]{1,200})*$/.test(v)) throw new InvalidArgumentError('expected FIELD=VALUE, comma-separated');
      return v;
    })
    .option('--stat <names>', 'only stats whose name contains one of these (comma-separated)')
    .option('--alpha <p>', "Welch's p below this counts as significant (default 0.05)", alpha)
    .option('--limit <n>', 'the newest this many matching finished jobs', integer(1, 5000), 1000)
    .option('--changed', 'show only the stats with a significant change')
    .action(async (f: Flags) => {
      const c = await clientFor(f).get<Comparison>('/api/compare', {
        group_by: f.groupBy,
        suite: f.suite,
        account: f.account,
        pkg: f.pkg,
        commit: f.commit,
        bisect: f.bisect,
        health: f.health,
        ids: f.ids,
        groups: f.groups,
        base: f.base,
        stat: f.stat,
        where: f.where,
        alpha: f.alpha,
        limit: f.limit,
      });
      if (f.json) return printJson(c);
      out(comparisonText(c, f.changed));
    });
}
