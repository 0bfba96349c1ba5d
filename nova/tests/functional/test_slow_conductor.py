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

"""A conductor slower than [compute]migration_stuck_timeout.

The source's recovery sweep rolls back a live migration that is still
'accepted' after the timeout: its conductor may have stopped. A conductor
that is only slow (a busy destination, an overloaded message bus) is
still at work then. Exactly one of the two must settle the migration; the
other must leave alone what it did not make (found by the soak test: the
conductor's undo deleted the source allocations the recovery had just
given back, and placement lost count of a namespace in use).

Real placement, the real DB layer, fake:// RPC, emulated hosts. The
conductor is held at one step while the source's sweep runs.
"""

import threading
import time

from nova.conductor.tasks import move
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_move_recovery as recovery

A, B = recovery.A, recovery.B
GATE_TIMEOUT = 30


class _Gate(object):
    """Hold the first call to ``target.name`` until opened; then make it
    (or raise ``then_raise``). Later calls go through."""

    def __init__(self, test, target, name, then_raise=None):
        self.entered = threading.Event()
        self.opened = threading.Event()
        real = getattr(target, name)

        def gated(*args, **kwargs):
            if self.entered.is_set():
                return real(*args, **kwargs)  # only the first call waits
            self.entered.set()
            self.opened.wait(GATE_TIMEOUT)
            if then_raise is not None:
                raise then_raise
            return real(*args, **kwargs)

        test.useFixture(base._AttributeFixture(target, name, gated))


class TestRecoveryOvertakesTheConductor(recovery.RecoveryTestBase):

    def setUp(self):
        super().setUp()
        self.flags(migration_stuck_timeout=1, group='compute')
        # The conductor waits for the held step, not for a timeout.
        self.flags(rpc_response_timeout=GATE_TIMEOUT + 10)

    def _migrate_in_background(self, server):
        outcome = {}

        def run():
            try:
                outcome['migration'] = self.live_migrate(server, host=B,
                                                         force=True)
            except Exception as err:
                outcome['error'] = err

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread, outcome

    def _overtake(self, gate):
        """Boot, start the move, let the source's sweep roll it back
        while the conductor is held at ``gate``, then let it go on."""
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        digest = recovery._digest(server.resources[0].metadata.devpath)
        thread, outcome = self._migrate_in_background(server)
        self.assertTrue(gate.entered.wait(GATE_TIMEOUT))
        migration = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})[0]
        self.assertEqual('accepted', migration.status)
        time.sleep(1.2)  # past migration_stuck_timeout
        self.manager(A).recover_moves_periodic(self.context)
        ended = objects.Migration.get_by_id(self.context, migration.id)
        self.assertEqual('failed', ended.status)
        instance = self.api.get(self.context, server.uuid)
        self.assertIsNone(instance.task_state)
        self.assertEqual(A, instance.host)
        gate.opened.set()
        thread.join(GATE_TIMEOUT)
        self.assertFalse(thread.is_alive())
        return server, digest, migration, outcome

    def _assert_settled_once(self, server, digest, migration, outcome):
        # The conductor reports that it lost the migration, and changed
        # nothing the recovery settled.
        self.assertIsInstance(outcome.get('error'), exception.NovaException)
        self.assertEqual('failed', objects.Migration.get_by_id(
            self.context, migration.id).status)
        source_node = self.node(A).uuid
        self.assertEqual({source_node: {'CUSTOM_PMEM_NAMESPACE_SMALL': 1}},
                         {rp: {rc: n for rc, n in res.items()
                               if rc.startswith('CUSTOM_PMEM')}
                          for rp, res in self.consumer_allocations(
                              server.uuid).items()})
        self.assert_recovered(server, digest, migration)

    def test_while_the_destination_prepares(self):
        # The recovery ended the migration and dropped the conductor's
        # placement claim on B while B's check waited: B finds the
        # migration ended and records no claim (nothing to release).
        gate = _Gate(self, self.manager(B),
                     'check_can_live_migrate_destination')
        server, digest, migration, outcome = self._overtake(gate)
        self.assertIsInstance(outcome['error'],
                              exception.MigrationPreCheckError)
        self.assertIn('no longer claims %s (it is failed' % B,
                      str(outcome['error']))
        self.assertEqual([], self.rt_assigned(B))
        self._assert_settled_once(server, digest, migration, outcome)

    def test_while_the_destination_prepares_and_then_fails(self):
        # The soak's case: the destination's answer is an error after the
        # recovery gave the instance its source allocations back; the
        # conductor's undo must not take them away.
        gate = _Gate(self, self.manager(B),
                     'check_can_live_migrate_destination',
                     then_raise=exception.MigrationPreCheckError(
                         reason='injected: the destination gives up'))
        self._assert_settled_once(*self._overtake(gate))

    def test_before_the_conductor_claims(self):
        # The recovery ended the migration before the conductor's claim
        # (nothing had moved in placement yet): the placement claim goes
        # through, but the destination records none for an ended
        # migration, and the undo gives everything back.
        gate = _Gate(self, move.MoveTask, '_claim')
        server, digest, migration, outcome = self._overtake(gate)
        self.assertIn('no longer claims %s (it is failed' % B,
                      str(outcome['error']))
        self.assertEqual([A], self.domain_hosts(server.uuid))
        self.assertEqual([], self.rt_assigned(B))
        self._assert_settled_once(server, digest, migration, outcome)

    def test_after_the_destination_claimed(self):
        # B claimed; the recovery ended the migration (and dropped B's
        # migration context) before the conductor read the claim back:
        # the conductor does not start it, and B's namespaces are free.
        gate = _Gate(self, move.MoveTask, '_load_destination_claim')
        server, digest, migration, outcome = self._overtake(gate)
        self.assertIn('did not record the namespaces',
                      str(outcome['error']))
        self.assertEqual([A], self.domain_hosts(server.uuid))
        self.assertEqual([], self.rt_assigned(B))
        self._assert_settled_once(server, digest, migration, outcome)

    def test_conductor_ends_it_first(self):
        # The other order: the sweep read the migration as stuck, the
        # conductor's rollback ended it before the sweep's take-over. The
        # sweep's compare-and-swap fails and it leaves everything alone.
        gate = _Gate(self, self.manager(B),
                     'check_can_live_migrate_destination',
                     then_raise=exception.MigrationPreCheckError(
                         reason='injected: the destination gives up'))
        server = self.boot_as(self.context, A)
        thread, outcome = self._migrate_in_background(server)
        self.assertTrue(gate.entered.wait(GATE_TIMEOUT))
        time.sleep(1.2)  # past migration_stuck_timeout
        read_by_the_sweep = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})[0]
        self.assertEqual('accepted', read_by_the_sweep.status)
        gate.opened.set()
        thread.join(GATE_TIMEOUT)
        self.assertIsInstance(outcome['error'],
                              exception.MigrationPreCheckError)
        self.manager(A)._recover_outgoing(self.context, read_by_the_sweep)
        self.assertEqual('error', objects.Migration.get_by_id(
            self.context, read_by_the_sweep.id).status)
        self.assertEqual('error', read_by_the_sweep.status)
        instance = self.api.get(self.context, server.uuid)
        self.assertIsNone(instance.task_state)
        self.assertEqual(A, instance.host)
        self.assert_consistent(A)
        self.assert_consistent(B)


