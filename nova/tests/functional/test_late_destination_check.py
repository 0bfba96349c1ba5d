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

"""A destination check that answers after the conductor stopped waiting.

The conductor gives a destination ``rpc_response_timeout`` seconds to
claim; then it releases that host's placement claim, and the scheduler's
next host gets the move. The first host may still run the check later
(it was only slow). Its claim must not be recorded then: written over
the next host's migration context, it made the move fail at that host's
``pre_live_migration`` (found by the scale bench: 14 of 200 concurrent
migrations). The destination records its claim only while the migration
still names it (``Instance.save_claim``).

Real placement, DB layer and driver code; fake:// RPC; emulated hosts.
"""

import threading

import fixtures

from nova.compute import vm_states
from nova.scheduler import selection
from nova.tests.functional import base
from nova.tests.functional import test_live_migration

SLOW, NEXT = 'compute-b', 'compute-c'


class TestLateDestinationCheck(test_live_migration.LiveMigrationTestBase):

    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1'],
        SLOW: ['SMALL:ns0|ns1'],
        NEXT: ['SMALL:ns0|ns1'],
    }

    def _slow_first(self):
        """The scheduler offers SLOW first, then the others."""
        real = selection.get_candidates

        def ordered(*args, **kwargs):
            return sorted(real(*args, **kwargs), key=lambda s: s.host != SLOW)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.selection.get_candidates', ordered))

    def _late_check_on_slow(self):
        """SLOW runs its check only once NEXT has answered its own (the
        conductor stopped waiting for SLOW before). Returns an event set
        once SLOW's check ended, and a dict with what it raised."""
        next_answered = threading.Event()
        slow_done = threading.Event()
        outcome = {}
        slow, nxt = self.manager(SLOW), self.manager(NEXT)
        real_slow = slow.check_can_live_migrate_destination
        real_next = nxt.check_can_live_migrate_destination

        def late(*args, **kwargs):
            next_answered.wait(self.TIMEOUT)
            try:
                return real_slow(*args, **kwargs)
            except Exception as exc:
                outcome['error'] = exc
                raise
            finally:
                slow_done.set()

        def answered(*args, **kwargs):
            try:
                return real_next(*args, **kwargs)
            finally:
                next_answered.set()

        # The RPC dispatcher looks the method up on the manager per call.
        self.useFixture(base._AttributeFixture(
            slow, 'check_can_live_migrate_destination', late))
        self.useFixture(base._AttributeFixture(
            nxt, 'check_can_live_migrate_destination', answered))
        return slow_done, outcome

    def test_late_claim_is_not_recorded(self):
        self.flags(rpc_response_timeout=2)
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'late-check')
        self._slow_first()
        slow_done, outcome = self._late_check_on_slow()

        migration = self.live_migrate(server)
        ended = self.wait_for_migration(
            migration, ('completed', 'failed', 'error'))
        self.assertTrue(slow_done.wait(self.TIMEOUT))
        self.assertEqual(('completed', NEXT),
                         (ended.status, ended.dest_compute))
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(NEXT, moved.host)
        self.assertEqual([NEXT], self.domain_hosts(server.uuid))
        for src, dst in zip(server.resources, moved.resources, strict=True):
            self.assertEqual(digests[src.metadata.devpath],
                             test_live_migration._digest(dst.metadata.devpath))
        # SLOW refused its own late claim, naming why.
        self.assertIn('no longer claims %s' % SLOW,
                      str(outcome.get('error')))
        # Nothing of the move stays on SLOW; the source gave its own up.
        self.assertEqual([], self.rt_assigned(SLOW))
        self.assertEqual(0, self.placement_usage(SLOW))
        self.assert_host_consistent(SLOW)
        self.assert_host_consistent(NEXT)
        self.assert_free_and_erased('compute-a')
