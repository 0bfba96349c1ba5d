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

"""A compute killed in the middle of a live migration, then started again.

Real placement, the real DB layer, fake:// RPC, emulated hosts. The
source or the destination's nova-compute is killed (the in-process
``kill -9``: it stops taking requests, its interrupted thread unwinds
without running any handler, its emulated host and guests stay) at one of
five points of a live migration, then started again on the same state.
After each: the guest runs on exactly one host with the tenant's data,
placement, the trackers and the database agree on every host, every
namespace given up reads zeros, ``nova-manage vpmem audit`` is clean, and
the server takes a new migration and a delete.

``TestAPIKilled``: nova-api stopped while it records a move it accepted
leaves nothing of the move, and the server takes the next request.
"""

import hashlib
import threading
import time

import fixtures as fixtures_lib
from oslo_messaging import exceptions as messaging_exc

from nova.compute import instance_actions
from nova.compute import vm_states
from nova.db import api as db_api
from nova.db import models as db_models
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_namespace_lifecycle as lc
from nova.virt.libvirt import migration as lm

A, B = lc.A, lc.B
MiB = lc.MiB
ENDED = ('completed', 'failed', 'cancelled', 'error', 'confirmed',
         'reverted')


def _digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class RecoveryTestBase(lc.LifecycleTestBase):

    TIMEOUT = 60

    def setUp(self):
        super().setUp()
        # A killed service never answers: calls to it fail this fast.
        self.flags(rpc_response_timeout=2)
        self.flags(recovery_rpc_timeout=2, group='compute')

    def start_move(self, bandwidth=None):
        """A tenant's server on A, its namespace filled; move it to B."""
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        digest = _digest(server.resources[0].metadata.devpath)
        if bandwidth:
            base.emulator.get_host(A).configure(default_bandwidth=bandwidth)
        try:
            migration = self.live_migrate(server, host=B, force=True)
        except (messaging_exc.MessagingTimeout,
                exception.MigrationPreCheckError):
            # The destination died inside the conductor's checks.
            migration = objects.MigrationList.get_by_filters(
                self.context, {'instance_uuid': server.uuid})[0]
        return server, digest, migration

    def kill_during_copy(self, host):
        """Kill ``host`` once the copy moved 4 MiB (the source's monitor
        reports it; a killed destination leaves the source going on)."""
        return self.crash_when(
            host, lm, 'record_progress', unwind=host == A,
            when=lambda migration, progress: (
                progress.get('memory_processed') or 0) > 4 * MiB)

    def sweep(self):
        """The recovery sweep of every running compute (its timer)."""
        for service in list(self.computes.values()):
            try:
                service.manager.recover_moves_periodic(self.context)
            except base.ServiceCrashed:
                pass  # killed while it recovered: it starts again later

    def wait_until_ended(self, migration):
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            current = objects.Migration.get_by_id(self.context,
                                                  migration.id)
            if current.status in ENDED:
                return current
            if time.monotonic() > deadline:
                self.fail('migration %s is still %s' % (migration.uuid,
                                                        current.status))
            self.sweep()
            time.sleep(0.2)

    def assert_recovered(self, server, digest, migration):
        """The invariants of the issue, then a new migration and a delete."""
        migration = self.wait_until_ended(migration)
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertIsNone(instance.migration_context)
        # The guest runs on exactly one host: the instance's.
        self.assertEqual([instance.host], self.domain_hosts(server.uuid))
        if migration.status == 'completed':
            self.assertEqual(B, instance.host)
        elif migration.status in ('failed', 'cancelled'):
            self.assertEqual(A, instance.host)
        # The tenant's data is where the guest is.
        path = instance.resources[0].metadata.devpath
        self.assertTrue(path.startswith(self.namespace_path(instance.host,
                                                            '')))
        self.assertEqual(digest, _digest(path))
        held = instance.resources[0].identifier
        for host in self.computes:
            self.run_periodic(host)
            self.manager(host).rt.retry_erases(self.context)
            self.assert_consistent(host)
            states = self.manager(host).rt.namespace_states(host)
            for name, state in states.items():
                if host == instance.host and name == held:
                    self.assertEqual('assigned', state)
                    continue
                # Every namespace given up was erased and is free.
                self.assertEqual('free', state, '%s:%s' % (host, name))
                self.assertTrue(self.namespace_is_zero(host, name),
                                '%s:%s holds data' % (host, name))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        # The server is usable: it moves again, then it is deleted.
        other = B if instance.host == A else A
        again = self.live_migrate(instance, host=other, force=True)
        self.wait_for_status(again, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(digest, _digest(moved.resources[0].metadata.devpath))
        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        for host in self.computes:
            self.assert_free_and_erased(host)
        return migration


class TestSourceKilled(RecoveryTestBase):

    def test_after_the_destination_claim(self):
        # The source dies as the request to start arrives: the migration
        # stays queued until its source recovery finds it stuck.
        self.flags(migration_stuck_timeout=1, group='compute')
        crashed = self.crash_when(A, self.manager(A), '_do_live_migration')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.assertEqual('queued', objects.Migration.get_by_id(
            self.context, migration.id).status)
        time.sleep(1.1)
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)

    def test_during_the_copy(self):
        # libvirt goes on without the service: slowly enough that the
        # restarted source finds the job running and aborts it.
        crashed = self.kill_during_copy(A)
        server, digest, migration = self.start_move(bandwidth=2 * MiB)
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.start_compute(A)
        self.wait_until_ended(migration)
        # The server's fault says why.
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        self.assertIn('live migration %s is rolled back: it was '
                      'interrupted' % migration.uuid, fault.message)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)

    def test_after_the_copy_before_the_handover(self):
        crashed = self.crash_when(A, self.manager(A),
                                  '_complete_live_migration')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        # The guest runs on B, the database still says A.
        self.assertEqual([B], self.domain_hosts(server.uuid))
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_guest_on_neither_host_is_an_error_with_a_fault(self):
        # A dies after the copy; then the guest, on B, stops too (its
        # host lost it). Recovery cannot tell where the data lives on:
        # it says so rather than pick a side.
        crashed = self.crash_when(A, self.manager(A),
                                  '_complete_live_migration')
        server, _digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        base.emulator.open('emulated://%s' % B).lookupByUUIDString(
            server.uuid).destroy()
        self.start_compute(A)
        ended = self.wait_until_ended(migration)
        self.assertEqual('error', ended.status)
        lost = self.wait_for_state(server.uuid, vm_states.ERROR)
        self.assertIsNone(lost.task_state)
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        self.assertIn('runs neither on %s nor on %s' % (A, B),
                      fault.message)
        # The user may delete it: A erases the source's namespace; B's
        # copy, which no record holds any more, is quarantined by its
        # next resource update and erased by its retry.
        self.api.delete(self.context, lost)
        self.wait_for_deleted(server.uuid)
        self.assert_free_and_zero(A, 'ns0')
        self.run_periodic(B)
        self.assertEqual('quarantined', self.record(B, 'ns0').state)
        self.manager(B).rt.retry_erases(self.context)
        self.assert_free_and_zero(B, 'ns0')
        rc, out = self.audit()
        self.assertEqual(0, rc, out)

    def test_during_the_handover(self):
        # B took the instance over; A dies before it let go of its side.
        crashed = self.crash_when(A, self.manager(A), '_release_source')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        moved = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual(B, moved.host)
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_during_the_source_erase(self):
        crashed = self.crash_when(A, self.manager(A).rt.namespaces,
                                  '_erase')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.assertEqual('erasing', self.record(A, 'ns0').state)
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)


