#!/bin/sh
# Run tox from a private virtualenv, creating it first if needed, so the
# README's commands work on a fresh machine that has only python3.
#
#   tools/tox.sh -e pep8,py3,functional
#
# Licensed under the Apache License, Version 2.0.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
boot="$top/.tox-bootstrap"
python=${PYTHON:-python3}

if ! "$boot/bin/python" -m tox --version >/dev/null 2>&1; then
    if ! "$python" -m venv --help >/dev/null 2>&1 || \
       ! "$python" -c 'import ensurepip' >/dev/null 2>&1; then
        # Debian splits venv out of python3.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "tools/tox.sh: installing python3-venv" >&2
            apt-get install -y -q python3-venv >/dev/null
        else
            echo "tools/tox.sh: $python has no working venv module;" \
                 "install it with: sudo apt-get install python3-venv" >&2
            exit 1
        fi
    fi
    echo "tools/tox.sh: creating $boot with tox" >&2
    rm -rf "$boot"
    "$python" -m venv "$boot"
    "$boot/bin/python" -m pip install -q --upgrade pip
    "$boot/bin/python" -m pip install -q 'tox>=4.4'
fi

cd "$top"
exec "$boot/bin/python" -m tox "$@"
