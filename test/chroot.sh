#!/bin/bash
# Debian chroots for testing storagebox on the PostgreSQL versions that
# another Debian suite packages (trixie: 17; sid: 18; experimental: 19).
# Run as root; the chroot is made by debootstrap from the mirror the host's
# apt uses, and its tests run as the user postgres inside it.
#
#   test/chroot.sh create DIR SUITE [--experimental]
#       debootstrap SUITE (minbase) into DIR; --experimental adds that
#       suite to its sources (its packages are installed only when asked
#       for with -t experimental)
#   test/chroot.sh install DIR VERSION [--experimental]
#       install PostgreSQL VERSION and everything the tests need
#       (tools/install_deps.sh in the chroot), from experimental if asked
#   test/chroot.sh test DIR VERSION [--counts FILE] [test/run_tests.sh options]
#       copy this tree into DIR and run test/run_tests.sh --pg VERSION
#       there; --counts FILE receives the run's counts (test/summary.sh)
#   test/chroot.sh package DIR VERSION [--counts FILE]
#       build the Debian package (debian/) in a copy of this tree, remove
#       that copy, install postgresql-VERSION-storagebox with dpkg, and run
#       pg_buildext installcheck (pg_regress and isolation, both flavours)
#       against the installed files from a tree where nothing was built;
#       run it before "test", which runs make install
#   test/chroot.sh run DIR COMMAND...
#       run a command in the chroot
#   test/chroot.sh remove DIR
#       unmount what is mounted under DIR and delete it
#
# /proc and /dev/shm (the server's shared memory) are mounted in the
# chroot while a command runs in it, and unmounted when it ends, however it
# ends.  SB_DEBIAN_MIRROR overrides the mirror.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "chroot.sh: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "run it as root"

# The Debian mirror of the host's apt sources (one-line or deb822 format).
host_mirror() {
    local f uri
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        uri=$(sed -n -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\/\?\)[[:space:]].*/\2/p' \
                     -e 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\/\?\)[[:space:]]*$/\1/p' "$f" | head -1)
        [ -n "$uri" ] && { echo "${uri%/}"; return; }
    done
    echo http://deb.debian.org/debian
}

mounted() { awk -v m="$1" '$2 == m { found = 1 } END { exit !found }' /proc/mounts; }

# Mount /proc and /dev/shm in $root for as long as this script runs.
ours=()
unmount_ours() {
    local i
    for ((i = ${#ours[@]} - 1; i >= 0; i--)); do
        umount "${ours[i]}" 2>/dev/null || umount -l "${ours[i]}" || true
    done
    ours=()
}
trap unmount_ours EXIT
trap 'exit 130' INT TERM
mount_in() {
    local root=$1
    if ! mounted "$root/proc"; then mount -t proc proc "$root/proc"; ours+=("$root/proc"); fi
    if ! mounted "$root/dev/shm"; then mount -t tmpfs -o mode=1777 shm "$root/dev/shm"; ours+=("$root/dev/shm"); fi
}

# A command runs in the chroot with a clean environment, but for these.
passed_env="SB_APT_RELEASE SB_TEST_PORT SB_KEEP_TEST_DIR PROVE_TESTS SB_CRASH_LOOPS SB_CRASH_CALLS SB_LOAD_CLIENTS
            DEB_BUILD_OPTIONS DEB_BUILD_PROFILES"
in_chroot() {
    local root=$1 v vars=()
    shift
    for v in $passed_env; do
        [ -n "${!v:-}" ] && vars+=("$v=${!v}")
    done
    mount_in "$root"
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${vars[@]}" \
        chroot "$root" "$@"
}

# This tree, without its git directory and build products, into $1.
copy_tree() {
    rm -rf "$1"; mkdir -p "$1"
    tar -C "$top" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        --exclude=./results --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
        --exclude=./dist --exclude=./debian/.debhelper --exclude='./debian/postgresql-*' \
        -cf - . | tar -C "$1" -xf -
}

cmd=${1:-}; root=${2:-}
[ -n "$cmd" ] && [ -n "$root" ] || { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
shift 2
# Mount here, not in a subshell (a pipeline, $(...)), whose mounts would
# outlive it.
case "$cmd" in
    install|test|package|run) [ -d "$root/proc" ] || die "$root: no chroot there"; mount_in "$root" ;;
esac

case "$cmd" in
create)
    suite=${1:?SUITE}; experimental=${2:-}
    [ -e "$root/.storagebox-chroot" ] && "$0" remove "$root"
    command -v debootstrap >/dev/null || die "debootstrap is not installed"
    mirror=${SB_DEBIAN_MIRROR:-$(host_mirror)}
    mkdir -p "$root"
    touch "$root/.storagebox-chroot"
    echo "debootstrap $suite from $mirror into $root"
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
        || { tail -20 "$root.debootstrap.log"; die "debootstrap failed"; }
    rm -f "$root.debootstrap.log"
    mount_in "$root"
    echo "deb $mirror $suite main" > "$root/etc/apt/sources.list"
    [ "$experimental" = --experimental ] && echo "deb $mirror experimental main" >> "$root/etc/apt/sources.list"
    # no service starts in the chroot (the server package would start a cluster)
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    # a throwaway system: dpkg need not sync every file it writes
    echo force-unsafe-io > "$root/etc/dpkg/dpkg.cfg.d/storagebox-unsafe-io"
    in_chroot "$root" apt-get -o Acquire::Check-Valid-Until=false update -qq
    ;;
install)
    version=${1:?VERSION}
    [ "${2:-}" = --experimental ] && export SB_APT_RELEASE=experimental
    cp "$top/tools/install_deps.sh" "$root/tmp/install_deps.sh"
    in_chroot "$root" sh /tmp/install_deps.sh "$version" 2>&1 | grep -v -e '^debconf: ' -e 'Is /dev/pts mounted' || true
    in_chroot "$root" dpkg-query -W -f='${Status}\n' "postgresql-$version" "postgresql-server-dev-$version" \
        | grep -qv "install ok installed" && die "postgresql-$version did not install"
    in_chroot "$root" "/usr/lib/postgresql/$version/bin/postgres" --version
    ;;
test)
    version=${1:?VERSION}; shift
    counts=""; args=()
    while [ $# -gt 0 ]; do
        case $1 in
            --counts) counts=$2; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    copy_tree "$root/build/storagebox"
    rm -f "$root/build/counts"
    status=0
    in_chroot "$root" /build/storagebox/test/run_tests.sh --pg "$version" --counts /build/counts \
        "${args[@]}" </dev/null || status=$?
    [ -n "$counts" ] && [ -f "$root/build/counts" ] && cp "$root/build/counts" "$counts"
    exit $status
    ;;
