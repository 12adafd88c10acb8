// The generated kernel history: the commits make-history.ts lays on top of
// Debian's linux-source import. Most are small, ordinary changes (comments
// in files every config compiles, documentation); five are planted, each
// tagged: a build break and its fix, a change of the kernel's version
// string and one of a /proc/meminfo value (facts host-info reports), and
// a change that stops the kernel from booting (it panics before init).
// Every edit names the text it changes, so a different linux-source fails
// loudly here instead of producing a different story.

export type Plant = 'buildBreak' | 'buildFix' | 'versionChange' | 'meminfoChange' | 'bootBreak';

export interface Edit {
  path: string;
  apply: (text: string) => string;
}

export interface Step {
  subject: string;
  body: string;
  edits: Edit[];
  tag?: string;
  plant?: Plant;
}

/** The one occurrence of `anchor` in `text`, or an error naming the file. */
function onlyAt(path: string, text: string, anchor: string): number {
  const at = text.indexOf(anchor);
  if (at < 0 || text.indexOf(anchor, at + 1) >= 0) {
    throw new Error(`${path}: expected exactly one ${JSON.stringify(anchor.slice(0, 60))} (is this Debian's linux-source-6.1?)`);
  }
  return at;
}

const replace = (path: string, from: string, to: string): Edit => ({
  path,
  apply: (text) => {
    const at = onlyAt(path, text, from);
    return text.slice(0, at) + to + text.slice(at + from.length);
  },
});

const insertBefore = (path: string, anchor: string, lines: string): Edit => replace(path, anchor, lines + anchor);

const append = (path: string, lines: string): Edit => ({ path, apply: (text) => (text.endsWith('\n') ? text : text + '\n') + lines });

/** A C comment block of these lines, placed before `anchor`. */
const comment = (path: string, anchor: string, ...lines: string[]): Edit =>
  insertBefore(path, anchor, ['/*', ...lines.map((l) => (l ? ` * ${l}` : ' *')), ' */', ''].join('\n'));

const GETPID = 'SYSCALL_DEFINE0(getpid)\n{\n\treturn task_tgid_vnr(current);\n}\n';

