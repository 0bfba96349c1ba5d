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

"""Live migration of instances with vpmem, end to end.

Real placement, the real DB layer, fake:// RPC between a conductor and
three compute services on emulated hosts whose namespaces are files. After
each operation the tests ask every owner of state: placement (usages per
provider, the consumers' allocations), the resource trackers (which
namespaces are assigned), the database (instance host, resources,
migration context, Migration row), the namespace files (bytes) and the
emulated hosts (where the domain is).
"""

import contextlib
import hashlib
import io
import threading
import time
from unittest import mock

import fixtures
from oslo_db import exception as db_exc

from nova.cmd import manage
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova.tests.functional import base

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'
MiB = 1 << 20


def _digest(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class LiveMigrationTestBase(base.VPMEMTestBase):

    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1'],
        'compute-b': ['SMALL:ns0|ns1'],
    }
    # Guest RAM is modelled by the emulator; keep it small so the
    # bandwidth-limited tests stay short.
    FLAVOR_MEMORY_MB = 16

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor(pmem='SMALL,SMALL',
                                         memory_mb=self.FLAVOR_MEMORY_MB)

    def boot_on(self, host, flavor=None, name='server'):
        """Boot with every other compute disabled, so it lands on host."""
        others = [h for h in self.computes if h != host]
        for other in others:
            self._set_disabled(other, True)
        try:
            return self.boot(flavor or self.flavor, name)
        finally:
            for other in others:
                self._set_disabled(other, False)

    def _set_disabled(self, host, disabled):
        svc = objects.Service.get_by_compute_host(self.context, host)
        svc.disabled = disabled
        svc.save()

    def fill_namespaces(self, instance, pattern):
        paths = [r.metadata.devpath for r in instance.resources]
        for i, path in enumerate(paths):
            with open(path, 'r+b') as f:
                f.write((pattern + bytes([i])) * (MiB // (len(pattern) + 1)))
        return {path: _digest(path) for path in paths}

    def live_migrate(self, instance, host=None, force=False):
        return self.api.live_migrate(self.context, instance, host_name=host,
                                     force=force)

    def record_copies(self):
        """The flags of every migrateToURI3 call from now on (a list)."""
        seen = []
        real = base.emulator.virDomain.migrateToURI3

        def recording(dom, dconnuri, params, flags):
            seen.append(flags)
            return real(dom, dconnuri, params, flags)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.emulator.domain.virDomain.migrateToURI3',
            recording))
        return seen

    def wait_for_migration(self, migration, statuses, timeout=None):
        deadline = time.monotonic() + (timeout or self.TIMEOUT)
        while True:
            current = objects.Migration.get_by_id(self.context,
                                                  migration.id)
            if current.status in statuses:
                return current
            if time.monotonic() > deadline:
                self.fail('migration %s is %s, not one of %s' %
                          (migration.uuid, current.status, statuses))
            time.sleep(0.05)

    def wait_for_status(self, migration, status):
        return self.wait_for_migration(migration, (status,))

    def consumer_allocations(self, consumer):
        allocs = self.reportclient.get_allocations_for_consumer(
            self.context, consumer)['allocations']
        return {rp: a['resources'] for rp, a in allocs.items()}

    def manage(self, action, *args):
        """``nova-manage vpmem ACTION ARGS``: (exit code, what it printed)."""
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = getattr(manage.VPMEMCommands(), action)(*args)
        return rc, out.getvalue()

    def audit(self, heal=False):
        return self.manage('audit', heal)

    def snapshot(self):
        """What placement and the trackers say, for before/after checks."""
        for host in self.computes:
            self.run_periodic(host)
        return {host: (self.placement_usage(host), self.rt_assigned(host))
                for host in self.computes}

    def assert_source_intact(self, instance, digests):
        current = objects.Instance.get_by_uuid(
            self.context, instance.uuid,
            expected_attrs=['resources', 'migration_context'])
        self.assertEqual(instance.host, current.host)
        self.assertEqual(vm_states.ACTIVE, current.vm_state)
        self.assertIsNone(current.task_state)
        self.assertIsNone(current.migration_context)
        self.assertEqual([instance.host], self.domain_hosts(instance.uuid))
        self.assertEqual(sorted(r.identifier for r in instance.resources),
                         sorted(r.identifier for r in current.resources))
        for path, digest in digests.items():
            self.assertEqual(digest, _digest(path), path)
        node = self.node(instance.host)
        self.assertEqual({node.uuid: {'VCPU': 1, 'MEMORY_MB':
                                      self.FLAVOR_MEMORY_MB, RC: 2}},
                         self.consumer_allocations(instance.uuid))

    def _free_and_erased(self, host):
        """(assigned, placement usage, namespaces holding data)."""
        self.run_periodic(host)
        return (self.rt_assigned(host), self.placement_usage(host),
                [name for name in ('ns0', 'ns1')
                 if not self.namespace_is_zero(host, name)])

    def assert_free_and_erased(self, host):
        # A move reads 'completed' before its source hands the erase to
        # its worker, and the migration's allocations go when that erase
        # ends: wait (bounded) for the host to get there, then check.
        deadline = time.monotonic() + self.TIMEOUT
        state = self._free_and_erased(host)
        while state != ([], 0, []) and time.monotonic() < deadline:
            time.sleep(0.05)
            state = self._free_and_erased(host)
        assigned, usage, holding = state
        self.assertEqual([], assigned)
        self.assertEqual(0, usage)
        self.assertEqual([], holding, 'namespaces of %s holding data' % host)


