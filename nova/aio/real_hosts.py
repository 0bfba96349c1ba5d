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

"""``--hypervisor libvirt``: two real libvirt hosts on this machine.

Each is a session-mode libvirtd with its own directory
(``nova.virt.libvirt.local_hosts``); the computes connect to them instead
of emulated hosts, and the server runs the stamp guest, a tiny kernel
that keeps writing every page of its vpmem, so QEMU migrates real dirty
memory. When libvirt or QEMU is missing, the demo says what and how to
install it, and exits 2.
"""

import json
import os
import shutil
import sys

HOSTS_SUBDIR = 'libvirt-hosts'
GUEST_IMAGE = 'vpmem-stamp-guest'
GUEST_IMAGE_ID = '0c5d5b8e-7c55-4d0e-9a55-5a1c0a11e501'
FALLBACK_INSTALL_HINT = (
    'apt-get install -y --no-install-recommends libvirt-daemon '
    'libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 '
    'libvirt-dev pkg-config gcc python3-dev binutils && '
    'python3 -m pip install libvirt-python')


def _local_hosts():
    try:
        from nova.virt.libvirt import local_hosts
    except ImportError:
        return None
    return local_hosts


def missing_requirements():
    """What this machine lacks for real local hosts (empty: usable)."""
    local_hosts = _local_hosts()
    if local_hosts is not None:
        return local_hosts.missing_requirements()
    missing = ['nova.virt.libvirt.local_hosts (this checkout predates the '
               'real-libvirt hosts)']
    if shutil.which('libvirtd') is None:
        missing.append('libvirtd (Debian: libvirt-daemon)')
    if shutil.which('qemu-system-x86_64') is None:
        missing.append('qemu-system-x86_64 (Debian: qemu-system-x86)')
    return missing


def install_hint():
    local_hosts = _local_hosts()
    return (local_hosts.INSTALL_HINT if local_hosts is not None
            else FALLBACK_INSTALL_HINT)


def explain_missing(missing):
    """The message the demo prints instead of starting."""
    lines = ['--hypervisor libvirt needs libvirt and QEMU on this machine; '
             'missing:']
    lines += ['  - %s' % item for item in missing]
    lines += ['Install them (Debian 12, as root) with:',
              '  %s' % install_hint(),
              'with libvirt-python in the Python that runs nova-aio (%s).'
              % sys.executable,
              'or run the demo on emulated hosts (the default, no '
              '--hypervisor option).']
    return '\n'.join(lines)


class RealHosts:
    """Started local hosts, and what the cloud and the demo need of them."""

    def __init__(self, state_dir, names):
        self.local_hosts = _local_hosts()
        self.base_dir = os.path.join(state_dir, HOSTS_SUBDIR)
        self.names = list(names)
        self.hosts = {}
        self.kernel = None
        self.image_name = GUEST_IMAGE

    def start(self):
        started = self.local_hosts.start_hosts(self.base_dir, self.names)
        self.hosts = {host.name: host for host in started}
        self.kernel = self.local_hosts.build_guest(
            os.path.join(self.base_dir, 'guest'))
        return self

    def stop(self):
        if self.hosts:
            self.local_hosts.stop_hosts(list(self.hosts.values()))
            self.hosts = {}

    def hypervisor_overrides(self):
        return {name: host.conf_overrides()
                for name, host in self.hosts.items()}

    def write_images_file(self, path):
        """An image catalog with the stamp guest (kernel boot, no disk)."""
        with open(path, 'w') as f:
            json.dump([{'id': GUEST_IMAGE_ID, 'name': GUEST_IMAGE,
                        'properties': {'kernel': self.kernel}}], f)
        return path

    def stop_guest_writes(self, first_namespace_path):
        return self.local_hosts.stop_guest_writes(first_namespace_path)

    def verify(self, paths):
        return self.local_hosts.verify_pattern(paths)
