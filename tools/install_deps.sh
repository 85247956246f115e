#!/bin/sh
# Install what building and testing storagebox needs on Debian, if it is
# missing: tools/install_deps.sh [VERSION...]   (default 15, Debian 12's)
# Each VERSION brings postgresql-VERSION and postgresql-server-dev-VERSION;
# every run brings the rest (compiler, libpq, the Perl modules of the TAP
# tests, pgbouncer).  SB_APT_RELEASE (say experimental) is passed to
# apt-get as -t, for a version that only that suite packages.  Runs apt-get
# only when something is missing; needs root (or sudo).
set -eu

versions=${*:-15}
PACKAGES="libpq-dev build-essential libipc-run-perl libdbd-pg-perl pgbouncer"
for v in $versions; do
    PACKAGES="postgresql-$v postgresql-server-dev-$v $PACKAGES"
done

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
target=""
[ -n "${SB_APT_RELEASE:-}" ] && target="-t $SB_APT_RELEASE"
echo "installing:$missing${target:+ ($target)}"
# A suite's Release file may have expired (sid's often has): its signature
# is still checked.
$SUDO apt-get -o Acquire::Check-Valid-Until=false update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $target $missing </dev/null >/dev/null
