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

"""Cold migration of instances with vpmem, end to end.

The same harness as the live migration tests (real placement, the real DB
layer, fake:// RPC, emulated hosts whose namespaces are files, the real
driver). The guest stops, its namespaces are copied over a local socket and
checked by digest, and the guest starts on the destination; the tests then
ask every owner of state, after the move, after confirm or revert, and
after each failure.
"""

import hashlib
import threading
from unittest import mock

import fixtures
from oslo_db import exception as db_exc

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova.tests.functional import test_live_migration as lm_base
from nova.virt.libvirt import vpmem_copy

RC = lm_base.RC
SOURCE, DEST = 'compute-a', 'compute-b'


def _digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class ColdMigrationTestBase(lm_base.LiveMigrationTestBase):

    def migrate(self, instance, host=None):
        return self.api.migrate(self.context, instance, host_name=host)

    def load(self, instance):
        return objects.Instance.get_by_uuid(
            self.context, instance.uuid,
            expected_attrs=['resources', 'migration_context', 'flavor'])

    def domain_state(self, host, instance):
        conn = lm_base.base.emulator.open('emulated://%s' % host)
        return conn.lookupByUUIDString(instance.uuid).isActive()

    def migrate_to_verify_resize(self, server, host=None):
        """Migrate; return (migration, instance) once VERIFY_RESIZE."""
        digests = self.fill_namespaces(server, b'tenant bytes')
        migration = self.migrate(server, host=host)
        self.wait_for_state(server.uuid, vm_states.RESIZED)
        migration = self.wait_for_status(migration, 'finished')
        moved = self.load(server)
        return migration, moved, digests

    def assert_verify_resize(self, server, moved, migration, digests):
        """The guest runs on DEST with the same bytes; SOURCE keeps its own."""
        self.assertEqual(DEST, moved.host)
        self.assertEqual(power_state.RUNNING, moved.power_state)
        # The copy: every destination namespace holds what the guest had.
        dest_paths = [r.metadata.devpath for r in moved.resources]
        self.assertEqual(sorted(digests.values()),
                         sorted(_digest(p) for p in dest_paths))
        self.assertTrue(all(p.startswith(self.namespace_path(DEST, ''))
                            for p in dest_paths), dest_paths)
        # The source keeps its stopped guest and its data until confirm.
        self.assertTrue(self.domain_state(DEST, server))
        self.assertFalse(self.domain_state(SOURCE, server))
        for path, digest in digests.items():
            self.assertEqual(digest, _digest(path), path)
        # Both hosts hold their namespaces, in placement and the trackers.
        self.assertEqual({self.node(SOURCE).uuid: {
            'VCPU': 1, 'MEMORY_MB': self.FLAVOR_MEMORY_MB, RC: 2}},
            self.consumer_allocations(migration.uuid))
        self.assertEqual({self.node(DEST).uuid: {
            'VCPU': 1, 'MEMORY_MB': self.FLAVOR_MEMORY_MB, RC: 2}},
            self.consumer_allocations(server.uuid))
        for host in (SOURCE, DEST):
            self.run_periodic(host)
            self.assertEqual(2, self.placement_usage(host))
            self.assertEqual(2, len(self.rt_assigned(host)))
        self.assertEqual(
            sorted(r.identifier for r in moved.resources),
            self.rt_assigned(DEST))
        self.assertEqual(
            sorted(r.identifier for r in server.resources),
            self.rt_assigned(SOURCE))


    def record_names_at_give_up(self, host):
        """The namespaces of ``host`` the instance's record still names
        when ``host`` gives namespaces up, one list per give-up."""
        rt = self.manager(host).rt
        real = rt.give_up
        seen = []

        def give_up(context, resources, instance_uuid, *args, **kwargs):
            record = objects.Instance.get_by_uuid(
                self.context, instance_uuid,
                expected_attrs=['resources', 'migration_context'])
            named = list(record.resources or [])
            if record.migration_context is not None:
                named += list(record.migration_context.new_resources or [])
                named += list(record.migration_context.old_resources or [])
            given = {(r.provider_uuid, r.identifier) for r in resources}
            seen.append(sorted(
                r.identifier for r in named
                if (r.provider_uuid, r.identifier) in given))
            return real(context, resources, instance_uuid, *args, **kwargs)

        rt.give_up = give_up
        self.addCleanup(delattr, rt, 'give_up')
        return seen

    def assert_back_on_source(self, server, digests, before, migration,
                              status):
        """The guest runs on the source again, on its own untouched data;
        the destination erased the copy and freed its namespaces."""
        self.wait_for_status(migration, status)
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assert_source_intact(server, digests)
        self.assertTrue(self.domain_state(SOURCE, server))
        self.assert_free_and_erased(DEST)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(before, self.snapshot())


