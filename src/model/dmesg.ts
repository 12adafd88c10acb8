// Kernel errors in a job's kernel log (its `dmesg`: the guest's ring buffer,
// or the serial console when the kernel died), as stats named the way lkp
// names its dmesg.* stats: `dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show`,
// `dmesg.BUG:kernel_NULL_pointer_dereference,address`,
// `dmesg.Kernel_panic-not_syncing:VFS:Unable_to_mount_root_fs_on_unknown-block(#,#)`,
// each 1 when the error is there. Such a stat is what `bisect --errid` takes
// to find the commit that made a kernel start to warn, oops or panic.
//
// An id keeps what is the same wherever the error happens again — the
// message, the source file, the function — and drops what changes from run
// to run: numbers, addresses, line numbers, offsets, CPUs, PIDs and task
// names. Pure, and our own rules (lkp's are its own): a kernel error line
// is recognised by its head, one line at a time.

/** The stats prefix, as lkp's. */
export const DMESG = 'dmesg.';

/** A vm or hw boot that did not get the job done: the kernel's fault, as lkp's boot stats (vm/console.ts). */
export const BOOT_STATS = ['boot.panic', 'boot.no_init', 'boot.no_network', 'boot.no_output', 'job.panic', 'job.incomplete'] as const;
export type BootStat = (typeof BOOT_STATS)[number];

/** A stat that marks an error when it is there (dmesg.*, a boot's failure): a job without it did not show that error. */
export function isErrorStat(stat: string): boolean {
  return stat.startsWith(DMESG) || (BOOT_STATS as readonly string[]).includes(stat);
}

/** The longest id kept (a stat name stays under bisect's --errid limit of 200). */
const MAX_ID = 190;
/** Distinct errors kept per log: a kernel that warns in a loop still makes a readable stats list. */
const MAX_ERRORS = 100;

// eslint-disable-next-line no-control-regex -- a colour escape is what it finds
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
/** `<4>` priority, `[   12.345678]` time, `[    T1]`/`[  C0]` caller: the kernel's own line prefix. */
const PREFIX = /^(?:<\d+>)?\s*\[\s*\d+\.\d+\](?:\s*\[\s*[TC]\d+\])?\s?/;
const STAMPED = /^(?:<\d+>)?\s*\[\s*\d+\.\d+\]/m;
/** A subsystem before an error's head: `watchdog: BUG: soft lockup`, `rcu: INFO: rcu_preempt …`. */
const SUBSYSTEM = /^[a-z][\w-]*: (?=(?:BUG|INFO|WARNING|UBSAN|Kernel panic)\b)/;
const FUNC = /([A-Za-z_][A-Za-z0-9_]*)(?:\.(?:isra|constprop|part|cold|llvm)\.?\d*)*\+0x/;

/**
 * An id from free text, the shape of lkp's: numbers and addresses become
 * `#`, spaces next to punctuation go, the rest become `_`, trailing
 * punctuation goes.
 */
