#!/usr/bin/env bash
# The tempest tier (tox -e tempest): tempest from PyPI, with this project's
# plugin and the upstream compute tests that apply, against the multinode
# deployment behind a real Keystone (nova/tests/multinode/tempest_run.py).
#
# As root (network namespaces, daemons as their users). Installs the
# Debian packages and libvirt-python when missing and prints its wall
# time. TEMPEST_TIER_DIR: the deployment, the tempest workspace and
# results.json (default .tempest-tier in the repo). Arguments go to the
# module (e.g. --keep, --db postgresql).
#
# Licensed under the Apache License, Version 2.0.
set -uo pipefail
cd "$(dirname "$0")/../.."
python=python  # the tox environment's
. tools/integration/common.sh
tier_start tempest root
ensure_host_packages tempest "$python" iproute2 util-linux

"$python" -m nova.tests.multinode.tempest_run \
    --base-dir "${TEMPEST_TIER_DIR:-.tempest-tier}" "$@"
