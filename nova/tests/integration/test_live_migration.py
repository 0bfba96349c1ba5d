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

"""Live migration of a guest writing to its vpmem, on real libvirt + QEMU.

Two session-mode libvirtd hosts of this machine, two nova-compute services
on them, the REST API, conductor, placement and database of the
functional tier. The guest is the stamp guest under TCG: it writes into
both of its NVDIMMs all the time, also while it migrates, and the
namespace files are checked page by page afterwards. After each operation
the tests ask every owner of state: libvirt on both hosts (where the
domain is), the namespace files (bytes), placement, the resource trackers
and the database (assert_host_consistent).
"""

import os
import re
import time

import fixtures
try:
    import libvirt
except ImportError:
    # IntegrationTestBase.setUp fails each test with what to install.
    libvirt = None

from nova.compute import vm_states
from nova.tests.integration import base
from nova.virt.libvirt import devguest

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'


class LiveMigrationTest(base.IntegrationTestBase):

    def _migrate_and_check(self, instance, source, dest, force):
        """Migrate through the API while the guest writes; check it all."""
        uuid = instance.uuid
        source_paths = self.guest_paths(source, uuid)
        before = self.wait_for_pages(source_paths[0], 1)
        count = len(self.migrations(uuid)) + 1
        if force:
            self.live_migrate(uuid, host=dest, force=True)
        else:
            self.live_migrate(uuid)
        # The guest's page counter, read from the source's files while
        # the migration runs: it keeps writing during the copy.
        written_while_running = set()
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            migration = sorted(self.migrations(uuid),
                               key=lambda m: m['id'])[count - 1]
            if migration['status'] in ('completed', 'failed', 'error',
                                       'cancelled'):
                break
            if migration['status'] == 'running':
                control = devguest.read_control(source_paths[0])
                if control is not None:
                    written_while_running.add(control.written)
            if time.monotonic() > deadline:
                self.fail('migration still %s' % migration['status'])
            time.sleep(0.1)
        self.assertEqual('completed', migration['status'], migration)
        self.assertGreater(len(written_while_running), 1,
                           'the guest wrote nothing while it migrated')
        self.assertEqual(dest, migration['dest_compute'])
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual(dest, instance.host)

        # Runs on the destination's libvirt only.
        self.assertEqual([dest], self.domain_hosts(uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state(dest, uuid))
        dest_paths = self.guest_paths(dest, uuid)
        self.assertEqual(
            sorted(r.metadata.devpath for r in instance.resources),
            sorted(dest_paths))
        self.assertTrue(all(p.startswith(
            self.local_hosts[dest].namespace_dir) for p in dest_paths))

        # Every page the guest wrote, before and during the move, is in
        # the destination's files, and it went on writing there.
        control = self.assert_pattern(dest_paths)
        self.assertGreater(control.written, max(written_while_running))
        self.assertGreaterEqual(min(written_while_running), before.written)
        self.wait_for_pages(dest_paths[0], control.written + 5)

        # The source gave its namespaces up: erased and free.
        self.assert_zeros(source)
        for host in (source, dest):
            self.assert_host_consistent(host)
        self.assertEqual([], self.rt_assigned(source))
        self.assertEqual(0, self.placement_usage(source))
        self.assertEqual(2, self.placement_usage(dest))
        return instance

    def test_forced_then_scheduled_migration_keeps_every_write(self):
        instance = self.boot_stamp_guest('host-a')
        self._migrate_and_check(instance, 'host-a', 'host-b', force=True)
        # Scheduled: the only other host is the way back.
        self._migrate_and_check(instance, 'host-b', 'host-a', force=False)

        # Deleted through the API: gone from libvirt, namespaces erased
        # and free everywhere.
        self.rest('DELETE', '/servers/%s' % instance.uuid, expect=204)
        self.wait_for_deleted(instance.uuid)
        self.assertEqual([], self.domain_hosts(instance.uuid))
        for host in ('host-a', 'host-b'):
            self.assert_zeros(host)
            self.assert_host_consistent(host)
            self.assertEqual(0, self.placement_usage(host))


class PostCopyPermittedTest(base.IntegrationTestBase):
    """Post-copy permitted on both hosts: a vpmem guest migrates pre-copy.

    Real QEMU here refuses post-copy with file-backed guest memory, so a
    POSTCOPY flag would fail the migration; it must not even be sent.
    """

    LIBVIRT_FLAGS = {'live_migration_permit_post_copy': True}

    def test_vpmem_guest_migrates_without_the_post_copy_flag(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.live_migration', level=20))
        instance = self.boot_stamp_guest('host-a')
        for host in ('host-a', 'host-b'):
            self.assertTrue(self.manager(host).driver.conf.libvirt
                            .live_migration_permit_post_copy)
        LiveMigrationTest._migrate_and_check(self, instance, 'host-a',
                                             'host-b', force=True)
        started = re.findall(r'starts: flags (0x[0-9a-f]+)', logs.output)
        self.assertEqual(1, len(started), logs.output)
        flags = int(started[0], 16)
        self.assertFalse(flags & libvirt.VIR_MIGRATE_POSTCOPY, started)
        self.assertTrue(flags & libvirt.VIR_MIGRATE_LIVE, started)


class AbortTest(base.IntegrationTestBase):
    """Abort a bandwidth-limited migration midway through the API."""

    # 1 MiB/s, about the rate at which the guest dirties its NVDIMMs,
    # and the shortest downtime: the copy cannot converge before the
    # abort arrives.
    LIBVIRT_FLAGS = {'live_migration_bandwidth': 1,
                     'live_migration_downtime': 100}

    def test_abort_keeps_the_guest_on_the_source(self):
        instance = self.boot_stamp_guest('host-a')
        uuid = instance.uuid
        paths = self.guest_paths('host-a', uuid)
        # Several MiB of stamped pages: seconds of copying at 1 MiB/s.
        self.wait_for_pages(paths[0], 1500)
        self.live_migrate(uuid, host='host-b', force=True)
        migration = self.wait_for_migration(uuid, ('running',))
        # Midway: the copy has moved data, and the destination's QEMU
        # exists (it receives the stream).
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            migration = self.rest('GET', '/servers/%s/migrations/%s' % (
                uuid, migration['id']), expect=200)['migration']
            if migration['memory_processed_bytes']:
                break
            if time.monotonic() > deadline:
                self.fail('no progress recorded: %s' % migration)
            time.sleep(0.5)
        self.assertEqual(['host-a', 'host-b'], self.domain_hosts(uuid))
        self.assertLess(migration['memory_processed_bytes'],
                        migration['memory_total_bytes'])
        self.rest('DELETE', '/servers/%s/migrations/%s' % (
            uuid, migration['id']), expect=202)

        migration = self.wait_for_migration(
            uuid, ('cancelled', 'completed', 'failed', 'error'))
        self.assertEqual('cancelled', migration['status'], migration)
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('host-a', instance.host)
        self.assertIsNone(instance.migration_context)

        # Still running on the source with its data; nothing on the
        # destination, whose namespaces are erased and free.
        self.assert_still_on_source(uuid, paths)


class DestinationFailureTest(base.IntegrationTestBase):
    """The destination's QEMU cannot open its namespace file."""

    def test_unwritable_destination_namespace_fails_cleanly(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.compute.live_migration', level=20))
        instance = self.boot_stamp_guest('host-a')
        uuid = instance.uuid
        paths = self.guest_paths('host-a', uuid)
        # Read-only for the daemon's user (QEMU maps it read-write); the
        # service, which erases as root, is not stopped by it.
        for name in ('ns0', 'ns1'):
            os.chmod(self.namespace_path('host-b', name), 0o400)
        self.live_migrate(uuid, host='host-b', force=True)

        migration = self.wait_for_migration(
            uuid, ('cancelled', 'completed', 'failed', 'error'))
        self.assertEqual('failed', migration['status'], migration)
        instance = self.wait_for_state(uuid, vm_states.ACTIVE)
        self.assertEqual('host-a', instance.host)
        # The reason names the destination and what QEMU hit there.
        failure = [line for line in logs.output.splitlines()
                   if 'Live migration of %s to host-b failed' % uuid in line]
        self.assertEqual(1, len(failure), logs.output)
        self.assertIn(self.namespace_path('host-b', 'ns0').rsplit('/', 1)[0],
                      failure[0])
        self.assertIn('Permission denied', failure[0])

        # Source intact and running; nothing leaked on the destination.
        self.assert_still_on_source(uuid, paths)