package)
    version=${1:?VERSION}; shift
    counts=""
    [ "${1:-}" = --counts ] && counts=$2
    # the build dependencies (postgresql-all for the build-time test)
    in_chroot "$root" apt-get install -y -qq --no-install-recommends \
        debhelper postgresql-server-dev-all postgresql-all </dev/null 2>&1 \
        | grep -v -e '^debconf: ' -e 'Is /dev/pts mounted' -e '^Selecting\|^Preparing\|^Unpacking\|^Setting up\|^Processing\|^(Reading' || true
    # build in one copy of the tree, then remove it
    copy_tree "$root/build/pkg/storagebox"
    rm -f "$root"/build/pkg/*.deb
    full=$(in_chroot "$root" "/usr/lib/postgresql/$version/bin/pg_config" --version | awk '{ print $2 }')
    SECONDS=0
    if ! in_chroot "$root" sh -c 'cd /build/pkg/storagebox && dpkg-buildpackage -us -uc -b' \
            >"$root/build/package.log" 2>&1; then
        tail -60 "$root/build/package.log"
        [ -n "$counts" ] && printf '%s\tdeb-build\t-\t0\t1\t0\t%d\n' "$full" $SECONDS > "$counts"
        die "dpkg-buildpackage failed"
    fi
    grep -E '^(ok|not ok) [0-9]|^### ' "$root/build/package.log" || true
    echo "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-}): ok, $SECONDS s"
    build_time=$SECONDS
    ls "$root"/build/pkg/*.deb
    deb=$(ls "$root"/build/pkg/postgresql-"$version"-storagebox_*.deb)
    mkdir -p "$root/build/debs"; rm -f "$root"/build/debs/*.deb
    cp "$root"/build/pkg/*.deb "$root/build/debs/"
    rm -rf "$root/build/pkg"
    # nothing of a make install may be there: the package brings every file
    ext=$(in_chroot "$root" "/usr/lib/postgresql/$version/bin/pg_config" --sharedir)/extension
    lib=$(in_chroot "$root" "/usr/lib/postgresql/$version/bin/pg_config" --pkglibdir)
    in_chroot "$root" sh -c "dpkg --purge postgresql-$version-storagebox >/dev/null 2>&1; rm -f $ext/storagebox* $lib/storagebox.so"
    in_chroot "$root" dpkg -i "/build/debs/$(basename "$deb")"
    in_chroot "$root" dpkg -L "postgresql-$version-storagebox" | grep -E '\.(so|control|sql)$'
    SECONDS=0
    # the tests, from a tree where nothing was built (pg_buildext
    # installcheck starts a throwaway cluster with pg_virtualenv)
    copy_tree "$root/build/check/storagebox"
    in_chroot "$root" chown -R postgres /build/check
    # debian/tests/installcheck, the package's autopkgtest: both flavours
    rc=0
    in_chroot "$root" su postgres -s /bin/sh -c "cd /build/check/storagebox && debian/tests/installcheck" \
        >"$root/build/installcheck.log" 2>&1 || rc=$?
    cat "$root/build/installcheck.log"
    log="$root/build/installcheck.log"
    passed=$(grep -cE '^(ok [0-9]+ +[-+] |test .* \.\.\. +ok)' "$log" || true)
    failed=$(grep -cE '^not ok [0-9]+ +[-+] |\.\.\. +FAILED' "$log" || true)
    [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
    [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && failed=1
    echo "installed package, debian/tests/installcheck: $passed passed, $failed failed"
    rm -rf "$root/build/check"
    [ -n "$counts" ] && printf '%s\tdeb-build\t-\t1\t0\t0\t%d\n%s\tdeb-check\tc+sql\t%d\t%d\t0\t%d\n' \
        "$full" $build_time "$full" $passed $failed $SECONDS > "$counts"
    [ "$failed" -eq 0 ]
    ;;
run)
    in_chroot "$root" "$@"
    ;;
remove)
    [ -e "$root/.storagebox-chroot" ] || [ ! -e "$root" ] || die "$root is not a chroot made by this script"
    # deepest mount points first
    awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
    rm -rf --one-file-system "$root"
    ;;
*)
    die "unknown command $cmd"
    ;;
esac
