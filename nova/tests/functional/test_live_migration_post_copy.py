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

"""Post-copy only where both hosts can do it, end to end.

Post-copy is permitted on every compute. An emulated host told it has no
userfaultfd refuses post-copy as QEMU does with
vm.unprivileged_userfaultfd = 0 ("Postcopy is not supported"), so a
migration that asked for it would fail: these migrations succeed only
because the hosts' answers travelled and the source fell back.
"""

import logging

import fixtures

from nova.compute import vm_states
from nova.tests.functional import base
from nova.tests.functional import test_live_migration as lm_base

FALLBACK = 'live_migration_permit_post_copy is True but post-copy'


class TestPostCopyWhereHostsCan(lm_base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.flags(live_migration_permit_post_copy=True,
                   live_migration_permit_auto_converge=True, group='libvirt')
        for host in list(self.computes):
            self.restart_compute(host)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.live_migration', level=logging.WARNING))
        self.flags_seen = self.record_copies()
        self.plain = self.create_flavor(name='plain', pmem=None,
                                        memory_mb=16)

    def _migrate_plain(self, source='compute-a', dest='compute-b'):
        server = self.boot_on(source, flavor=self.plain, name='plain')
        migration = self.live_migrate(server, host=dest, force=True)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved.host)
        self.assertEqual([dest], self.domain_hosts(server.uuid))
        return server

    def _assert_fell_back_once(self, side, host):
        lv = base.emulator
        self.assertFalse(self.flags_seen[-1] & lv.VIR_MIGRATE_POSTCOPY)
        self.assertTrue(self.flags_seen[-1] & lv.VIR_MIGRATE_AUTO_CONVERGE)
        lines = [line for line in self.log.output.splitlines()
                 if FALLBACK in line]
        self.assertEqual(1, len(lines), self.log.output)
        self.assertIn('%s: %s (the emulated host cannot use userfaultfd'
                      % (side, host), lines[0])
        self.assertIn('vm.unprivileged_userfaultfd = 1', lines[0])
        self.assertIn('live_migration_permit_post_copy = False', lines[0])

    def test_destination_without_userfaultfd_gets_pre_copy(self):
        base.emulator.get_host('compute-b').configure(userfaultfd=False)
        self._migrate_plain()
        self._assert_fell_back_once('destination', 'compute-b')

    def test_source_without_userfaultfd_gets_pre_copy(self):
        base.emulator.get_host('compute-a').configure(userfaultfd=False)
        self._migrate_plain()
        self._assert_fell_back_once('source', 'compute-a')

    def test_both_able_still_ask_for_post_copy(self):
        self._migrate_plain()
        self.assertTrue(self.flags_seen[-1] &
                        base.emulator.VIR_MIGRATE_POSTCOPY)
        self.assertNotIn(FALLBACK, self.log.output)

    def test_sysctl_fixed_counts_without_restart(self):
        # The answer is read per migration: an operator's fix needs no
        # service restart.
        dest = base.emulator.get_host('compute-b')
        dest.configure(userfaultfd=False)
        server = self._migrate_plain()
        self.assertFalse(self.flags_seen[-1] &
                         base.emulator.VIR_MIGRATE_POSTCOPY)
        dest.configure(userfaultfd=True)
        back = self.live_migrate(
            self.wait_for_state(server.uuid, vm_states.ACTIVE),
            host='compute-a', force=True)
        self.wait_for_status(back, 'completed')
        self.assertTrue(self.flags_seen[-1] &
                        base.emulator.VIR_MIGRATE_POSTCOPY)