class TestLiveMigration(LiveMigrationTestBase):

    def _check_moved(self, instance, migration, digests, dest):
        migration = self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(instance.uuid, vm_states.ACTIVE)
        self.assertEqual(dest, moved.host)
        self.assertEqual(dest, migration.dest_compute)
        self.assertIsNone(moved.migration_context)
        self.assertEqual([dest], self.domain_hosts(instance.uuid))
        dest_node = self.node(dest)
        self.assertEqual({dest_node.uuid},
                         {r.provider_uuid for r in moved.resources})
        # Data: each destination namespace holds its source's bytes, in
        # the guest's device order.
        for src, dst in zip(instance.resources, moved.resources,
                            strict=True):
            self.assertEqual(digests[src.metadata.devpath],
                             _digest(dst.metadata.devpath))
        # The source gave its namespaces up: erased and free everywhere.
        self.assert_free_and_erased(instance.host)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual({dest_node.uuid: {'VCPU': 1, 'MEMORY_MB':
                                           self.FLAVOR_MEMORY_MB, RC: 2}},
                         self.consumer_allocations(instance.uuid))
        self.assert_host_consistent(dest)
        self.assertEqual(2, self.placement_usage(dest))
        self.assertGreater(migration.memory_total or 0, 0)
        return moved

    def test_forced_host_live_migration(self):
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'forced')
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_moved(server, migration, digests, 'compute-b')

    def test_scheduled_live_migration(self):
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'scheduled')
        migration = self.live_migrate(server)
        self._check_moved(server, migration, digests, 'compute-b')

    def test_requested_host_without_force_is_checked_by_scheduler(self):
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'requested')
        migration = self.live_migrate(server, host='compute-b')
        self._check_moved(server, migration, digests, 'compute-b')

    def test_old_host_elsewhere_does_not_block(self):
        # The gate is per host: an un-upgraded compute somewhere else in
        # the cloud neither refuses nor pins this migration.
        objects.Service(self.context, host='compute-old',
                        binary='nova-compute', topic='compute',
                        version=service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1
                        ).create()
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'mixed cloud')
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_moved(server, migration, digests, 'compute-b')

    def test_migrate_back_and_forth(self):
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'round trip')
        migration = self.live_migrate(server, host='compute-b', force=True)
        moved = self._check_moved(server, migration, digests, 'compute-b')
        back = self.live_migrate(moved, host='compute-a', force=True)
        moved_digests = {r.metadata.devpath: _digest(r.metadata.devpath)
                         for r in moved.resources}
        self._check_moved(moved, back, moved_digests, 'compute-a')

    def test_post_copy_permitted_is_never_sent_for_vpmem(self):
        # The emulator refuses POSTCOPY for file-backed NVDIMMs as QEMU
        # does: this migration only completes if the flag is not sent.
        self.flags(live_migration_permit_post_copy=True,
                   live_migration_permit_auto_converge=True, group='libvirt')
        for host in list(self.computes):
            self.restart_compute(host)
        flags_seen = self._record_migration_flags()
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'no postcopy')
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_moved(server, migration, digests, 'compute-b')
        lv = base.emulator
        self.assertFalse(flags_seen[-1] & lv.VIR_MIGRATE_POSTCOPY)
        self.assertTrue(flags_seen[-1] & lv.VIR_MIGRATE_AUTO_CONVERGE)

        # A guest without vpmem still gets post-copy as configured.
        plain = self.create_flavor(name='plain', pmem=None, memory_mb=16)
        other = self.boot_on('compute-a', flavor=plain, name='plain')
        migration = self.live_migrate(other, host='compute-b', force=True)
        self.wait_for_status(migration, 'completed')
        self.assertTrue(flags_seen[-1] & lv.VIR_MIGRATE_POSTCOPY)

    def _record_migration_flags(self):
        from nova.virt.libvirt.emulator import domain as emu_domain
        seen = []
        real = emu_domain.virDomain.migrateToURI3

        def recording(dom, dconnuri, params, flags):
            seen.append(flags)
            return real(dom, dconnuri, params, flags)

        self.useFixture(base.fixtures.MonkeyPatch(
            'nova.virt.libvirt.emulator.domain.virDomain.migrateToURI3',
            recording))
        return seen

    def test_concurrent_migrations_to_one_host_never_share(self):
        self.flags(max_concurrent_live_migrations=0)
        single = self.create_flavor(name='single', pmem='SMALL',
                                    memory_mb=16)
        servers = [self.boot_on('compute-a', flavor=single, name='s%d' % i)
                   for i in range(2)]
        barrier = threading.Barrier(2)
        migrations = [None, None]
        errors = []

        def migrate(index):
            try:
                barrier.wait()
                migrations[index] = self.live_migrate(
                    servers[index], host='compute-b', force=True)
            except Exception as err:  # reported below
                errors.append(err)

        threads = [threading.Thread(target=migrate, args=(i,))
                   for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(self.TIMEOUT)
        self.assertEqual([], errors)
        for migration in migrations:
            self.wait_for_status(migration, 'completed')
        moved = [self.wait_for_state(s.uuid, vm_states.ACTIVE)
                 for s in servers]
        names = [m.resources[0].identifier for m in moved]
        self.assertEqual(['compute-b', 'compute-b'], [m.host for m in moved])
        self.assertEqual(['ns0', 'ns1'], sorted(names))
        self.assert_host_consistent('compute-b')
        self.assert_free_and_erased('compute-a')


class TestLiveMigrationRefusals(LiveMigrationTestBase):

    def test_destination_without_free_namespaces_is_refused(self):
        # compute-b's namespaces are taken: placement refuses the claim.
        self.boot_on('compute-b', name='squatter')
        server = self.boot_on('compute-a')
        before = self.snapshot()
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.live_migrate, server,
                                host='compute-b', force=True)
        self.assertIn('compute-b', str(err))
        self.assertEqual(before, self.snapshot())
        self.assert_source_intact(server, {})

    def _make_too_old(self, host):
        svc = objects.Service.get_by_compute_host(self.context, host)
        svc.version = service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1
        svc.save()

    def test_old_destination_is_refused_naming_it(self):
        server = self.boot_on('compute-a')
        self._make_too_old('compute-b')
        before = self.snapshot()
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.live_migrate, server,
                                host='compute-b', force=True)
        self.assertIn('compute-b', str(err))
        self.assertEqual(before, self.snapshot())
        self.assert_source_intact(server, {})

    def test_old_source_is_refused_naming_it(self):
        server = self.boot_on('compute-a')
        self._make_too_old('compute-a')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.live_migrate, server,
                                host='compute-b', force=True)
        self.assertIn('compute-a', str(err))
        self.assert_source_intact(server, {})

    def test_same_host_is_refused(self):
        server = self.boot_on('compute-a')
        self.assertRaises(exception.MigrationPreCheckError,
                          self.live_migrate, server, host='compute-a',
                          force=True)
        self.assert_source_intact(server, {})

    def _fail_first_release(self):
        """Make the first save freeing an instance from 'migrating' fail
        (a database error); returns the hosts of the instances it hit."""
        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and instance.task_state is None and
                    kwargs.get('expected_task_state') ==
                    [task_states.MIGRATING]):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        self.useFixture(fixtures.MockPatchObject(objects.Instance, 'save',
                                                 save))
        return failed

    def test_refusal_whose_reset_is_not_saved_is_freed_by_the_api(self):
        # The conductor refuses the move, and the last step of its undo,
        # freeing the instance from 'migrating', fails once. The API,
        # which waited for the answer, frees it again before answering.
        self.boot_on('compute-b', name='squatter')
        server = self.boot_on('compute-a')
        before = self.snapshot()
        failed = self._fail_first_release()
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.live_migrate, server,
                                host='compute-b', force=True)
        self.assertIn('compute-b', str(err))
        self.assertEqual(['compute-a'], failed)
        self.assert_source_intact(server, {})
        self.assertEqual(before, self.snapshot())

    def test_async_refusal_whose_reset_is_not_saved_is_settled(self):
        # The same with nobody waiting for the conductor (a cast): the
        # migration ends 'error' and the instance stays 'migrating' (a
        # delete is refused) until the source's recovery sweep frees it.
        self.boot_on('compute-b', name='squatter')
        server = self.boot_on('compute-a')
        before = self.snapshot()
        failed = self._fail_first_release()
        migration = self.api.live_migrate(self.context, server,
                                          host_name='compute-b', force=True,
                                          async_=True)
        self.wait_for_status(migration, 'error')
        self.assertEqual(['compute-a'], failed)
        stuck = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual(task_states.MIGRATING, stuck.task_state)
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, self.context, stuck)

        self.manager('compute-a')._recover_moves(self.context,
                                                 startup=True)
        self.assert_source_intact(server, {})
        self.assertEqual(before, self.snapshot())
        rc, out = self.audit()
        self.assertEqual(0, rc, out)