class TestRecoveryOvertakesALateColdMigration(recovery.RecoveryTestBase):
    """A cold migration still 'pre-migrating' after the timeout: its start
    request reaches the source only after the sweep rolled it back."""

    def setUp(self):
        super().setUp()
        self.flags(migration_stuck_timeout=1, group='compute')

    def test_late_start_request_changes_nothing(self):
        gate = _Gate(self, self.manager(A), 'resize_instance')
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        digest = recovery._digest(server.resources[0].metadata.devpath)
        migration = self.api.migrate(self.context, server, host_name=B)
        self.assertTrue(gate.entered.wait(GATE_TIMEOUT))
        self.assertEqual('pre-migrating', objects.Migration.get_by_id(
            self.context, migration.id).status)
        time.sleep(1.2)  # past migration_stuck_timeout
        self.manager(A).recover_moves_periodic(self.context)
        self.assertEqual('failed', objects.Migration.get_by_id(
            self.context, migration.id).status)
        instance = self.api.get(self.context, server.uuid)
        self.assertEqual(('active', None, A), (
            instance.vm_state, instance.task_state, instance.host))
        self.assertEqual([], self.rt_assigned(B))
        # The request arrives now: the guest is not stopped, nothing moves.
        gate.opened.set()
        self.wait_for_state(server.uuid, 'active')
        time.sleep(0.5)
        self.assertEqual([A], self.domain_hosts(server.uuid))
        self.assertEqual('failed', objects.Migration.get_by_id(
            self.context, migration.id).status)
        self.assert_recovered(server, digest, migration)
