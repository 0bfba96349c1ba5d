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
python=python  # the tox environment's
. tools/integration/common.sh
tier_start integration
ensure_host_packages integration "$python"

stestr --test-path=./nova/tests/integration run --concurrency 1 "$@"
