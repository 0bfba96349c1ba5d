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

"""Cold migration of the stamp guest on real libvirt + QEMU.

The guest is stopped between two pages (its STOP request) before the
move, so the source's namespace files are at rest and the request travels
with the data: on the destination, QEMU boots the guest again, it
re-initialises its control page, stamps one page and halts. The files on
the destination must then equal the source's everywhere else, and the
guest's write counter must continue from the copied value, which a guest
on empty namespaces could not do.
"""

import os

try:
    import libvirt
except ImportError:
    # IntegrationTestBase.setUp fails each test with what to install.
    libvirt = None

from nova.compute import vm_states
from nova.tests.integration import base
from nova.virt.libvirt import devguest
from nova.virt.libvirt import local_hosts

PAGE = devguest.PAGE


def _read_pages(path):
    with open(path, 'rb') as f:
        data = f.read()
    return [data[i:i + PAGE] for i in range(0, len(data), PAGE)]


class ColdMigrationTest(base.IntegrationTestBase):

    # The migrate action takes a host from 2.56 on.
    API_VERSION = '2.56'

    def setUp(self):
        super().setUp()
        # The stamp guest has no ACPI: do not wait for it to power off.
        self.flags(shutdown_timeout=1, group='compute')

    def _stop_and_snapshot(self, host, uuid):
        """Halt the guest between pages; its Control and its files."""
        paths = self.guest_paths(host, uuid)
        self.wait_for_pages(paths[0], 50)
        control = local_hosts.stop_guest_writes(paths[0])
        self.assertTrue(devguest.verify(paths).ok)
        return control, [_read_pages(p) for p in paths]

    def _assert_carried(self, paths, control, snapshot):
        """``paths`` hold the snapshot, rebooted guest's changes aside."""
        # The counter lives in the copied control page: it goes on from
        # there (the copied page says HALT already, so wait for the count).
        self.wait_for_pages(paths[0], control.written + 1)
        after = devguest.wait_halted(paths[0])
        self.assertEqual(control.written + 1, after.written)
        for index, (path, before) in enumerate(
                zip(paths, snapshot, strict=True)):
            now = _read_pages(path)
            self.assertEqual(len(before), len(now), path)
            changed = {n for n, (old, new) in enumerate(
                zip(before, now, strict=True)) if old != new}
            # The control page, and the one page the guest stamped again
            # after it booted, before it saw the stop request.
            allowed = {0, 1} if index == 0 else set()
            self.assertLessEqual(changed, allowed, '%s: pages %s changed'
                                 % (path, sorted(changed)))

    def _migrate(self, uuid, host):
        self.rest('POST', '/servers/%s/action' % uuid,
                  {'migrate': {'host': host}}, expect=202)
        self.wait_for_state(uuid, vm_states.RESIZED)
        return self.wait_for_migration(uuid, ('finished',))

    def test_cold_migration_carries_the_data_then_confirm(self):
        instance = self.boot_stamp_guest('host-a')
        uuid = instance.uuid
        control, snapshot = self._stop_and_snapshot('host-a', uuid)
        migration = self._migrate(uuid, 'host-b')
        self.assertEqual('host-b', migration['dest_compute'])

        # Runs on host-b; host-a keeps the stopped guest and its data.
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state('host-b', uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF,
                         self.domain_state('host-a', uuid))
        dest_paths = self.guest_paths('host-b', uuid)
        self.assertTrue(all(p.startswith(
            self.local_hosts['host-b'].namespace_dir) for p in dest_paths))
        self._assert_carried(dest_paths, control, snapshot)

        self.rest('POST', '/servers/%s/action' % uuid,
                  {'confirmResize': None}, expect=204)
        self.wait_for_migration(uuid, ('confirmed',))
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('host-b', instance.host)
        self.assertEqual(['host-b'], self.domain_hosts(uuid))
        self.assert_zeros('host-a')
        for host in ('host-a', 'host-b'):
            self.assert_host_consistent(host)
        self.assertEqual(0, self.placement_usage('host-a'))
        # The guest goes on writing on host-b.
        devguest.request_resume(dest_paths[0])
        self.wait_for_pages(dest_paths[0], control.written + 20)

    def test_revert_restarts_the_guest_on_its_own_data(self):
        instance = self.boot_stamp_guest('host-a')
        uuid = instance.uuid
        source_paths = self.guest_paths('host-a', uuid)
        control, snapshot = self._stop_and_snapshot('host-a', uuid)
        self._migrate(uuid, 'host-b')

        self.rest('POST', '/servers/%s/action' % uuid,
                  {'revertResize': None}, expect=202)
        self.wait_for_migration(uuid, ('reverted',))
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('host-a', instance.host)
        self.assertEqual(['host-a'], self.domain_hosts(uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state('host-a', uuid))
        self.assertEqual(source_paths, self.guest_paths('host-a', uuid))
        self._assert_carried(source_paths, control, snapshot)
        self.assert_zeros('host-b')
        for host in ('host-a', 'host-b'):
            self.assert_host_consistent(host)
        self.assertEqual(0, self.placement_usage('host-b'))
        self.assertTrue(os.path.exists(source_paths[0]))