class TestDestinationKilled(RecoveryTestBase):

    def test_after_the_destination_claim(self):
        crashed = self.crash_when(B, self.manager(B),
                                  'check_can_live_migrate_destination',
                                  after=True)
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        # The conductor gave up on B and put everything back but B's claim.
        self.wait_for_migration(migration, ('error',))
        self.start_compute(B)
        self.assert_recovered(server, digest, migration)

    def test_in_the_rollback_after_the_record_let_go(self):
        # B's check fails; B dies in the rollback once the instance record
        # no longer names its claim, before it erased and freed it.
        def broken_pre(*args, **kwargs):
            raise exception.MigrationError(reason='injected: no room')

        self.manager(B).driver.pre_live_migration = broken_pre
        crashed = self.crash_when(B, self.manager(B).rt, 'give_up')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.assertIsNone(objects.Instance.get_by_uuid(
            self.context, server.uuid,
            expected_attrs=['migration_context']).migration_context)
        self.wait_for_migration(migration, ('error',))
        self.start_compute(B)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)

    def test_during_the_copy(self):
        crashed = self.kill_during_copy(B)
        server, digest, migration = self.start_move(bandwidth=8 * MiB)
        self.assertTrue(crashed.wait(self.TIMEOUT))
        # The copy goes on (libvirt on both hosts is alive) and ends; A
        # cannot hand over to a dead B: the move waits for B.
        self.wait_for_migration(migration, ('post-migrating',))
        self.start_compute(B)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_after_the_copy_before_the_handover(self):
        crashed = self.crash_when(B, self.manager(B),
                                  'post_live_migration_at_destination')
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.wait_for_migration(migration, ('post-migrating',))
        self.start_compute(B)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_during_the_handover(self):
        # B's hypervisor made the guest persistent; B dies before it
        # recorded the instance as its own.
        crashed = self.crash_when(
            B, self.manager(B).driver, 'post_live_migration_at_destination',
            after=True)
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.assertEqual(A, objects.Instance.get_by_uuid(
            self.context, server.uuid).host)
        self.start_compute(B)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)

    def test_while_the_source_erases(self):
        # The destination dies once the move is its own; the source goes
        # on and finishes alone.
        erasing = self.crash_when(B, self.manager(A).rt.namespaces,
                                  '_erase', unwind=False)
        server, digest, migration = self.start_move()
        self.assertTrue(erasing.wait(self.TIMEOUT))
        self.start_compute(B)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('completed', ended.status)


