// The virtual machine a vm testbox group stands for (pure): compass-ci's
// naming, vm-<N>p<M>g = N CPUs and M GiB, capped by what the host has.

export interface MachineSize {
  cpus: number;
  memoryMiB: number;
}

export interface HostLimits {
  cpus: number;
  memoryMiB: number;
}

/** What a group without a size in its name gets. */
export const DEFAULT_SIZE: MachineSize = { cpus: 1, memoryMiB: 1024 };

/** The size a group name asks for: `vm-2p8g` → 2 CPUs, 8 GiB; undefined when it names none. */
export function requestedSize(group: string): MachineSize | undefined {
  const m = /(?:^|-)(\d+)p(\d+)g(?:-|$)/.exec(group);
  if (!m) return undefined;
  const cpus = Number(m[1]);
  const gib = Number(m[2]);
  if (!(cpus > 0) || !(gib > 0)) return undefined;
  return { cpus, memoryMiB: gib * 1024 };
}

/**
 * The size to boot with: the group's, at most the host's CPUs and three
 * quarters of its memory (qemu allocates guest RAM lazily, but a guest
 * that touches all of it must not push the host into swap or the OOM
 * killer).
 */
export function machineSize(group: string, host: HostLimits): MachineSize & { capped: boolean } {
  const want = requestedSize(group) ?? DEFAULT_SIZE;
  const maxMem = Math.max(256, Math.floor((host.memoryMiB * 3) / 4));
  const cpus = Math.max(1, Math.min(want.cpus, host.cpus));
  const memoryMiB = Math.min(want.memoryMiB, maxMem);
  return { cpus, memoryMiB, capped: cpus !== want.cpus || memoryMiB !== want.memoryMiB };
}
