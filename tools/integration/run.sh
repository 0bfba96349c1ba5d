#!/usr/bin/env bash
# The integration tier (tox -e integration): real libvirt + QEMU hosts.
#
# Installs what the tier needs when it is missing (Debian packages as
# root, or through sudo; libvirt-python into the running environment),
# runs nova/tests/integration one test at a time and prints its wall time.
# Nothing is skipped: without libvirt and QEMU the tests fail and say what
# to install.
#
# Licensed under the Apache License, Version 2.0.
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
python=python  # the tox environment's

finish() {
    echo "integration: wall time $(( $(date +%s) - started )) s"
}
trap finish EXIT

# The package list lives in one place: local_hosts.DEBIAN_PACKAGES.
packages=$("$python" -c 'from nova.virt.libvirt import local_hosts as h
print(" ".join(h.DEBIAN_PACKAGES))') || exit 1
missing=()
for package in $packages; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
        grep -q 'ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null; then
        echo "integration: missing ${missing[*]} and no apt-get" >&2
    else
        sudo=
        [ "$(id -u)" = 0 ] || sudo="sudo -n"
        echo "integration: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get update -qq &&
            $sudo apt-get install -y -qq --no-install-recommends \
                "${missing[@]}" >/dev/null ||
            echo "integration: could not install ${missing[*]}" >&2
    fi
fi
if ! "$python" -c 'import libvirt' 2>/dev/null; then
    echo "integration: installing libvirt-python"
    "$python" -m pip install -q libvirt-python ||
        echo "integration: could not install libvirt-python" >&2
fi

stestr --test-path=./nova/tests/integration run --concurrency 1 "$@"