class TestColdMigration(ColdMigrationTestBase):

    def test_migrate_and_confirm(self):
        server = self.boot_on(SOURCE)
        migration, moved, digests = self.migrate_to_verify_resize(server)
        self.assert_verify_resize(server, moved, migration, digests)
        self.assertEqual(sum(r.metadata.size for r in server.resources),
                         migration.memory_processed)

        self.api.confirm_resize(self.context, moved)
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.wait_for_status(migration, 'confirmed')
        confirmed = self.load(server)
        self.assertIsNone(confirmed.migration_context)
        self.assertEqual(DEST, confirmed.host)
        self.assertEqual([DEST], self.domain_hosts(server.uuid))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        # The source erased what the guest left and took it back.
        self.assert_free_and_erased(SOURCE)
        self.assert_host_consistent(DEST)
        dest_paths = [r.metadata.devpath for r in confirmed.resources]
        self.assertEqual(sorted(digests.values()),
                         sorted(_digest(p) for p in dest_paths))

    def test_migrate_to_requested_host_and_revert(self):
        server = self.boot_on(SOURCE)
        before = self.snapshot()
        migration, moved, digests = self.migrate_to_verify_resize(
            server, host=DEST)
        self.assert_verify_resize(server, moved, migration, digests)

        self.api.revert_resize(self.context, moved)
        self.assert_back_on_source(server, digests, before, migration,
                                   'reverted')

    def test_revert_record_lets_go_before_the_destination_frees(self):
        # Freed while the record still named them, the destination's
        # namespaces would be named by two records once another claim
        # took them.
        server = self.boot_on(SOURCE)
        before = self.snapshot()
        migration, moved, digests = self.migrate_to_verify_resize(server)
        seen = self.record_names_at_give_up(DEST)
        self.api.revert_resize(self.context, moved)
        self.assert_back_on_source(server, digests, before, migration,
                                   'reverted')
        self.assertEqual([[]], seen)
        reverted = self.load(server)
        self.assertEqual((SOURCE, None), (reverted.host,
                                          reverted.migration_context))

    def test_revert_record_not_saved_keeps_the_copy_until_erased(self):
        # The destination cannot hand the record back: it must not free
        # namespaces the record still names. They stay reserved, the
        # source takes the instance back anyway, and the destination's
        # next resource update finds nobody holds them: quarantined,
        # erased, free, and the migration ends 'reverted'.
        server = self.boot_on(SOURCE)
        before = self.snapshot()
        migration, moved, digests = self.migrate_to_verify_resize(server)
        dest_names = sorted(r.identifier for r in moved.resources)
        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and kwargs.get('expected_task_state') ==
                    [task_states.RESIZE_REVERTING]):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        with mock.patch.object(objects.Instance, 'save', save):
            self.api.revert_resize(self.context, moved)
            self.wait_for_status(migration, 'error')
            self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual([SOURCE], failed)   # the destination's hand-back
        # Back on the source, on its own untouched data.
        self.assert_source_intact(server, digests)
        self.assertTrue(self.domain_state(SOURCE, server))
        # Nothing on the destination was freed or erased meanwhile: the
        # tenant's copy sits in namespaces nobody else can get, which
        # the destination's quarantine consumer counts in placement.
        self.assertEqual(dest_names, self.rt_assigned(DEST))
        self.assertEqual(
            [], [name for name in dest_names
                 if self.namespace_is_zero(DEST, name)])
        self.assertEqual(2, self.placement_usage(DEST))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        late = self.boot(self.flavor, name='late', expect=vm_states.ERROR)
        self.assertIn('No valid host', late.fault.message)
        self.api.delete(self.context, late)
        self.wait_for_deleted(late.uuid)

        # The resource update quarantines them, the erase retry erases
        # them, the migration ends.
        self.manager(DEST).update_available_resource(self.context)
        self.assertEqual({'ns0': 'quarantined', 'ns1': 'quarantined'},
                         self.manager(DEST).rt.namespace_states(DEST))
        self.assertEqual(2, self.placement_usage(DEST))
        self.assertEqual('error', self.wait_for_status(migration,
                                                       'error').status)
        self.manager(DEST).rt.retry_erases(self.context)
        self.assert_free_and_erased(DEST)
        self.wait_for_status(migration, 'reverted')
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(before, self.snapshot())
        self.assertEqual(SOURCE, self.load(server).host)

    def test_revert_neither_side_saves_is_flagged_then_finished(self):
        # Both sides fail to save the record of a revert: it stays on the
        # destination, naming the destination's namespaces, while the
        # source took the allocation back and restarted its guest. Nothing
        # is freed or erased, and the audit names the instance on both
        # hosts: there its record and its own allocation disagree, until
        # the source's recovery finishes the revert.
        server = self.boot_on(SOURCE)
        migration, moved, digests = self.migrate_to_verify_resize(server)
        dest_names = sorted(r.identifier for r in moved.resources)
        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (len(failed) < 2 and kwargs.get('expected_task_state') ==
                    [task_states.RESIZE_REVERTING]):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        source = self.manager(SOURCE)
        real_finish = source.finish_revert_resize
        finished = threading.Event()

        def finish_revert_resize(*args, **kwargs):
            try:
                return real_finish(*args, **kwargs)
            finally:
                finished.set()

        with mock.patch.object(source, 'finish_revert_resize',
                               finish_revert_resize), \
                mock.patch.object(objects.Instance, 'save', save):
            self.api.revert_resize(self.context, moved)
            self.assertTrue(finished.wait(self.TIMEOUT))
        # The destination's hand-back, then the source's own save.
        self.assertEqual([SOURCE, SOURCE], failed)
        self.assertEqual('error', self.wait_for_status(migration,
                                                       'error').status)
        stuck = self.load(server)
        self.assertEqual(task_states.RESIZE_REVERTING, stuck.task_state)
        self.assertEqual(DEST, stuck.host)
        self.assertEqual(dest_names,
                         sorted(r.identifier for r in stuck.resources))
        # The guest runs on the source's untouched data; the destination's
        # copy stays whole, counted by its quarantine consumer.
        self.assertEqual([SOURCE], self.domain_hosts(server.uuid))
        self.assertTrue(self.domain_state(SOURCE, server))
        for path, digest in digests.items():
            self.assertEqual(digest, _digest(path), path)
        self.assertEqual(dest_names, self.rt_assigned(DEST))
        self.assertEqual(
            [], [name for name in dest_names
                 if self.namespace_is_zero(DEST, name)])
        self.assertEqual({self.node(SOURCE).uuid: {
            'VCPU': 1, 'MEMORY_MB': self.FLAVOR_MEMORY_MB, RC: 2}},
            self.consumer_allocations(server.uuid))
        self.assertEqual(2, self.placement_usage(DEST))

        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('placement  %s  instance %s: its allocation counts no '
                      'namespace, but it holds %s:2 here'
                      % (DEST, server.uuid, RC), out)
        self.assertIn('placement  %s  instance %s: its allocation counts '
                      '%s:2, but it holds no namespace here'
                      % (SOURCE, server.uuid, RC), out)
        self.assertIn('openstack server migration list --server %s'
                      % server.uuid, out)

        # The source's recovery sweep finishes the revert: the record
        # comes back with the source's namespaces; the destination then
        # quarantines and erases its copy, and the migration ends
        # 'reverted'. Nothing is left to flag.
        self.manager(SOURCE)._recover_moves(self.context, startup=True)
        self.assert_source_intact(server, digests)
        self.manager(DEST).update_available_resource(self.context)
        self.assertEqual({'ns0': 'quarantined', 'ns1': 'quarantined'},
                         self.manager(DEST).rt.namespace_states(DEST))
        self.manager(DEST).rt.retry_erases(self.context)
        self.assert_free_and_erased(DEST)
        self.wait_for_status(migration, 'reverted')
        # A second sweep finds nothing to finish.
        self.manager(SOURCE)._recover_moves(self.context, startup=True)
        self.assertEqual('reverted', self.wait_for_status(
            migration, 'reverted').status)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)

    def test_confirm_needs_a_finished_migration(self):
        server = self.boot_on(SOURCE)
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.confirm_resize, self.context, server)
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.revert_resize, self.context, server)
        self.assert_source_intact(server, {})

    def test_delete_while_verify_resize_frees_both_hosts(self):
        server = self.boot_on(SOURCE)
        migration, moved, _digests = self.migrate_to_verify_resize(server)
        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        # Its migration went with it; what it held is free on both sides.
        self.assertEqual([], self.domain_hosts(server.uuid))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual({}, self.consumer_allocations(server.uuid))
        self.assert_free_and_erased(SOURCE)
        self.assert_free_and_erased(DEST)