class TestLiveMigrationRollback(LiveMigrationTestBase):

    def _start(self, bandwidth=None, dirty_pages_per_second=0):
        server = self.boot_on('compute-a')
        digests = self.fill_namespaces(server, b'keep me')
        if bandwidth:
            base.emulator.get_host('compute-a').configure(
                default_bandwidth=bandwidth)
        if dirty_pages_per_second:
            base.emulator.get_host('compute-a').set_workload(
                server.uuid, dirty_pages_per_second=dirty_pages_per_second)
            digests = {}  # the guest changes its own data
        before = self.snapshot()
        return server, digests, before

    def _check_rolled_back(self, server, digests, before, migration,
                           status):
        migration = self.wait_for_status(migration, status)
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assert_source_intact(server, digests)
        self.assert_free_and_erased('compute-b')
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(before, self.snapshot())

    def test_pre_live_migration_failure(self):
        server, digests, before = self._start()
        dest_driver = self.manager('compute-b').driver

        def broken(*args, **kwargs):
            raise exception.MigrationError(reason='disk on fire')

        dest_driver.pre_live_migration = broken
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_rolled_back(server, digests, before, migration,
                                'failed')

    def test_source_release_not_saved_is_settled_by_recovery(self):
        # The rollback's last step, clearing the instance's 'migrating',
        # fails once: the migration ended, the instance stays 'migrating'
        # and every request on it is refused, until the source's recovery
        # sweep clears it.
        server, digests, before = self._start()
        dest_driver = self.manager('compute-b').driver

        def broken(*args, **kwargs):
            raise exception.MigrationError(reason='disk on fire')

        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and instance.task_state is None and
                    kwargs.get('expected_task_state') ==
                    [task_states.MIGRATING]):
                failed.append(instance.host)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        dest_driver.pre_live_migration = broken
        with mock.patch.object(objects.Instance, 'save', save):
            migration = self.live_migrate(server, host='compute-b',
                                          force=True)
            migration = self.wait_for_status(migration, 'failed')
        self.assertEqual(['compute-a'], failed)
        stuck = objects.Instance.get_by_uuid(self.context, server.uuid)
        self.assertEqual(task_states.MIGRATING, stuck.task_state)
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, self.context, stuck)

        self.manager('compute-a')._recover_moves(self.context,
                                                 startup=True)
        self._check_rolled_back(server, digests, before, migration,
                                'failed')
        # A second sweep finds nothing to settle; the server moves again.
        self.manager('compute-a')._recover_moves(self.context,
                                                 startup=True)
        del dest_driver.pre_live_migration
        again = self.live_migrate(
            self.wait_for_state(server.uuid, vm_states.ACTIVE),
            host='compute-b', force=True)
        self.wait_for_status(again, 'completed')

    def test_destination_record_lets_go_before_its_namespaces_are_freed(self):
        # A namespace freed while the instance record still named it would
        # be named by two records once another migration claimed it.
        server, digests, before = self._start()
        dest = self.manager('compute-b')
        seen = []

        def broken(*args, **kwargs):
            raise exception.MigrationError(reason='disk on fire')

        def give_up(context, resources, instance_uuid, *args, **kwargs):
            record = objects.Instance.get_by_uuid(
                self.context, instance_uuid,
                expected_attrs=['migration_context'])
            seen.append((len(resources), record.migration_context))
            return real_give_up(context, resources, instance_uuid, *args,
                                **kwargs)

        real_give_up = dest.rt.give_up
        dest.driver.pre_live_migration = broken
        dest.rt.give_up = give_up
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_rolled_back(server, digests, before, migration,
                                'failed')
        self.assertEqual([(2, None)], seen)

    def test_job_error_mid_copy(self):
        server, digests, before = self._start(bandwidth=16 * MiB)
        base.emulator.get_host('compute-a').inject_migration_error(
            after_bytes=20 * MiB)
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_rolled_back(server, digests, before, migration,
                                'failed')

    def test_abort_through_the_api(self):
        server, digests, before = self._start(bandwidth=4 * MiB,
                                              dirty_pages_per_second=200)
        migration = self.live_migrate(server, host='compute-b', force=True)
        running = self.wait_for_status(migration, 'running')
        deadline = time.monotonic() + 10
        while (objects.Migration.get_by_id(
                self.context, running.id).memory_processed or 0) == 0:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.api.live_migrate_abort(self.context, server, running.id)
        self._check_rolled_back(server, digests, before, migration,
                                'cancelled')
        workload = base.emulator.find_workload(server.uuid)
        for resource in server.resources:
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad)

    def test_abort_while_preparing(self):
        server, digests, before = self._start()
        dest_driver = self.manager('compute-b').driver
        real_pre = dest_driver.pre_live_migration
        release = threading.Event()

        def slow_pre(*args, **kwargs):
            release.wait(self.TIMEOUT)
            return real_pre(*args, **kwargs)

        dest_driver.pre_live_migration = slow_pre
        migration = self.live_migrate(server, host='compute-b', force=True)
        preparing = self.wait_for_status(migration, 'preparing')
        self.api.live_migrate_abort(self.context, server, preparing.id)
        release.set()
        self._check_rolled_back(server, digests, before, migration,
                                'cancelled')

    def test_destination_record_not_let_go_keeps_the_claim_until_erased(self):
        # The destination cannot make the record let go of its claim: it
        # must not free namespaces the record still names. They stay
        # reserved; once the source's rollback has dropped the claim, the
        # destination's resource update quarantines and erases them and
        # the migration takes the end it had ('cancelled', not 'failed').
        server, digests, before = self._start()
        dest = self.manager('compute-b')
        real_pre = dest.driver.pre_live_migration
        release = threading.Event()

        def slow_pre(*args, **kwargs):
            release.wait(self.TIMEOUT)
            return real_pre(*args, **kwargs)

        real_save = objects.Instance.save
        failed = []

        def save(instance, *args, **kwargs):
            if (not failed and instance.migration_context is None and
                    'migration_context' in instance.obj_what_changed()):
                failed.append(instance.uuid)
                raise db_exc.DBConnectionError('database gone')
            return real_save(instance, *args, **kwargs)

        dest.driver.pre_live_migration = slow_pre
        migration = self.live_migrate(server, host='compute-b', force=True)
        preparing = self.wait_for_status(migration, 'preparing')
        claimed = sorted(r.identifier for r in objects.Instance.get_by_uuid(
            self.context, server.uuid, expected_attrs=['migration_context']
        ).migration_context.new_resources)
        with mock.patch.object(objects.Instance, 'save', save):
            self.api.live_migrate_abort(self.context, server, preparing.id)
            release.set()
            self.wait_for_status(migration, 'error')
            self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual([server.uuid], failed)
        self.assert_source_intact(server, digests)
        # Still the migration's on the destination, not free to anyone,
        # and counted in placement by the quarantine consumer.
        self.assertEqual(claimed, self.rt_assigned('compute-b'))
        self.assertEqual(2, self.placement_usage('compute-b'))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))

        dest.update_available_resource(self.context)
        self.assertEqual({'ns0': 'quarantined', 'ns1': 'quarantined'},
                         dest.rt.namespace_states('compute-b'))
        self.assertEqual(2, self.placement_usage('compute-b'))
        dest.rt.retry_erases(self.context)
        self._check_rolled_back(server, digests, before, migration,
                                'cancelled')

    def test_completion_timeout_with_action_abort(self):
        self.flags(live_migration_completion_timeout=1,
                   live_migration_timeout_action='abort', group='libvirt')
        self.restart_compute('compute-a')
        server, digests, before = self._start(bandwidth=1 * MiB)
        migration = self.live_migrate(server, host='compute-b', force=True)
        self._check_rolled_back(server, digests, before, migration,
                                'failed')