export function errorId(text: string): string {
  const id = text
    .replace(/\s*\(Tainted: [^)]*\)/g, '')
    .replace(/[+/]0x[0-9a-f]+\b/gi, '') // func+0x12/0x30
    .replace(/\b0x[0-9a-f]+\b/gi, '#')
    .replace(/\b[0-9a-f]{8,}\b/gi, '#') // bare addresses, shas
    .replace(/\d+(\.\d+)*/g, '#')
    .replace(/[\\"$`'\t]/g, (c) => (c === '\t' ? ' ' : '~'))
    .replace(/ {2,}/g, ' ')
    .replace(/([^A-Za-z0-9]) /g, '$1')
    .replace(/ ([^A-Za-z0-9])/g, '$1')
    .trim()
    .replace(/ /g, '_')
    .replace(/[-_.,;:#!*[(]+$/, '');
  return id.length > MAX_ID ? id.slice(0, MAX_ID) : id;
}

/** The id of one kernel log line (its prefix already gone), or undefined when it is no error's head. */
export function lineErrorId(line: string): string | undefined {
  const head = line.replace(SUBSYSTEM, '');
  let m: RegExpExecArray | null;
  if ((m = /^Kernel panic - not syncing: ?(.*)$/.exec(head))) return `Kernel_panic-not_syncing:${errorId(m[1]!.replace(/\s*]---.*$/, ''))}`.replace(/:$/, '');
  if ((m = /^BUG: (KASAN|KFENCE|KCSAN|KMSAN): ([\w -]+?) in /.exec(head))) {
    const f = FUNC.exec(head.slice(m[0].length)) ?? /^([A-Za-z_]\w*)/.exec(head.slice(m[0].length));
    return errorId(`BUG: ${m[1]}: ${m[2]} in ${f ? f[1] : ''}`);
  }
  if ((m = /^WARNING: (?:CPU: \d+ PID: \d+ )?at (\S+?):\d+ (?:\[[^\]]*\] )?(.*)$/.exec(head))) {
    const f = FUNC.exec(m[2]!) ?? /^([A-Za-z_]\w*)/.exec(m[2]!);
    return `WARNING:at_${m[1]}:#${f ? f[1] : ''}`;
  }
  if ((m = /^kernel BUG at (\S+?):\d+!?/.exec(head))) return `kernel_BUG_at_${m[1]}`;
  if ((m = /^UBSAN: ([\w -]+?) in (\S+?)(?::\d+)+/.exec(head))) return errorId(`UBSAN: ${m[1]} in ${m[2]}`);
  if (/^INFO: task \S.* blocked for more than \d+ seconds/.test(head)) return 'INFO:task_blocked_for_more_than#seconds';
  if ((m = /^INFO: (rcu\w*) (self-detected stall on CPU|detected stalls on CPUs\/tasks)/.exec(head))) return errorId(`INFO: ${m[1]} ${m[2]}`);
  if ((m = /^(Unable to handle kernel [\w ]+? at virtual address)/.exec(head))) return errorId(m[1]!);
  if ((m = /^(Out of memory(?: and no killable processes)?)(: Kill(?:ed)? process)?/.exec(head))) return errorId(`${m[1]}${m[2] ?? ''}`);
  if ((m = /^(Oops|[a-z][a-z ]+?)(?:, [^:]*)?: [0-9a-f]{4} \[#\d+\]/.exec(head))) return errorId(m[1]!);
  if ((m = /^Internal error: ([\w ]+?): [0-9a-f]+ \[#\d+\]/.exec(head))) return errorId(`Internal error: ${m[1]}`); // arm64's oops
  if (/^pc : /.test(head)) {
    const f = FUNC.exec(head); // arm64's RIP
    return f ? `pc:${f[1]}` : undefined;
  }
  if ((m = /^RIP: [0-9a-f]{4}:/.exec(head))) {
    const f = FUNC.exec(head);
    return f ? `RIP:${f[1]}` : undefined;
  }
  if ((m = /^(BUG|WARNING|INFO): (.+)$/.exec(head))) {
    let msg = m[2]!;
    msg = msg.replace(/\s*\[[^\]]*\]\s*$/, ''); // [swapper/0:1]
    const colon = msg.indexOf(': ');
    if (colon > 0) msg = msg.slice(0, colon); // the variable part after the message: an address, a task
    msg = msg.replace(/ in process .*$/, '').replace(/\s+\S*=.*$/, '');
    return errorId(`${m[1]}: ${msg}`);
  }
  return undefined;
}

const UNSAFE = /[^\w\-.,:;#!=+/()[\]~%@]/g;
const SAFE_STAT = /^dmesg\.[\w\-.,:;#!=+/()[\]~%@]{1,190}$/;

/**
 * An id as it may be shown and pasted: a log is anybody's text (a guest may
 * write /dev/kmsg), and an id ends up in a command a person pastes into a
 * shell (`--errid '…'`), so nothing but plain printable characters, no
 * quote or backslash, and bounded.
 */
function safeId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const safe = id.replace(UNSAFE, '~');
  return safe.length > MAX_ID ? safe.slice(0, MAX_ID) : safe;
}

/**
 * The kernel errors of a log, each id with the first line that showed it.
 * When the log has printk timestamps, only lines that carry one count: on a
 * serial console the job's own output is interleaved, and a test printing
 * "WARNING: …" is not the kernel warning.
 */
export function kernelErrors(log: string): Map<string, string> {
  const found = new Map<string, string>();
  const stamped = STAMPED.test(log);
  for (const raw of log.split(/\r?\n/)) {
    const line = raw.replace(ANSI, '');
    const prefix = PREFIX.exec(line);
    if (stamped && !prefix) continue;
    const text = (prefix ? line.slice(prefix[0].length) : line).trim();
    if (text === '' || text.startsWith('---[')) continue;
    const id = safeId(lineErrorId(text));
    if (!id || found.has(id)) continue;
    found.set(id, text);
    if (found.size >= MAX_ERRORS) break;
  }
  return found;
}

/** `dmesg.<id>: 1` for each kernel error of the log. */
export function dmesgStats(log: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const id of kernelErrors(log).keys()) stats[`${DMESG}${id}`] = 1;
  return stats;
}

/**
 * The command that bisects a job by one of its kernel errors, from the job's
 * job.yaml saved as job-<id>.yaml (the good commit left to fill in); none
 * for a stat that could not be pasted safely.
 */
export function bisectByErrorCommand(job: { id: number; deps: readonly { pkg: string }[] }, stat: string): string | undefined {
  // stats.json is the testbox's upload: a stat that is not an id as safeId makes it is not put in a command
  if (!SAFE_STAT.test(stat)) return undefined;
  const pkg = job.deps.length > 1 ? ` --pkg ${job.deps[0]!.pkg}` : '';
  return `stacklab bisect start job-${job.id}.yaml${pkg} --good GOOD-COMMIT --errid '${stat}' --wait`;
}