class TestColdMigrationRefusals(ColdMigrationTestBase):

    def _check_refused(self, server, before):
        self.assertEqual(before, self.snapshot())
        self.assert_source_intact(server, {})
        migrations = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})
        self.assertEqual(['error'], [m.status for m in migrations])

    def test_same_host_is_refused(self):
        server = self.boot_on(SOURCE)
        before = self.snapshot()
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.migrate, server, host=SOURCE)
        self.assertIn('same host', str(err))
        self._check_refused(server, before)

    def test_old_destination_is_refused_naming_it(self):
        server = self.boot_on(SOURCE)
        svc = objects.Service.get_by_compute_host(self.context, DEST)
        svc.version = service_obj.COLD_MIGRATION_VERSION - 1
        svc.save()
        before = self.snapshot()
        err = self.assertRaises(exception.NoValidHost, self.migrate, server)
        self.assertIn('%s runs service version %d' % (
            DEST, service_obj.COLD_MIGRATION_VERSION - 1), str(err))
        self._check_refused(server, before)

    def test_destination_without_free_namespaces_is_refused(self):
        self.boot_on(DEST, name='squatter')
        server = self.boot_on(SOURCE)
        before = self.snapshot()
        err = self.assertRaises(exception.NoValidHost, self.migrate, server)
        self.assertIn(DEST, str(err))
        self._check_refused(server, before)

    def test_refusal_whose_reset_is_not_saved_is_settled_by_recovery(self):
        # The conductor refuses the move, but its undo's save of the
        # instance out of 'resize_prep' fails once: the user reads the
        # refusal, the instance stays 'resize_prep' until the source's
        # recovery sweep settles it. Its guest never stopped and keeps
        # running.
        self.boot_on(DEST, name='squatter')
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'keep me')
        before = self.snapshot()
        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and instance.task_state is None and
                    kwargs.get('expected_task_state') ==
                    [task_states.RESIZE_PREP]):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        with mock.patch.object(objects.Instance, 'save', save):
            err = self.assertRaises(exception.NoValidHost, self.migrate,
                                    server)
        self.assertIn(DEST, str(err))
        self.assertEqual([SOURCE], failed)
        stuck = self.load(server)
        self.assertEqual(task_states.RESIZE_PREP, stuck.task_state)
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, self.context, stuck)

        self.manager(SOURCE)._recover_moves(self.context, startup=True)
        self._check_refused(server, before)
        self.assertTrue(self.domain_state(SOURCE, server))
        self.assert_source_intact(server, digests)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)