class TestLiveMigrationConvergence(LiveMigrationTestBase):

    def test_force_complete_timeout_action_pauses_and_completes(self):
        self.flags(live_migration_completion_timeout=1,
                   live_migration_timeout_action='force_complete',
                   group='libvirt')
        self.restart_compute('compute-a')
        server = self.boot_on('compute-a')
        host = base.emulator.get_host('compute-a')
        host.configure(default_bandwidth=2 * MiB)
        # 4 MiB/s of writes against 2 MiB/s of bandwidth never converges.
        workload = host.set_workload(server.uuid,
                                     dirty_pages_per_second=1024)
        migration = self.live_migrate(server, host='compute-b', force=True)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual('compute-b', moved.host)
        for resource in moved.resources:
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad)
        self.assert_free_and_erased('compute-a')


class TestLargeVPMEM(LiveMigrationTestBase):

    COMPUTES = {
        'compute-a': ['BIG:ns0'],
        'compute-b': ['BIG:ns0'],
    }
    NAMESPACE_MIB = 64 * 1024  # sparse files: only written pages exist

    def _compute_flags(self, host, namespaces):
        super()._compute_flags(host, namespaces)
        # Two allocated 64 GiB files would not fit a test machine's disk.
        self.flags(pmem_file_preallocate=False, group='libvirt')

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor(name='big', pmem='BIG',
                                         memory_mb=self.FLAVOR_MEMORY_MB)

    def test_large_namespace_is_not_aborted_early(self):
        # 1 s per GiB: RAM alone (16 MiB) would allow 0.02 s; counting the
        # 64 GiB namespace allows 64 s, and the copy takes a few seconds.
        self.flags(live_migration_completion_timeout=1,
                   live_migration_timeout_action='abort', group='libvirt')
        self.restart_compute('compute-a')
        server = self.boot_on('compute-a')
        path = server.resources[0].metadata.devpath
        with open(path, 'r+b') as f:
            f.seek(40 << 30)
            f.write(b'deep data' * 1000)
        base.emulator.get_host('compute-a').configure(
            default_bandwidth=24 << 30)
        migration = self.live_migrate(server, host='compute-b', force=True)
        self.wait_for_status(migration, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        with open(moved.resources[0].metadata.devpath, 'rb') as f:
            f.seek(40 << 30)
            self.assertEqual(b'deep data' * 1000, f.read(9000))
        self.assertGreaterEqual(
            objects.Migration.get_by_id(self.context,
                                        migration.id).memory_total,
            64 << 30)
