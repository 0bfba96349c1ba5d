#!/usr/bin/env bash
# The multinode tier (tox -e multinode): every service its own process
# over RabbitMQ and a SQL server, each compute with its own libvirtd in a
# network namespace (nova/tests/multinode/), driven through the openstack
# CLI; first on MariaDB, then on PostgreSQL ($MULTINODE_PG_TESTS,
# a regex of the tests to run again, "." by default; "" skips it).
#
# As root (network namespaces, daemons as their users). Installs the
# Debian packages and libvirt-python when missing (RabbitMQ, MariaDB and
# PostgreSQL are installed by the deployment itself) and prints its wall
# time. Nothing is skipped: without a requirement the tests fail and say
# what to install.
#
# Licensed under the Apache License, Version 2.0.
set -uo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
python=python  # the tox environment's

finish() {
    echo "multinode: wall time $(( $(date +%s) - started )) s"
}
trap finish EXIT

if [ "$(id -u)" != 0 ]; then
    echo "multinode: run as root (network namespaces, veth pairs and" \
         "daemons under their own users)" >&2
    exit 1
fi
packages=$("$python" -c 'from nova.virt.libvirt import local_hosts as h
print(" ".join(h.DEBIAN_PACKAGES))') || exit 1
missing=()
for package in $packages iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
        grep -q 'ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "multinode: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq &&
        apt-get install -y -qq --no-install-recommends "${missing[@]}" \
            >/dev/null || echo "multinode: could not install" \
            "${missing[*]}" >&2
fi
if ! "$python" -c 'import libvirt' 2>/dev/null; then
    echo "multinode: installing libvirt-python"
    "$python" -m pip install -q libvirt-python ||
        echo "multinode: could not install libvirt-python" >&2
fi

export PYTHON
PYTHON=$(command -v "$python")
rc=0
echo "multinode: MariaDB"
MULTINODE_DB=mariadb stestr --test-path=./nova/tests/multinode/tests run \
    --concurrency 1 "$@" || rc=1
pg_tests=${MULTINODE_PG_TESTS-.}
if [ -n "$pg_tests" ] && [ $# = 0 ]; then
    echo "multinode: PostgreSQL ($pg_tests)"
    MULTINODE_DB=postgresql stestr --test-path=./nova/tests/multinode/tests \
        run --concurrency 1 "$pg_tests" || rc=1
fi
exit $rc