class TestColdMigrationRollback(ColdMigrationTestBase):

    def _check_rolled_back(self, server, digests, before, migration):
        self.assert_back_on_source(server, digests, before, migration,
                                   'failed')

    def _guest_that_will_not_start_on_destination(self):
        """A server on the source whose copy will not start on the
        destination; returns (server, digests, before)."""
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'keep me')
        before = self.snapshot()

        def broken(*args, **kwargs):
            raise exception.InstanceSpawnFailed(instance_uuid=server.uuid,
                                                reason='qemu on fire')

        self.manager(DEST).driver.spawn = broken
        return server, digests, before

    def test_start_failure_on_destination_erases_the_copy(self):
        # The data arrived, then the guest would not start: the copy on
        # the destination must be erased before its namespaces are free.
        server, digests, before = (
            self._guest_that_will_not_start_on_destination())
        seen = self.record_names_at_give_up(DEST)
        migration = self.migrate(server, host=DEST)
        self._check_rolled_back(server, digests, before, migration)
        # The record let go of the destination's claim before it freed.
        self.assertEqual([[]], seen)
        fault = objects.Instance.get_by_uuid(
            self.context, server.uuid, expected_attrs=['fault']).fault
        self.assertIn('qemu on fire', fault.message)

    def test_restart_not_saved_is_settled_by_recovery(self):
        # The rollback starts the guest again on the source, but its save
        # of the instance fails once: the migration ended 'failed' with
        # the instance still in a move's task state, refused by every
        # request, until the source's recovery sweep saves it.
        server, digests, before = (
            self._guest_that_will_not_start_on_destination())
        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and instance.task_state is None and
                    task_states.RESIZE_MIGRATED in
                    (kwargs.get('expected_task_state') or ())):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        with mock.patch.object(objects.Instance, 'save', save):
            migration = self.migrate(server, host=DEST)
            self.wait_for_status(migration, 'failed')
        self.assertEqual([SOURCE], failed)
        stuck = self.load(server)
        self.assertIn(stuck.task_state, (task_states.RESIZE_MIGRATING,
                                         task_states.RESIZE_MIGRATED))
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, self.context, stuck)

        self.manager(SOURCE)._recover_moves(self.context, startup=True)
        self._check_rolled_back(server, digests, before, migration)

    def test_digest_mismatch_rolls_the_move_back(self):
        # The destination finds the SHA-256 of what it wrote differs from
        # the sender's: the whole move is undone, the copy erased.
        server = self.boot_on(SOURCE)
        digests = self.fill_namespaces(server, b'keep me')
        before = self.snapshot()
        real_compare = vpmem_copy.hmac.compare_digest

        def compare(a, b):
            if len(a) == vpmem_copy._DIGEST_SIZE:
                return False    # a namespace's digest, not the token
            return real_compare(a, b)

        self.useFixture(fixtures.MockPatchObject(
            vpmem_copy.hmac, 'compare_digest', side_effect=compare))
        migration = self.migrate(server, host=DEST)
        self._check_rolled_back(server, digests, before, migration)
        fault = objects.InstanceFault.get_latest_for_instance(
            self.context, server.uuid)
        # (The fault keeps the first 255 characters.)
        self.assertIn('the receiver answered: namespace 0', fault.message)
        self.assertIn('the SHA-256 of the bytes written differs',
                      fault.message)

    def test_copy_refused_by_destination(self):
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
        self._check_rolled_back(server, digests, before, migration)

