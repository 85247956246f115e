#!/bin/sh
# Install what building and testing storagebox needs on Debian 12, if it is
# missing.  Runs apt-get only when something is missing; needs root (or sudo).
set -eu

PACKAGES="postgresql-15 postgresql-server-dev-15 libpq-dev build-essential libipc-run-perl libdbd-pg-perl pgbouncer"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
