// The qemu command line of a vm job (pure): the arch's machine, KVM or TCG,
// CPUs and memory, -kernel with the concatenated initrds and the command
// line, user-mode networking (the host is 10.0.2.2 to the guest), the
// serial console on qemu's stdout, and -no-reboot so that a power-off, a
// reboot or a panic (panic=-1) all end qemu.

export type Accel = 'kvm' | 'tcg';
export type Nic = 'virtio' | 'e1000';

export interface QemuSpec {
  arch: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd?: string | undefined;
  /** The kernel command line, whole. */
  append: string;
  nic?: Nic | undefined;
  name?: string | undefined;
  /** An explicit qemu binary (default qemu-system-<arch> on PATH). */
  binary?: string | undefined;
}

interface ArchInfo {
  binary: string;
  machine: string;
  /** -cpu under TCG (KVM always passes the host's). */
  tcgCpu: string | undefined;
  console: string;
}

const ARCHES: Record<string, ArchInfo> = {
  x86_64: { binary: 'qemu-system-x86_64', machine: 'q35', tcgCpu: undefined, console: 'ttyS0,115200' },
  aarch64: { binary: 'qemu-system-aarch64', machine: 'virt', tcgCpu: 'cortex-a57', console: 'ttyAMA0' },
};

export const SUPPORTED_ARCHES = Object.keys(ARCHES);

function archInfo(arch: string): ArchInfo {
  const a = ARCHES[arch];
  if (!a) throw new Error(`no vm support for arch ${arch} (supported: ${SUPPORTED_ARCHES.join(', ')})`);
  return a;
}

export const qemuBinary = (arch: string): string => archInfo(arch).binary;

/** The kernel's console argument for the arch's first serial port. */
export const consoleArg = (arch: string): string => `console=${archInfo(arch).console}`;

export function qemuArgs(s: QemuSpec): string[] {
  const a = archInfo(s.arch);
  const cpu = s.accel === 'kvm' ? 'host' : a.tcgCpu;
  const nic = (s.nic ?? 'virtio') === 'virtio' ? 'virtio-net-pci' : 'e1000';
  return [
    ...(s.name ? ['-name', s.name] : []),
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    '-monitor', 'none',
    '-no-reboot',
    '-machine', `${a.machine},accel=${s.accel}`,
    ...(cpu ? ['-cpu', cpu] : []),
    '-smp', String(s.cpus),
    '-m', `${s.memoryMiB}M`,
    '-kernel', s.kernel,
    ...(s.initrd ? ['-initrd', s.initrd] : []),
    '-append', s.append,
    '-serial', 'stdio',
    '-netdev', 'user,id=net0',
    '-device', `${nic},netdev=net0`,
  ];
}

export function qemuCommand(s: QemuSpec): { command: string; args: string[] } {
  return { command: s.binary ?? qemuBinary(s.arch), args: qemuArgs(s) };
}