class TestAbortBeforeStart(RecoveryTestBase):

    def test_abort_of_a_migration_waiting_for_a_slot(self):
        self.flags(max_concurrent_live_migrations=1)
        self.restart_compute(A)
        base.emulator.get_host(A).configure(default_bandwidth=4 * MiB)
        first = self.boot_as(self.context, A, name='first')
        second = self.boot_as(self.context, A, name='second')
        running = self.live_migrate(first, host=B, force=True)
        self.wait_for_status(running, 'running')
        queued = self.live_migrate(second, host=B, force=True)
        self.assertEqual('queued', queued.status)
        self.api.live_migrate_abort(self.context, second, queued.id)
        self.wait_for_status(queued, 'cancelled')
        back = self.wait_for_state(second.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertEqual({}, self.consumer_allocations(queued.uuid))
        self.wait_for_status(running, 'completed')
        for host in self.computes:
            self.assert_consistent(host)

    def test_abort_of_a_migration_whose_start_was_lost(self):
        # The cast to start it never arrives: the abort is recorded in
        # the migration, and the source's recovery ends it cancelled.
        crashed = self.crash_when(A, self.manager(A), 'live_migration',
                                  unwind=True)
        server, digest, migration = self.start_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.start_compute(A)
        instance = self.api.get(self.context, server.uuid)
        self.api.live_migrate_abort(self.context, instance, migration.id)
        self.assertEqual('cancelling', objects.Migration.get_by_id(
            self.context, migration.id).status)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('cancelled', ended.status)

    def test_abort_that_overtakes_the_start_cast(self):
        # The source is alive; the abort reaches it before the cast that
        # starts the migration. The cast then finds it 'cancelling' and
        # rolls it back as cancelled, with no sweep.
        manager = self.manager(A)
        real = manager.live_migration
        arrived, go = threading.Event(), threading.Event()

        def held(*args, **kwargs):
            arrived.set()
            self.assertTrue(go.wait(self.TIMEOUT))
            return real(*args, **kwargs)

        self.useFixture(base._AttributeFixture(manager, 'live_migration',
                                               held))
        server, digest, migration = self.start_move()
        self.assertTrue(arrived.wait(self.TIMEOUT))
        instance = self.api.get(self.context, server.uuid)
        self.api.live_migrate_abort(self.context, instance, migration.id)
        self.assertEqual('cancelling', objects.Migration.get_by_id(
            self.context, migration.id).status)
        go.set()
        self.wait_for_status(migration, 'cancelled')
        back = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertIsNone(back.migration_context)
        # B's claim is erased and free, the guest stays on A with its data.
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('cancelled', ended.status)


class TestAPIKilled(RecoveryTestBase):
    """nova-api stopped while it records a move it accepted.

    The instance's task state, the migration and the request's action are
    written in one transaction: stopped before it commits, nothing of the
    move is left, so no instance waits in a move's task state for a
    migration that no recovery would ever find.
    """

    def _assert_nothing_recorded(self, server, action):
        instance = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertIsNone(instance.task_state)
        self.assertEqual(vm_states.ACTIVE, instance.vm_state)
        self.assertEqual(A, instance.host)
        self.assertEqual([], list(objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})))
        actions = objects.InstanceActionList.get_by_instance_uuid(
            self.context, server.uuid)
        self.assertNotIn(action, [a.action for a in actions])
        for host in self.computes:
            self.assert_consistent(host)

    def test_while_it_records_a_live_migration(self):
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        digest = _digest(server.resources[0].metadata.devpath)
        with self._kill_api():
            self.assertRaises(base.ServiceCrashed, self.api.live_migrate,
                              self.context, server, host_name=B, force=True)
        self._assert_nothing_recorded(server, instance_actions.LIVE_MIGRATION)
        # Idle, not stuck: the next request moves it, data and all.
        again = self.live_migrate(
            objects.Instance.get_by_uuid(self.context, server.uuid),
            host=B, force=True)
        self.wait_for_status(again, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(B, moved.host)
        self.assertEqual(digest, _digest(moved.resources[0].metadata.devpath))

    def test_while_it_records_a_cold_migration(self):
        server = self.boot_as(self.context, A)
        with self._kill_api():
            self.assertRaises(base.ServiceCrashed, self.api.migrate,
                              self.context, server, host_name=B)
        self._assert_nothing_recorded(server, instance_actions.MIGRATE)
        migration = self.api.migrate(
            self.context,
            objects.Instance.get_by_uuid(self.context, server.uuid),
            host_name=B)
        self.wait_for_status(migration, 'finished')

    @staticmethod
    def _kill_api():
        """nova-api stops when it writes a migration's row (the in-process
        ``kill -9``: its thread unwinds without running any handler)."""
        real = db_api._new_row

        def crashing(model, values):
            if model is db_models.Migration:
                raise base.ServiceCrashed('nova-api killed while it wrote '
                                          'migration %s' % values['uuid'])
            return real(model, values)
        return fixtures_lib.MockPatchObject(db_api, '_new_row', crashing)


class TestColdMigrationSourceKilled(RecoveryTestBase):

    def _cold_move(self):
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        digest = _digest(server.resources[0].metadata.devpath)
        migration = self.api.migrate(self.context, server, host_name=B)
        return server, digest, migration

    def test_during_the_copy(self):
        crashed = self.crash_when(A, self.manager(A).driver, 'send_vpmems')
        server, digest, migration = self._cold_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        # The guest is stopped on A, its copy on B half made.
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)

    def test_after_the_copy_before_the_start(self):
        # The copy reached B; A dies before it asks B to start the guest,
        # so it runs nowhere: A's recovery rolls the move back.
        crashed = self.crash_when(A, self.manager(A).compute_rpcapi,
                                  'finish_resize')
        server, digest, migration = self._cold_move()
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.assertEqual('post-migrating', objects.Migration.get_by_id(
            self.context, migration.id).status)
        self.start_compute(A)
        self.wait_until_ended(migration)
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        self.assertIn('cold migration %s is rolled back: it was '
                      'interrupted' % migration.uuid, fault.message)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('failed', ended.status)

    def test_during_the_confirm(self):
        server, digest, migration = self._cold_move()
        self.wait_for_state(server.uuid, vm_states.RESIZED)
        self.wait_for_status(migration, 'finished')
        crashed = self.crash_when(A, self.manager(A).rt.namespaces,
                                  '_erase')
        resized = self.api.get(self.context, server.uuid)
        self.api.confirm_resize(self.context, resized)
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.start_compute(A)
        ended = self.assert_recovered(server, digest, migration)
        self.assertEqual('confirmed', ended.status)


class TestBothKilled(RecoveryTestBase):

    def test_source_recovers_while_the_destination_is_down(self):
        crashed = self.kill_during_copy(A)
        server, digest, migration = self.start_move(bandwidth=2 * MiB)
        self.assertTrue(crashed.wait(self.TIMEOUT))
        self.crash_compute(B)
        self.start_compute(A)
        # A rolls its side back at once; B's claim waits for B.
        current = self.wait_for_migration(migration, ('error',))
        instance = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, instance.host)
        self.assertEqual(digest,
                         _digest(instance.resources[0].metadata.devpath))
        self.assertEqual('assigned', self.record(B, 'ns0').state)
        self.start_compute(B)
        # B's start found nobody holds its claim, erased it, and the
        # migration tells what happened.
        self.assertEqual('failed', self.migration_status(current))
        self.assert_recovered(server, digest, migration)
