#!/usr/bin/env bash
# The multinode tier (tox -e multinode): every service its own process
# over RabbitMQ and a SQL server, each compute with its own libvirtd in a
# network namespace (nova/tests/multinode/), driven through the openstack
# CLI; first on MariaDB, then on PostgreSQL ($MULTINODE_PG_TESTS,
# a regex of the tests to run again; "" skips it). By default PostgreSQL
# gets the tests whose outcome hangs on the database: its restart, the
# scheduler's claims, a revert's compare-and-swaps and the recovery's
# time arithmetic; the rest (the killed copies, RabbitMQ, the abort,
# the personas) does not change with it and runs once, which keeps the
# tier within its share of CI's hour.
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
pg_tests=${MULTINODE_PG_TESTS-'\.(test_sql_server_restarted|test_scheduler_picks_the_destination|test_migrate_then_revert|test_source_killed_once_accepted)$'}
if [ -n "$pg_tests" ] && [ $# = 0 ]; then
    echo "multinode: PostgreSQL ($pg_tests)"
    MULTINODE_DB=postgresql stestr --test-path=./nova/tests/multinode/tests \
        run --concurrency 1 "$pg_tests" || rc=1
fi
exit $rc
