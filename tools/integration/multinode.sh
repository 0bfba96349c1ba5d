#!/usr/bin/env bash
# The multinode tier (tox -e multinode): every service its own process
# over RabbitMQ and a SQL server, each compute with its own libvirtd in a
# network namespace (nova/tests/multinode/), driven through the openstack
# CLI; first on MariaDB, then on PostgreSQL ($MULTINODE_PG_TESTS,
# a regex of the tests to run again: all but PersonasTest by default;
# "" skips it).
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
python=python  # the tox environment's
. tools/integration/common.sh
tier_start multinode root
ensure_host_packages multinode "$python" iproute2 util-linux

export PYTHON
PYTHON=$(command -v "$python")
rc=0
echo "multinode: MariaDB"
MULTINODE_DB=mariadb stestr --test-path=./nova/tests/multinode/tests run \
    --concurrency 1 "$@" || rc=1
# The personas check Keystone and the policy, which no database changes.
pg_tests=${MULTINODE_PG_TESTS-'^(?!.*PersonasTest)'}
if [ -n "$pg_tests" ] && [ $# = 0 ]; then
    echo "multinode: PostgreSQL ($pg_tests)"
    MULTINODE_DB=postgresql stestr --test-path=./nova/tests/multinode/tests \
        run --concurrency 1 "$pg_tests" || rc=1
fi
exit $rc
