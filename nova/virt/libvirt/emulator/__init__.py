# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

# ruff: noqa: N802, N816 - libvirt-python's names are the API

"""The emulated libvirt connection: libvirt-python's API, no libvirtd.

Use it where code does ``import libvirt``::

    from nova.virt.libvirt import emulator as libvirt
    conn = libvirt.open('emulated://host-a')
    dom = conn.defineXML(xml)
    dom.createWithFlags(0)
    dom.migrateToURI3('emulated://host-b', params,
                      libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER)

URI: ``emulated://<host>[/][?state_dir=<dir>]``; ``emulated:///`` names
this machine. Hosts live in a process-wide registry; ``get_host(name)``
gives the Host object whose knobs tests turn (``configure()``,
``set_workload()``, ``inject_migration_error()``, ``refuse_incoming()``),
and ``reset()`` forgets them all.

Everything raised is ``libvirtError`` (this module's, not libvirt-python's:
this package never imports libvirt-python), with libvirt 9's codes and
messages.
"""

import time

from nova.virt.libvirt.emulator import connection as _connection
from nova.virt.libvirt.emulator import constants as _constants
from nova.virt.libvirt.emulator import domain as _domain
from nova.virt.libvirt.emulator import errors as _errors
from nova.virt.libvirt.emulator import state as _state
from nova.virt.libvirt.emulator import workload as _workload

# libvirt's constants, as module attributes like libvirt-python's.
globals().update({name: value for name, value in vars(_constants).items()
                  if name.startswith('VIR_')})
VIR_CPU_COMPARE_ERROR = _connection.VIR_CPU_COMPARE_ERROR
VIR_CPU_COMPARE_INCOMPATIBLE = _connection.VIR_CPU_COMPARE_INCOMPATIBLE
VIR_CPU_COMPARE_IDENTICAL = _connection.VIR_CPU_COMPARE_IDENTICAL
VIR_CPU_COMPARE_SUPERSET = _connection.VIR_CPU_COMPARE_SUPERSET

libvirtError = _errors.libvirtError
virConnect = _connection.virConnect
virDomain = _domain.virDomain
open = _connection.open  # noqa: A001 - libvirt-python's name
openReadOnly = _connection.openReadOnly
openAuth = _connection.openAuth

# The emulator's own API (not in libvirt-python).
Host = _state.Host
Workload = _workload.Workload
get_host = _state.get_host
find_host = _state.find_host
all_hosts = _state.all_hosts
find_workload = _state.find_workload
parse_uri = _state.parse_uri
reset = _state.reset
stamp_page = _workload.stamp_page
read_stamp = _workload.read_stamp
EMULATED_URI_SCHEME = 'emulated'


def getVersion(name=None):
    """The library version, libvirt 9.0.0."""
    return _constants.LIB_VERSION


def registerErrorHandler(f, ctx):
    """Accepted and ignored: errors are only ever raised, never printed."""
    return 0


def virEventRegisterDefaultImpl():
    return 0


def virEventRunDefaultImpl():
    # No events are emitted yet; sleep so an event loop thread idles.
    time.sleep(0.1)
    return 0