export const STEPS: Step[] = [
  {
    subject: 'Documentation: serial-console: a note on virtual machines',
    body: 'qemu guests see their first serial port as ttyS0 (x86) or ttyAMA0 (arm64 virt).',
    edits: [append('Documentation/admin-guide/serial-console.rst', '\nVirtual machines\n----------------\n\nUnder qemu, pass ``console=ttyS0`` (x86) or ``console=ttyAMA0`` (arm64\n``virt``) and give the guest ``-serial`` of your choice.\n')],
  },
  {
    subject: 'init: say why kernel_init waits for kthreadd',
    body: 'The wait is easy to misread as a race fix; it is an ordering requirement.',
    edits: [replace('init/main.c', '\t * Wait until kthreadd is all set-up.\n', '\t * Wait until kthreadd is all set-up: the initcalls below may\n\t * create kernel threads, and kthreadd spawns them.\n')],
  },
  {
    subject: 'printk: document the console_printk array',
    body: 'The four levels are also what /proc/sys/kernel/printk shows.',
    edits: [comment('kernel/printk/printk.c', 'int console_printk[4] = {\n', 'The four log levels of /proc/sys/kernel/printk, in its order.')],
  },
  {
    subject: 'lib/string: strcpy has no bounds, say so',
    body: 'Point readers at strscpy.',
    edits: [replace('lib/string.c', ' * strcpy - Copy a %NUL terminated string\n', ' * strcpy - Copy a %NUL terminated string (unbounded: prefer strscpy())\n')],
  },
  {
    subject: 'sys: getppid: mention where the RCU grace period comes from',
    body: '',
    edits: [comment('kernel/sys.c', 'SYSCALL_DEFINE0(getppid)\n', 'The parent may exit at any time; RCU keeps its task_struct around.')],
  },
  {
    subject: 'fork: document kernel_clone\'s return value',
    body: '',
    edits: [comment('kernel/fork.c', 'pid_t kernel_clone(struct kernel_clone_args *args)\n', 'Returns the new task\'s pid in the caller\'s namespace, or a negative errno.')],
  },
  {
    subject: 'README: where the lab\'s notes live',
    body: '',
    edits: [append('README', '\nThis tree is a generated history for the stacklab demo lab: an import of\nDebian\'s linux-source-6.1 and a few dozen small commits on top of it.\n')],
  },
  {
    subject: 'panic: comment panic_timeout',
    body: '',
    edits: [comment('kernel/panic.c', 'int panic_timeout = CONFIG_PANIC_TIMEOUT;\n', 'Seconds to wait before rebooting after a panic: 0 waits for ever, < 0 reboots at once.')],
  },
  {
    subject: 'sys: getpid: one line is enough',
    body: 'Planted: this commit does not build (a missing semicolon). The next one fixes it.',
    edits: [replace('kernel/sys.c', GETPID, 'SYSCALL_DEFINE0(getpid)\n{\n\treturn task_tgid_vnr(current)\n}\n')],
    tag: 'lab-build-break',
    plant: 'buildBreak',
  },
  {
    subject: 'sys: getpid: fix the build',
    body: 'Restore the semicolon the previous commit lost.',
    edits: [replace('kernel/sys.c', 'SYSCALL_DEFINE0(getpid)\n{\n\treturn task_tgid_vnr(current)\n}\n', GETPID)],
    tag: 'lab-build-fix',
    plant: 'buildFix',
  },
  {
    subject: 'exec: begin_new_exec is the point of no return',
    body: '',
    edits: [comment('fs/exec.c', 'int begin_new_exec(struct linux_binprm * bprm)\n', 'After this returns, a failure can only kill the task: the old image is gone.')],
  },
  {
    subject: 'vsprintf: vsnprintf never writes past size',
    body: '',
    edits: [comment('lib/vsprintf.c', 'int vsnprintf(char *buf, size_t size, const char *fmt, va_list args)\n', 'Writes at most @size bytes, the terminating NUL included.')],
  },
  {
    subject: 'Documentation: init: the initramfs runs /init',
    body: '',
    edits: [append('Documentation/admin-guide/init.rst', '\nWith an initramfs, the kernel runs ``/init`` from it (``rdinit=`` names\nanother); ``init=`` is only used when the initramfs has no init.\n')],
  },
  {
    subject: 'Makefile: lab release -sl1',
    body: 'Planted: the kernel\'s version string changes (uname -r gains -sl1).',
    edits: [replace('Makefile', '\nEXTRAVERSION =\n', '\nEXTRAVERSION = -sl1\n')],
    tag: 'lab-version-change',
    plant: 'versionChange',
  },
  {
    subject: 'exit: do_exit does not return',
    body: '',
    edits: [comment('kernel/exit.c', 'void __noreturn do_exit(long code)\n', 'Never returns: the task is gone when schedule() is called for the last time.')],
  },
  {
    subject: 'namei: kern_path takes a kernel string',
    body: '',
    edits: [comment('fs/namei.c', 'int kern_path(const char *name, unsigned int flags, struct path *path)\n', '@name is a kernel pointer; for user strings see user_path_at().')],
  },
  {
    subject: 'proc: meminfo: leave the crash kernel reserve out of MemTotal',
    body: 'Planted: MemTotal in /proc/meminfo drops by 16 MiB on every machine.',
    edits: [replace('fs/proc/meminfo.c', '\tshow_val_kb(m, "MemTotal:       ", i.totalram);\n', '\tshow_val_kb(m, "MemTotal:       ", i.totalram - ((16UL << 20) >> PAGE_SHIFT));\n')],
    tag: 'lab-meminfo-change',
    plant: 'meminfoChange',
  },
  {
    subject: 'sched: wake_up_new_task puts the child on a runqueue',
    body: '',
    edits: [replace('kernel/sched/core.c', ' * on the runqueue and wakes it.\n */\nvoid wake_up_new_task(', ' * on the runqueue and wakes it. The child may run before this returns.\n */\nvoid wake_up_new_task(')],
  },
  {
    subject: 'Documentation: serial-console: arm64 virt uses a PL011',
    body: '',
    edits: [append('Documentation/admin-guide/serial-console.rst', '\nThe arm64 ``virt`` machine\'s UART is a PL011: enable\n``CONFIG_SERIAL_AMBA_PL011_CONSOLE``.\n')],
  },
  {
    subject: 'printk: vprintk_default is the common path',
    body: '',
    edits: [comment('kernel/printk/printk.c', 'int vprintk_default(const char *fmt, va_list args)\n', 'What printk() ends up in when no special context applies.')],
  },
  {
    subject: 'init: require init= so that a missing init fails early',
    body: 'Planted: every boot without init= now panics before userspace starts\n("No init given"), with or without an initramfs.',
    edits: [replace('init/main.c', '\tdo_sysctl_args();\n\n\tif (ramdisk_execute_command) {\n', '\tdo_sysctl_args();\n\n\tif (!execute_command)\n\t\tpanic("No init given: pass init= on the kernel command line.");\n\n\tif (ramdisk_execute_command) {\n')],
    tag: 'lab-boot-break',
    plant: 'bootBreak',
  },
  {
    subject: 'fork: SYSCALL fork is kept for old ABIs',
    body: '',
    edits: [replace('kernel/fork.c', '#ifdef __ARCH_WANT_SYS_FORK\nSYSCALL_DEFINE0(fork)\n', '#ifdef __ARCH_WANT_SYS_FORK\n/* Kept for the ABIs that still have it; new ones use clone(). */\nSYSCALL_DEFINE0(fork)\n')],
  },
  {
    subject: 'panic: nmi_panic serialises with panic',
    body: '',
    edits: [comment('kernel/panic.c', 'void nmi_panic(struct pt_regs *regs, const char *msg)\n', 'Safe to call from NMI context: only one CPU gets to panic.')],
  },
  {
    subject: 'README: how to build the lab\'s kernel',
    body: '',
    edits: [append('README', '\nThe lab builds it with tinyconfig plus a small fragment (serial console,\ninitramfs, virtio-net and e1000, ACPI power-off).\n')],
  },
  {
    subject: 'vsprintf: scnprintf returns what was written',
    body: '',
    edits: [comment('lib/vsprintf.c', 'int scnprintf(char *buf, size_t size, const char *fmt, ...)\n', 'Unlike snprintf, the return value never exceeds @size - 1.')],
  },
  {
    subject: 'exit: the exit syscall only ends one thread',
    body: '',
    edits: [comment('kernel/exit.c', 'SYSCALL_DEFINE1(exit, int, error_code)\n', 'Ends the calling thread; exit_group() ends the process.')],
  },
  {
    subject: 'namei: path_lookupat walks one path',
    body: '',
    edits: [comment('fs/namei.c', 'static int path_lookupat(struct nameidata *nd, unsigned flags, struct path *path)\n', 'The core of a lookup: one walk of nd->name, RCU first.')],
  },
  {
    subject: 'Documentation: init: what a panic at boot looks like',
    body: '',
    edits: [append('Documentation/admin-guide/init.rst', '\nA kernel that cannot start init ends with ``Kernel panic - not syncing``\non its console.\n')],
  },
  {
    subject: 'sched: schedule() may be called with preemption enabled',
    body: '',
    edits: [comment('kernel/sched/core.c', 'asmlinkage __visible void __sched schedule(void)\n', 'The main entry point of the scheduler.')],
  },
  {
    subject: 'lib/string: strcmp compares unsigned chars',
    body: '',
    edits: [comment('lib/string.c', 'int strcmp(const char *cs, const char *ct)\n', 'Bytes compare as unsigned char, as the C standard asks.')],
  },
  {
    subject: 'README: one more line',
    body: '',
    edits: [append('README', '\nBisect it: the planted commits are tagged lab-*.\n')],
  },
];

/** Every file some step edits: the generator keeps their imported text. */
export const editedPaths = (): Set<string> => new Set(STEPS.flatMap((s) => s.edits.map((e) => e.path)));
