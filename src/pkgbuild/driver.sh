#!/usr/bin/env bash
# stacklab's PKGBUILD driver (SPEC §3): a fixed script, never generated.
# Every value arrives in the environment; nothing a user wrote is
# interpolated into shell text.
#
#   driver.sh info            print pkgname and pkgver, NUL-separated
#   driver.sh run FUNCTION    run prepare, build or package in $srcdir, with errexit
set -o pipefail
# shellcheck disable=SC1091
source "$startdir/PKGBUILD" || { echo "stacklab: cannot source PKGBUILD" >&2; exit 2; }

case "$1" in
  info)
    printf '%s\0%s\0' "${pkgname:-}" "${pkgver:-}"
    printf '%s ' "${depends[@]}"; printf '\0'
    printf '%s ' "${makedepends[@]}"; printf '\0'
    ;;
  run)
    fn="$2"
    if ! declare -F "$fn" >/dev/null; then
      [ "$fn" = prepare ] && exit 0
      echo "stacklab: the PKGBUILD defines no $fn()" >&2
      exit 2
    fi
    cd "$srcdir" || exit 2
    set -e
    "$fn"
    ;;
  *)
    echo "stacklab: driver.sh info | run FUNCTION" >&2
    exit 2
    ;;
esac
