// A lab with real ss packages for integration tests: `hello` (a C program
// whose greeting comes from the build config, with a commit whose build
// breaks) and `linux` (a fake kernel: boot/vmlinuz and lib/modules), their
// upstream git repositories generated here.
import { join } from 'node:path';
import { makeRepo } from './git.ts';
import { FAST_POLICY, makeLab } from './lab.ts';

const helloC = (version: string, broken = false) => `#include <stdio.h>
#ifndef GREETING
#define GREETING "hello"
#endif
int main(void) {
  printf("%s from ${version}\\n", GREETING)${broken ? '' : ';'}
  return 0;
}
`;

export interface SsLab {
  lab: string;
  hello: { repo: string; shas: string[]; good: string; broken: string; fixed: string };
  linux: { repo: string; shas: string[] };
}

export const HELLO_RECIPE = `pkgname=hello
pkgver=1.0
makedepends=(gcc)
build() {
  cd "$srcdir/$pkgname"
  greeting=hello
  if [ -n "$config" ]; then greeting=$(sed -n 's/^GREETING=//p' "$config"); fi
  if [ -n "$delay" ]; then sleep "$delay"; fi
  cc -DGREETING="\\"$greeting\\"" -o hello hello.c
}
package() {
  install -Dm755 "$srcdir/$pkgname/hello" "$pkgdir/bin/hello"
}
`;

export const LINUX_RECIPE = `pkgname=linux
pkgver=5.10
build() {
  cd "$srcdir/$pkgname"
  cp "$config" .config
  echo "kernel $(cat VERSION) config $(sha256sum < .config | cut -c1-12)" > vmlinuz.img
}
package() {
  install -Dm644 "$srcdir/$pkgname/vmlinuz.img" "$pkgdir/boot/vmlinuz"
  install -Dm644 "$srcdir/$pkgname/VERSION" "$pkgdir/lib/modules/5.10.0/kernel/drivers/demo.ko"
}
`;

export function makeSsLab(dir: string, policy: Record<string, unknown> = {}): SsLab {
  const helloRepo = join(dir, 'upstream', 'hello');
  const hello = makeRepo(helloRepo, [
    { message: 'hello 1', files: { 'hello.c': helloC('v1') }, tag: 'v1' },
    { message: 'hello 2', files: { 'hello.c': helloC('v2') }, tag: 'v2' },
    { message: 'refactor printing (breaks the build)', files: { 'hello.c': helloC('v3', true) } },
    { message: 'fix the build', files: { 'hello.c': helloC('v4') }, tag: 'v4' },
  ]);
  const linuxRepo = join(dir, 'upstream', 'linux');
  const linux = makeRepo(linuxRepo, [
    { message: 'Linux 5.10', files: { VERSION: '5.10\n', Makefile: 'all:\n' }, tag: 'v5.10' },
    { message: 'Linux 5.11', files: { VERSION: '5.11\n' }, tag: 'v5.11' },
  ]);
  const lab = makeLab(join(dir, 'lab'), {
    policy: { ...FAST_POLICY, build_testbox: 'dc-build', allow_local_upstreams: true, ...policy },
    suites: {
      'use-hello': {
        run: `#!/bin/sh
out=$(hello) || exit 1
echo "$out"
echo "root $hello_root"
case "$out" in *LOUD*) echo "loud: 1";; *) echo "loud: 0";; esac
`,
      },
      'boot-test': { run: '#!/bin/sh\necho "booted: 1"\n' },
    },
    files: {
      'upstreams/hello/hello.yaml': `url: ${helloRepo}\n`,
      'upstreams/linux/linux.yaml': `url: ${linuxRepo}\n`,
      'recipes/hello/PKGBUILD': HELLO_RECIPE,
      'recipes/linux/PKGBUILD': LINUX_RECIPE,
      'configs/hello/loud': 'GREETING=LOUD HELLO\n',
      'configs/hello/quiet': 'GREETING=psst\n',
      'configs/linux/small_defconfig': 'CONFIG_SMALL=y\n',
      'configs/linux/big_defconfig': 'CONFIG_SMALL=n\nCONFIG_BIG=y\n',
    },
  });
  return {
    lab,
    hello: { repo: helloRepo, shas: hello, good: hello[1]!, broken: hello[2]!, fixed: hello[3]! },
    linux: { repo: linuxRepo, shas: linux },
  };
}
