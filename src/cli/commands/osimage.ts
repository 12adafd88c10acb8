// `stacklab osimage`: makes the os image vm jobs boot (busybox-static,
// bash, the C library and the guest runner, from Debian packages) and
// installs it where the server serves it:
// <data>/srv/initrd/osimage/<os>/<arch>/<os_version>/, with `current`.
import type { Command } from 'commander';
import { join } from 'node:path';
import { buildConfig, hostArch, hostOs } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { installOsImage } from '../../vm/os-image.ts';
import { SUPPORTED_ARCHES } from '../../vm/qemu.ts';
import { out, printJson, withJson } from '../common.ts';

export function registerOsimage(program: Command): void {
  withJson(
    program
      .command('osimage')
      .description("make the os image vm jobs boot, from Debian packages, into the server's /initrd/osimage/")
      .option('--data <dir>', 'data directory (default: $STACKLAB_DATA or ./.data)')
      .option('--arch <arch>', `x86_64 or aarch64 (default: this host's)`)
      .option('--os <os>', "the os name jobs select it by (default: this host's ID)")
      .option('--os-version <v>', "the os_version jobs select it by (default: this host's VERSION_ID)")
      .option('--deb-cache <dir>', 'where .deb files of other arches are downloaded (default: <data>/debs)'),
  ).action(async (flags: { data?: string; arch?: string; os?: string; osVersion?: string; debCache?: string; json?: boolean }) => {
    const arch = flags.arch ?? hostArch();
    if (!SUPPORTED_ARCHES.includes(arch)) throw new UserError('bad_usage', `no vm support for arch ${arch} (supported: ${SUPPORTED_ARCHES.join(', ')})`);
    const cfg = buildConfig({ data: flags.data });
    const host = hostOs();
    const r = await installOsImage(cfg.srvDir, { arch, os: flags.os ?? host.os, osVersion: flags.osVersion ?? host.os_version, debCache: flags.debCache ?? join(cfg.dataDir, 'debs') });
    if (flags.json) printJson(r);
    else out(`${r.currentPath} -> ${r.path} (${r.size} bytes, sha256 ${r.sha256})`);
  });
}
