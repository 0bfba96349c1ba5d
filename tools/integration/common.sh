# Sourced by the tiers' scripts (and tools/multinode.sh).
#
#   tier_start TAG [root]
#
# prints TAG's wall time when the script exits and, with "root", exits at
# once unless run as root (network namespaces, veth pairs, daemons under
# their own users).
#
#   ensure_host_packages TAG PYTHON [DEBIAN PACKAGE ...] [-- PIP MODULE:DIST ...]
#
# The Debian list lives in one place, local_hosts.DEBIAN_PACKAGES; more
# packages may follow. Installs as root, else through sudo -n. libvirt-python
# always, and each MODULE:DIST after "--", go into PYTHON's environment.
# Reports what it could not install on stderr and returns 1; the tests then
# fail and say what is missing.
#
# Licensed under the Apache License, Version 2.0.

tier_start() {
    TIER_TAG=$1
    TIER_STARTED=$(date +%s)
    trap 'echo "$TIER_TAG: wall time $(( $(date +%s) - TIER_STARTED )) s"' \
        EXIT
    if [ "${2:-}" = root ] && [ "$(id -u)" != 0 ]; then
        echo "$TIER_TAG: run as root (network namespaces, veth pairs and" \
             "daemons under their own users)" >&2
        exit 1
    fi
}

ensure_host_packages() {
    local tag=$1 python=$2 packages package module rc=0 sudo=
    shift 2
    local extra=() pips=(libvirt:libvirt-python)
    while [ $# -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    pips+=("$@")
    packages=$("$python" -c 'from nova.virt.libvirt import local_hosts as h
print(" ".join(h.DEBIAN_PACKAGES))') || return 1
    local missing=()
    for package in $packages "${extra[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
            grep -q 'ok installed' || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        [ "$(id -u)" = 0 ] || sudo="sudo -n"
        echo "$tag: installing ${missing[*]}"
        if ! command -v apt-get >/dev/null; then
            echo "$tag: missing ${missing[*]} and no apt-get" >&2
            rc=1
        else
            # A fresh machine's package lists may be stale: update once
            # only if the first attempt fails.
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
                --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
                $sudo apt-get update -qq &&
                    DEBIAN_FRONTEND=noninteractive $sudo apt-get install \
                        -y -qq --no-install-recommends "${missing[@]}" \
                        >/dev/null; } || {
                echo "$tag: could not install ${missing[*]}" >&2
                rc=1
            }
        fi
    fi
    for module in "${pips[@]}"; do
        if ! "$python" -c "import ${module%%:*}" 2>/dev/null; then
            echo "$tag: installing ${module#*:} into $python's environment"
            "$python" -m pip install -q "${module#*:}" || {
                echo "$tag: could not install ${module#*:}" >&2
                rc=1
            }
        fi
    done
    return $rc
}
