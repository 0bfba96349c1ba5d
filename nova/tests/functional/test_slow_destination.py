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

"""A destination too busy to answer the source within the RPC timeout.

Real placement, the real DB layer, fake:// RPC, emulated hosts, no
periodic task. The destination answers ``pre_live_migration`` (its check
of its namespaces) or the handover after the copy
(``post_live_migration_at_destination``) only after the source's
``rpc_response_timeout`` (2 s here). The source asks again: the move
completes without waiting for the recovery sweep, the guest on the
destination with the tenant's data, the source's namespace erased and
free, and placement, the trackers and the database agreeing. A
destination slower than every attempt at ``pre_live_migration`` fails
the migration: the guest stays on the source with its data and the
destination's claim is erased and freed.
"""

import threading
import time

from nova.compute import live_migration
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_move_recovery as recovery

A, B = recovery.A, recovery.B


class TestSlowDestination(recovery.RecoveryTestBase):

    def _slow_destination(self, slow_calls,
                          step='post_live_migration_at_destination'):
        """B's ``step`` sleeps past the 2 s timeout ``slow_calls`` times."""
        manager = self.manager(B)
        real = getattr(manager, step)
        calls, lock = [], threading.Lock()

        def slow(*args, **kwargs):
            with lock:
                calls.append(time.monotonic())
                late = len(calls) <= slow_calls
            if late:
                time.sleep(3)
            return real(*args, **kwargs)

        self.useFixture(base._AttributeFixture(manager, step, slow))
        return calls

    def test_late_answer_is_asked_again_and_the_move_completes(self):
        calls = self._slow_destination(slow_calls=1)
        server, digest, migration = self.start_move()
        # No sweep runs here: the source itself finishes the move.
        self.wait_for_status(migration, 'completed')
        self.assertEqual(2, len(calls))
        moved = objects.Instance.get_by_uuid(
            self.context, server.uuid, expected_attrs=['migration_context'])
        self.assertEqual(B, moved.host)
        self.assertIsNone(moved.migration_context)
        self.assert_recovered(server, digest, migration)

    def test_handover_slower_than_every_attempt(self):
        # Each answer comes after its caller stopped waiting; the first
        # one took the instance over, which the source reads in the
        # record before asking again, or after the last call.
        calls = self._slow_destination(
            slow_calls=live_migration.DESTINATION_CALL_ATTEMPTS)
        server, digest, migration = self.start_move()
        self.wait_for_status(migration, 'completed')
        self.assertLessEqual(len(calls),
                             live_migration.DESTINATION_CALL_ATTEMPTS)
        self.assert_recovered(server, digest, migration)

    def test_late_check_is_asked_again_and_the_move_completes(self):
        calls = self._slow_destination(slow_calls=1,
                                       step='pre_live_migration')
        server, digest, migration = self.start_move()
        self.wait_for_status(migration, 'completed')
        self.assertEqual(2, len(calls))
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_check_slower_than_every_attempt_fails_the_migration(self):
        calls = self._slow_destination(
            slow_calls=live_migration.DESTINATION_CALL_ATTEMPTS,
            step='pre_live_migration')
        server, digest, migration = self.start_move()
        self.wait_for_status(migration, 'failed')
        self.assertEqual(live_migration.DESTINATION_CALL_ATTEMPTS,
                         len(calls))
        back = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual(A, back.host)
        # The guest stays on A with its data; B's claim is erased and free.
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)
