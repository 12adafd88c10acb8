// Where build artifacts live (SPEC §4): compass-ci's layout plus the first
// 12 hex digits of the build key, so two configs or parameter sets of one
// commit never share a path. The URL path is also the file's place under
// <data>/srv.

export interface ArtifactCoordinates {
  key: string;
  pkg: string;
  fork: string;
  /** Full sha. */
  commit: string;
  os: string;
  os_version: string;
  os_arch: string;
  config: string | null;
  /** Type of the testbox group the build ran on. */
  tbox_type: string;
}

export const ARTIFACT_NAMES = ['pkg.cgz', 'vmlinuz', 'modules.cgz'] as const;
export type ArtifactName = (typeof ARTIFACT_NAMES)[number];

/** compass-ci's os_mount: packages for containers vs. for booted machines. */
const osMount = (tboxType: string) => (tboxType === 'dc' ? 'container' : 'initramfs');

const key12 = (key: string) => key.slice(0, 12);

/** A config name as one path component (its directories joined with '-'). */
const configLabel = (config: string | null) => (config ? config.replace(/\//g, '-') : 'default');

export function artifactPath(c: ArtifactCoordinates, name: ArtifactName): string {
  if (name === 'pkg.cgz') {
    return `/initrd/build-pkg/${osMount(c.tbox_type)}/${c.os}/${c.os_arch}/${c.os_version}/${c.fork}/${c.commit}-${key12(c.key)}.cgz`;
  }
  return `/kernel/${c.os_arch}/${configLabel(c.config)}/${c.commit}-${key12(c.key)}/${name}`;
}

/** The artifacts a package's build must leave: linux also a kernel and its modules. */
export function requiredArtifacts(pkg: string): ArtifactName[] {
  return pkg === 'linux' ? ['pkg.cgz', 'vmlinuz', 'modules.cgz'] : ['pkg.cgz'];
}

/** The URL path (and place under <data>/srv) of an os image file, as compass-ci serves them. */
export const osImagePath = (os: string, arch: string, osVersion: string, name: string): string => `/initrd/osimage/${os}/${arch}/${osVersion}/${name}`;
