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

"""A cold migration's destination too slow to answer ``finish_resize``.

The source's call times out (``rpc_response_timeout``, 2 s here) while
the destination is still starting the guest. Taking that as a failure
would start the guest again on the source while it starts on the
destination, and erase the destination's namespaces under a guest that
runs on them. Instead the source asks again and, failing that, leaves
the move to its recovery; the destination's steps on the guest run one
at a time and it refuses a rollback once it took the instance over. In
every test exactly one guest runs at the end, on the data the tenant
wrote, and placement, the trackers and the database agree.
"""

import threading
import time

from nova.compute import cold_migration
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_cold_migration as cold_base

SOURCE, DEST = cold_base.SOURCE, cold_base.DEST


class TestSlowColdDestination(cold_base.ColdMigrationTestBase):

    TIMEOUT = 60

    def setUp(self):
        super().setUp()
        self.flags(rpc_response_timeout=2)
        self.flags(recovery_rpc_timeout=2, group='compute')
        self.active_on_source = []

    def _slow_start(self, slow_calls, seconds=3):
        """DEST's start of the guest takes ``seconds`` (past the source's
        timeout) ``slow_calls`` times; records whether the source's guest
        ran meanwhile."""
        driver = self.manager(DEST).driver
        real = driver.finish_migration
        calls, lock = [], threading.Lock()

        def slow(context, instance, image_meta=None):
            with lock:
                calls.append(time.monotonic())
                late = len(calls) <= slow_calls
            if late:
                time.sleep(seconds)
            self.active_on_source.append(
                self.domain_state(SOURCE, instance))
            return real(context, instance, image_meta)

        self.useFixture(base._AttributeFixture(driver, 'finish_migration',
                                               slow))
        return calls

    def _assert_on_destination_only(self, server, migration, digests):
        migration = self.wait_for_status(migration, 'finished')
        moved = self.wait_for_state(server.uuid, vm_states.RESIZED)
        self.assert_verify_resize(server, moved, migration, digests)
        self.assertNotIn(True, self.active_on_source)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        return moved

    def test_late_answer_is_asked_again_and_the_move_finishes(self):
        calls = self._slow_start(slow_calls=1)
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'tenant bytes')
        migration = self.migrate(server, host=DEST)
        # No sweep runs here: the source's second call finds the guest
        # started by the first and the move finished.
        moved = self._assert_on_destination_only(server, migration, digests)
        self.assertEqual(1, len(calls))
        # The user goes on as usual.
        self.api.confirm_resize(self.context, moved, wait=True)
        self.wait_for_status(migration, 'confirmed')
        self.assert_free_and_erased(SOURCE)

    def test_slower_than_every_attempt_is_finished_by_the_recovery(self):
        calls = self._slow_start(
            slow_calls=1, seconds=2 * cold_migration.DESTINATION_CALL_ATTEMPTS
            + 2)
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'tenant bytes')
        source = self.manager(SOURCE)
        real_finish = source._finish_at_destination
        gave_up = threading.Event()

        def finish_at_destination(*args, **kwargs):
            try:
                return real_finish(*args, **kwargs)
            finally:
                gave_up.set()

        self.useFixture(base._AttributeFixture(
            source, '_finish_at_destination', finish_at_destination))
        migration = self.migrate(server, host=DEST)
        self.assertTrue(gave_up.wait(self.TIMEOUT))
        # The source did not roll back: its guest stays stopped.
        self.assertFalse(self.domain_state(SOURCE, server))
        # Its recovery waits for the start still running there, then
        # finishes the move.
        source._recover_moves(self.context)
        self._assert_on_destination_only(server, migration, digests)
        self.assertEqual(1, len(calls))

    def test_rollback_after_the_destination_took_over_is_refused(self):
        # A rollback that reaches the destination after it started the
        # guest (the recovery's, racing a late start) undoes nothing.
        server = self.boot_on(SOURCE)
        migration, moved, digests = self.migrate_to_verify_resize(server)
        migration = objects.Migration.get_by_id(self.context, migration.id)
        self.manager(SOURCE)._rollback_cold_migration(
            self.context, moved, migration,
            exception.MigrationError(reason='a late timeout'))
        self._assert_on_destination_only(server, migration, digests)

    def test_start_after_a_rollback_starts_nothing(self):
        # A finish_resize whose caller stopped waiting arrives after the
        # move was rolled back: it must not start a guest on the
        # namespaces the rollback erased and freed.
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'keep me')
        before = self.snapshot()
        dest_driver = self.manager(DEST).driver
        real_receive = dest_driver.receive_vpmems

        def wrong_token(instance, dest_resources):
            endpoint = real_receive(instance, dest_resources)
            return dict(endpoint, token='0' * 64)

        dest_driver.receive_vpmems = wrong_token
        migration = self.migrate(server, host=DEST)
        migration = self.wait_for_status(migration, 'failed')
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        late = objects.Instance.get_by_uuid(
            self.context, server.uuid,
            expected_attrs=['flavor', 'resources', 'migration_context'])
        self.assertRaises(exception.MigrationError,
                          self.manager(DEST).finish_resize, self.context,
                          late, migration)
        self.assertEqual([SOURCE], self.domain_hosts(server.uuid))
        self.assert_back_on_source(server, digests, before, migration,
                                   'failed')

    def test_slow_rollback_is_left_to_the_recovery(self):
        # The copy fails; the destination, up but busy, answers the
        # rollback after the source stopped waiting. The source undoes
        # nothing on its side meanwhile (the guest stays stopped): its
        # recovery sweep rolls the move back once the destination answers.
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'keep me')
        before = self.snapshot()
        dest = self.manager(DEST)
        real_receive = dest.driver.receive_vpmems

        def wrong_token(instance, dest_resources):
            endpoint = real_receive(instance, dest_resources)
            return dict(endpoint, token='0' * 64)

        dest.driver.receive_vpmems = wrong_token
        real_rollback = dest.rollback_resize_at_destination
        answered = threading.Event()

        def slow_rollback(*args, **kwargs):
            if not answered.is_set():
                time.sleep(3)
            try:
                return real_rollback(*args, **kwargs)
            finally:
                answered.set()

        self.useFixture(base._AttributeFixture(
            dest, 'rollback_resize_at_destination', slow_rollback))
        source = self.manager(SOURCE)
        real_rollback_here = source._rollback_cold_migration
        returned = threading.Event()

        def rollback_here(*args, **kwargs):
            try:
                return real_rollback_here(*args, **kwargs)
            finally:
                returned.set()

        self.useFixture(base._AttributeFixture(
            source, '_rollback_cold_migration', rollback_here))
        migration = self.migrate(server, host=DEST)
        self.assertTrue(returned.wait(self.TIMEOUT))
        self.assertFalse(self.domain_state(SOURCE, server))
        self.assertEqual('migrating', objects.Migration.get_by_id(
            self.context, migration.id).status)
        self.assertTrue(answered.wait(self.TIMEOUT))
        source._recover_moves(self.context)
        self.assert_back_on_source(server, digests, before, migration,
                                   'failed')

