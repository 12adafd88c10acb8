// The seed's example job — a compass-ci ss job as its users write it —
// byte for byte, for the tests that take it unchanged.
export const SEED_JOB = `suite: host-info
testbox: vm-2p8g
os: openeuler
os_version: 22.03-lts-sp4
os_arch: aarch64
host-info:
ss:
  linux:
    fork: linux-next
    commit: v5.10
    config: /srv/cci/build-config/linux/openeuler_defconfig_arm64
    _upstream_url: https://mirrors.tuna.tsinghua.edu.cn/git/linux-next.git
    _upstream_dir: upstream
    _pkgbuild_source: https://git.archlinux.org/linux.git
    pkg_ver: v1
    testbox: dc-32g
`;
