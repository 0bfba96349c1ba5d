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
import sys

from nova.virt.libvirt import devguest
from nova.virt.libvirt import local_hosts

HOSTS_SUBDIR = 'libvirt-hosts'
GUEST_IMAGE = 'vpmem-stamp-guest'
GUEST_IMAGE_ID = '0c5d5b8e-7c55-4d0e-9a55-5a1c0a11e501'


def missing_requirements():
    """What this machine lacks for real local hosts (empty: usable)."""
    return local_hosts.missing_requirements()


def _is_python_package(item):
    return item.startswith('libvirt-python')


def explain_missing(missing):
    """The message the demo prints instead of starting."""
    lines = ['--hypervisor libvirt needs libvirt and QEMU on this machine; '
             'missing:']
    lines += ['  - %s' % item for item in missing]
    if not all(_is_python_package(item) for item in missing):
        lines += ['Install the system packages (Debian 12, as root):',
                  '  apt-get install -y --no-install-recommends %s'
                  % ' '.join(local_hosts.DEBIAN_PACKAGES)]
    if any(_is_python_package(item) for item in missing):
        # pip builds it against libvirt-dev: the packages come first.
        lines += ['Install libvirt-python into the Python that runs '
                  'nova-aio:',
                  '  %s -m pip install libvirt-python' % sys.executable]
    lines += ['Or run the demo on emulated hosts (the default, without '
              '--hypervisor).']
    return '\n'.join(lines)


class RealHosts:
    """Started local hosts, and what the cloud and the demo need of them."""

    def __init__(self, state_dir, names, pages_per_second=None):
        self.local_hosts = local_hosts
        # The stamp guest's pace (its command line); None: its own.
        self.pages_per_second = pages_per_second
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
        properties = {'kernel': self.kernel}
        if self.pages_per_second:
            properties['cmdline'] = devguest.command_line(
                self.pages_per_second)
        with open(path, 'w') as f:
            json.dump([{'id': GUEST_IMAGE_ID, 'name': GUEST_IMAGE,
                        'properties': properties}], f)
        return path

    def pages_written(self, first_namespace_path):
        """Pages the stamp guest wrote since it booted (its counter)."""
        control = devguest.read_control(first_namespace_path)
        return control.written if control is not None else 0

    def stop_guest_writes(self, first_namespace_path):
        return self.local_hosts.stop_guest_writes(first_namespace_path)

    def verify(self, paths):
        return self.local_hosts.verify_pattern(paths)
