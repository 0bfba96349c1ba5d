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

"""Tenant safety: a namespace whose erase fails is never handed out.

Real placement, the real DB layer, fake:// RPC, emulated hosts whose
namespaces are files, the real driver and resource trackers; the only
fault injected is in the file backend's erase of one named namespace (an
I/O error, or a tool that reports success and leaves the data).

Each scenario writes one tenant's pattern into a namespace, makes its
erase fail at one point of the lifecycle (after a live migration on the
source, after a rollback on the destination, on delete, on resize
confirm), then follows with another migration of the same instance, its
deletion, and boots of another project on that host, and reads the
namespace files: the pattern is never given to anyone, the namespace is
quarantined until a retried erase succeeds, and ``nova-manage vpmem
audit`` is clean only after that.
"""

import threading

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.compute import vm_states
from nova import context as nova_context
from nova.db import api as db
from nova import exception
from nova import objects
from nova.scheduler.client import report
from nova.tests.functional import base
from nova.tests.functional import test_live_migration as lm_base

RC = lm_base.RC
MiB = 1 << 20
PATTERN = b'tenant-A secret '
A, B = 'compute-a', 'compute-b'


class EraseFault(fixtures.Fixture):
    """Make the erase of some namespaces of one host fail.

    ``mode`` 'error': the erase tool fails (an I/O error); 'silent': it
    reports success and leaves every byte, which only the verification
    after the erase can catch.
    """

    def __init__(self, driver, names, mode='error'):
        super().__init__()
        self.driver = driver
        self.names = set(names)
        self.mode = mode
        self.attempts = 0

    def heal(self):
        """The cause is fixed: erases work again."""
        self.names = set()

    def _setUp(self):
        backend = self.driver.namespaces._backend
        real = type(backend).erase

        def erase(this, device):
            if this is not backend or device.name not in self.names:
                return real(this, device)
            self.attempts += 1
            if self.mode == 'error':
                raise exception.VPMEMCleanupFailed(
                    dev=device.name, error='injected: I/O error on the '
                                           'device')

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.vpmem_backends.FileBackend.erase', erase))


class LifecycleTestBase(lm_base.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.single = self.create_flavor(name='single', pmem='SMALL',
                                         memory_mb=self.FLAVOR_MEMORY_MB)
        self.other_project = nova_context.RequestContext(
            user_id='other-user', project_id='other-project', is_admin=True)

    # -- tenants and their bytes ------------------------------------------

    def boot_as(self, context, host, flavor=None, name='server',
                expect=vm_states.ACTIVE):
        others = [h for h in self.computes if h != host]
        for other in others:
            self._set_disabled(other, True)
        try:
            instance = self.api.create(context, flavor or self.single, name)
            return self.wait_for_state(instance.uuid, expect)
        finally:
            for other in others:
                self._set_disabled(other, False)

    def tenant_writes(self, instance):
        """The tenant fills its only namespace with PATTERN."""
        resource = instance.resources[0]
        with open(resource.metadata.devpath, 'r+b') as f:
            f.write(PATTERN * (MiB // len(PATTERN)))
        return resource.identifier

    def holds_pattern(self, host, name):
        with open(self.namespace_path(host, name), 'rb') as f:
            return f.read(len(PATTERN)) == PATTERN

    def fail_erase(self, host, name, mode='error'):
        return self.useFixture(EraseFault(self.manager(host).driver, [name],
                                          mode=mode))

    def quarantine_by_delete(self, mode='error'):
        """A tenant's server on A deleted while its erase fails.

        Returns (server, namespace name, the fault).
        """
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        fault = self.fail_erase(A, name, mode=mode)
        self.api.delete(self.context, server)
        # The delete goes through; the namespace stays behind, held.
        self.wait_for_deleted(server.uuid)
        return server, name, fault

    # -- what the owners of state say --------------------------------------

    def record(self, host, name):
        return objects.VPMEMNamespaceList.get_by_filters(
            self.context, {'host': host, 'name': name})[0]

    def hold(self, host):
        return self.reportclient.get_quarantine_hold(
            self.context, self.node(host).uuid).get(RC, 0)

    def assert_quarantined(self, host, name, with_data=True):
        """Held out of use everywhere, with the tenant's bytes in it."""
        self.run_periodic(host)
        record = self.record(host, name)
        self.assertEqual('quarantined', record.state)
        self.assertIn('injected', record.reason)
        self.assertNotIn(name, self.rt_assigned(host))
        self.assertNotIn(name, [r.identifier for r in self.manager(
            host).rt.free_resources(host, RC)])
        self.assertEqual(1, self.hold(host))
        if with_data:
            self.assertTrue(self.holds_pattern(host, name))
        return record

    def migration_status(self, migration):
        # Also once the instance (and its migrations) are deleted.
        history = self.context.elevated()
        history.read_deleted = 'yes'
        return objects.Migration.get_by_id(history, migration.id).status

    def assert_free_and_zero(self, host, name):
        self.assertEqual('free', self.record(host, name).state)
        self.assertTrue(self.namespace_is_zero(host, name))

    def assert_consistent(self, host):
        """Placement counts every namespace that is not free."""
        self.run_periodic(host)
        states = self.manager(host).rt.namespace_states(host)
        in_use = sum(1 for state in states.values() if state != 'free')
        self.assertEqual(in_use, self.placement_usage(host),
                         'placement disagrees with %s: %s' % (host, states))

    # -- nova-manage vpmem --------------------------------------------------

    def retry_erase(self, host, name):
        return self.manage('retry_erase', host, name, 30)

    def assert_audit_flags(self, host, name):
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('quarantined  %s  %s (%s)' % (host, name, RC), out)
        self.assertIn('nova-manage vpmem retry-erase %s %s' % (host, name),
                      out)

    def retry_and_check_clean(self, host, name, fault):
        # Still failing: the retry says so and nothing changes.
        rc, out = self.retry_erase(host, name)
        self.assertEqual(1, rc, out)
        self.assertIn('still quarantined', out)
        self.assertTrue(self.holds_pattern(host, name))
        self.assertEqual(2, self.record(host, name).erase_attempts)
        # The cause is fixed: the retry erases, verifies, frees.
        fault.heal()
        rc, out = self.retry_erase(host, name)
        self.assertEqual(0, rc, out)
        self.assertIn('erased, verified and free', out)
        self.assert_free_and_zero(host, name)
        self.assertEqual(0, self.hold(host))
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        self.assertIn('audit: clean', out)


class TestEraseFailures(LifecycleTestBase):

    def test_source_erase_fails_after_live_migration(self):
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        fault = self.fail_erase(A, name)
        migration = self.live_migrate(server, host=B, force=True)
        self.wait_for_status(migration, 'error')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(B, moved.host)
        self.assertIsNone(moved.migration_context)
        self.assertTrue(self.holds_pattern(B, moved.resources[0].identifier))
        record = self.assert_quarantined(A, name)
        self.assertEqual((server.uuid, migration.uuid, 'completed'),
                         (record.instance_uuid, record.migration_uuid,
                          record.migration_final_status))
        # The source's allocations went; only the hold counts the unit.
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assert_audit_flags(A, name)

        # The same instance moves again: it gets the other namespace and
        # the quarantine outlives its new migration.
        back = self.live_migrate(moved, host=A, force=True)
        self.wait_for_status(back, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, moved.host)
        self.assertNotEqual(name, moved.resources[0].identifier)
        self.assert_quarantined(A, name)

        # Its deletion erases what it holds now, not the quarantined one.
        kept = moved.resources[0].identifier
        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        self.assert_free_and_zero(A, kept)
        self.assert_quarantined(A, name)

        # Another project never gets the tenant's bytes.
        other = self.boot_as(self.other_project, A, name='other')
        self.assertEqual(kept, other.resources[0].identifier)
        self.assertTrue(self.namespace_is_zero(A, kept))
        full = self.boot_as(self.other_project, A, name='full',
                            expect=vm_states.ERROR)
        self.assertIn('No valid host', full.fault.message)
        self.assert_consistent(A)

        self.retry_and_check_clean(A, name, fault)
        self.assertEqual('completed', self.migration_status(migration))
        self.assert_consistent(A)

    def test_destination_erase_fails_after_rollback(self):
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        # The destination claims its first free namespace: ns0.
        fault = self.fail_erase(B, 'ns0')
        # The copy breaks once RAM (16 MiB) and the start of the
        # namespace, the tenant's pattern, reached the destination.
        base.emulator.get_host(A).configure(default_bandwidth=64 * MiB)
        base.emulator.get_host(A).inject_migration_error(
            after_bytes=self.FLAVOR_MEMORY_MB * MiB + 2 * MiB)
        migration = self.live_migrate(server, host=B, force=True)
        self.wait_for_status(migration, 'error')
        back = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertTrue(self.holds_pattern(A, back.resources[0].identifier))
        record = self.assert_quarantined(B, 'ns0')
        self.assertEqual('failed', record.migration_final_status)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assert_audit_flags(B, 'ns0')

        again = self.live_migrate(back, host=B, force=True)
        self.wait_for_status(again, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(['ns1'], [r.identifier for r in moved.resources])
        self.assert_quarantined(B, 'ns0')
        # B is full for everyone: its other namespace is not offered.
        full = self.boot_as(self.other_project, B, name='full',
                            expect=vm_states.ERROR)
        self.assertIn('No valid host', full.fault.message)

        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        self.assert_free_and_zero(B, 'ns1')
        other = self.boot_as(self.other_project, B, name='other')
        self.assertEqual(['ns1'], [r.identifier for r in other.resources])
        self.assertTrue(self.namespace_is_zero(B, 'ns1'))
        self.assert_consistent(B)

        self.retry_and_check_clean(B, 'ns0', fault)
        self.assertEqual('failed', self.migration_status(migration))

    def test_erase_fails_on_delete(self):
        server, name, fault = self.quarantine_by_delete()
        self.assertEqual({}, self.consumer_allocations(server.uuid))
        record = self.assert_quarantined(A, name)
        self.assertEqual(server.uuid, record.instance_uuid)
        self.assertIsNone(record.migration_uuid)
        self.assert_audit_flags(A, name)

        other = self.boot_as(self.other_project, A, name='other')
        self.assertNotEqual(name, other.resources[0].identifier)
        self.assertTrue(self.namespace_is_zero(
            A, other.resources[0].identifier))
        full = self.boot_as(self.other_project, A, name='full',
                            expect=vm_states.ERROR)
        self.assertIn('No valid host', full.fault.message)
        self.assert_consistent(A)

        self.retry_and_check_clean(A, name, fault)
        # Free again, and given out clean.
        self.api.delete(self.other_project, full)
        late = self.boot_as(self.other_project, A, name='late')
        self.assertEqual(name, late.resources[0].identifier)
        self.assertFalse(self.holds_pattern(A, name))
        self.assert_consistent(A)

    def test_erase_fails_on_resize_confirm(self):
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        migration = self.api.migrate(self.context, server, host_name=B)
        self.wait_for_state(server.uuid, vm_states.RESIZED)
        self.wait_for_status(migration, 'finished')
        fault = self.fail_erase(A, name)
        resized = self.api.get(self.context, server.uuid)
        self.api.confirm_resize(self.context, resized, wait=True)
        self.wait_for_status(migration, 'error')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(B, moved.host)
        self.assertIsNone(moved.migration_context)
        record = self.assert_quarantined(A, name)
        self.assertEqual('confirmed', record.migration_final_status)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assert_audit_flags(A, name)

        back = self.live_migrate(moved, host=A, force=True)
        self.wait_for_status(back, 'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertNotEqual(name, moved.resources[0].identifier)
        self.api.delete(self.context, moved)
        self.wait_for_deleted(server.uuid)
        self.assert_quarantined(A, name)
        other = self.boot_as(self.other_project, A, name='other')
        self.assertNotEqual(name, other.resources[0].identifier)
        self.assertTrue(self.namespace_is_zero(
            A, other.resources[0].identifier))
        self.assert_consistent(A)

        self.retry_and_check_clean(A, name, fault)
        self.assertEqual('confirmed', self.migration_status(migration))

    def test_erase_that_leaves_the_data_is_caught_by_the_check(self):
        _server, name, fault = self.quarantine_by_delete(mode='silent')
        self.assertEqual(1, fault.attempts)
        record = self.record(A, name)
        self.assertEqual('quarantined', record.state)
        self.assertIn('still holds data', record.reason)
        self.assertTrue(self.holds_pattern(A, name))
        other = self.boot_as(self.other_project, A, name='other')
        self.assertNotEqual(name, other.resources[0].identifier)

    def test_destination_erase_fails_on_revert(self):
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        migration = self.api.migrate(self.context, server, host_name=B)
        self.wait_for_state(server.uuid, vm_states.RESIZED)
        self.wait_for_status(migration, 'finished')
        copied = self.api.get(self.context, server.uuid)
        dest_name = copied.resources[0].identifier
        self.assertTrue(self.holds_pattern(B, dest_name))
        fault = self.fail_erase(B, dest_name)
        self.api.revert_resize(self.context, copied)
        self.wait_for_status(migration, 'error')
        back = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertIsNone(back.migration_context)
        # The guest runs on its source's data, with its source allocations.
        self.assertTrue(self.holds_pattern(A, back.resources[0].identifier))
        self.assertEqual([self.node(A).uuid],
                         list(self.consumer_allocations(server.uuid)))
        record = self.assert_quarantined(B, dest_name)
        self.assertEqual('reverted', record.migration_final_status)
        # The server goes on: it may be deleted at once.
        self.api.delete(self.context, back)
        self.wait_for_deleted(server.uuid)
        self.retry_and_check_clean(B, dest_name, fault)
        self.assertEqual('reverted', self.migration_status(migration))

    def test_destination_erase_fails_after_cold_rollback(self):
        # The copy reached the destination, then the guest would not
        # start there: the rollback's erase of the copy fails.
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        fault = self.fail_erase(B, 'ns0')

        def broken(*args, **kwargs):
            raise exception.InstanceSpawnFailed(instance_uuid=server.uuid,
                                                reason='qemu on fire')

        self.manager(B).driver.spawn = broken
        migration = self.api.migrate(self.context, server, host_name=B)
        self.wait_for_status(migration, 'error')
        back = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertIsNone(back.migration_context)
        self.assertTrue(self.holds_pattern(A, back.resources[0].identifier))
        record = self.assert_quarantined(B, 'ns0')
        self.assertEqual('failed', record.migration_final_status)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assert_audit_flags(B, 'ns0')
        # The server goes on: it may be deleted at once.
        self.api.delete(self.context, back)
        self.wait_for_deleted(server.uuid)
        self.retry_and_check_clean(B, 'ns0', fault)
        self.assertEqual('failed', self.migration_status(migration))


class TestOtherFailures(LifecycleTestBase):
    """The rest of the troubleshooting guide's table, one row each."""

    def test_failed_build_whose_erase_fails(self):
        driver = self.manager(A).driver
        real_spawn = driver.spawn

        def spawn_then_fail(context, instance, image_meta=None):
            real_spawn(context, instance, image_meta=image_meta)
            for resource in instance.resources:
                with open(resource.metadata.devpath, 'r+b') as f:
                    f.write(PATTERN)
            raise exception.InstanceSpawnFailed(
                instance_uuid=instance.uuid, reason='injected: no boot')

        driver.spawn = spawn_then_fail
        self.fail_erase(A, 'ns0')
        failed = self.boot_as(self.context, A, expect=vm_states.ERROR)
        self.assertIn('injected: no boot', failed.fault.message)
        self.assertIsNone(failed.resources)
        self.assertEqual({}, self.consumer_allocations(failed.uuid))
        self.assert_quarantined(A, 'ns0')
        self.assertEqual([], self.domain_hosts(failed.uuid))

    def test_guest_that_cannot_be_removed_keeps_everything(self):
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        driver = self.manager(A).driver
        real_destroy = driver.destroy

        def stuck(context, instance):
            raise exception.InstanceDestroyFailed(
                instance_uuid=instance.uuid, reason='injected: stuck')

        driver.destroy = stuck
        self.api.delete(self.context, server)
        errored = self.wait_for_state(server.uuid, vm_states.ERROR)
        self.assertIn('injected: stuck', errored.fault.message)
        self.assertEqual('assigned', self.record(A, name).state)
        self.assertTrue(self.holds_pattern(A, name))
        self.assert_consistent(A)
        # Deleting again retries.
        driver.destroy = real_destroy
        self.api.delete(self.context, errored)
        self.wait_for_deleted(server.uuid)
        self.assert_free_and_zero(A, name)

    def test_destination_that_cannot_remove_its_guest(self):
        server = self.boot_as(self.context, A)
        dest_driver = self.manager(B).driver

        def broken_pre(*args, **kwargs):
            raise exception.MigrationError(reason='injected: no room')

        def stuck(context, instance):
            raise exception.InstanceDestroyFailed(
                instance_uuid=instance.uuid, reason='injected: stuck')

        dest_driver.pre_live_migration = broken_pre
        dest_driver.rollback_live_migration_at_destination = stuck
        migration = self.live_migrate(server, host=B, force=True)
        self._assert_b_claim_held_then_erased(server, migration)

    def _assert_b_claim_held_then_erased(self, server, migration):
        """The migration to B ended in error with B's claim reserved: the
        guest is back on A, the record names no claim, and B's claim is
        held until B's next resource update finds nobody holds it, then
        erased by the next retry."""
        self.wait_for_status(migration, 'error')
        back = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual(A, back.host)
        self.assertIsNone(back.migration_context)
        self.assertEqual('assigned', self.record(B, 'ns0').state)
        # Counted in placement all along, by B's quarantine consumer: the
        # audit finds only what the resource update will quarantine.
        self.assertEqual(1, self.hold(B))
        _rc, out = self.audit()
        self.assertIn('no longer holds it', out)
        self.assertNotIn('quarantine consumer', out)
        self.run_periodic(B)
        record = self.record(B, 'ns0')
        self.assertEqual('quarantined', record.state)
        self.assertIn('no longer holds it', record.reason)
        self.assertEqual(1, self.hold(B))
        self.assert_consistent(B)
        self.assertEqual({'ns0': True},
                         self.manager(B).rt.retry_erases(self.context))
        self.assert_free_and_zero(B, 'ns0')
        # Nothing is left behind: the migration takes its real end.
        self.wait_for_status(migration, 'failed')

    def test_destination_that_cannot_save_the_instance_record(self):
        # The record must let go of B's claim before B frees it; a save
        # that fails keeps the namespace reserved instead.
        server = self.boot_as(self.context, A)
        manager = self.manager(B)
        rolling_back = threading.local()
        real_save = objects.Instance.save
        real_rollback = manager.rollback_live_migration_at_destination

        def broken_pre(*args, **kwargs):
            raise exception.MigrationError(reason='injected: no room')

        def save(instance, *args, **kwargs):
            if getattr(rolling_back, 'now', False):
                raise exception.NovaException('injected: database gone')
            return real_save(instance, *args, **kwargs)

        def rollback(*args, **kwargs):
            rolling_back.now = True
            try:
                return real_rollback(*args, **kwargs)
            finally:
                rolling_back.now = False

        manager.driver.pre_live_migration = broken_pre
        self.useFixture(base._AttributeFixture(objects.Instance, 'save',
                                               save))
        self.useFixture(base._AttributeFixture(
            manager, 'rollback_live_migration_at_destination', rollback))
        migration = self.live_migrate(server, host=B, force=True)
        # The source drops the claim from the record after all.
        self._assert_b_claim_held_then_erased(server, migration)

    def _cold_migration_whose_guest_will_not_start_on_b(self):
        server = self.boot_as(self.context, A)

        def broken(*args, **kwargs):
            raise exception.InstanceSpawnFailed(instance_uuid=server.uuid,
                                                reason='injected: qemu')

        self.manager(B).driver.spawn = broken
        return server

    def test_cold_rollback_whose_destination_cannot_remove_its_guest(self):
        server = self._cold_migration_whose_guest_will_not_start_on_b()

        def stuck(context, instance):
            raise exception.InstanceDestroyFailed(
                instance_uuid=instance.uuid, reason='injected: stuck')

        self.manager(B).driver.remove_migrated_guest = stuck
        migration = self.api.migrate(self.context, server, host_name=B)
        self._assert_b_claim_held_then_erased(server, migration)

    def test_cold_rollback_whose_destination_cannot_save_the_record(self):
        server = self._cold_migration_whose_guest_will_not_start_on_b()
        manager = self.manager(B)
        rolling_back = threading.local()
        real_save = objects.Instance.save
        real_rollback = manager.rollback_resize_at_destination

        def save(instance, *args, **kwargs):
            if getattr(rolling_back, 'now', False):
                raise exception.NovaException('injected: database gone')
            return real_save(instance, *args, **kwargs)

        def rollback(*args, **kwargs):
            rolling_back.now = True
            try:
                return real_rollback(*args, **kwargs)
            finally:
                rolling_back.now = False

        self.useFixture(base._AttributeFixture(objects.Instance, 'save',
                                               save))
        self.useFixture(base._AttributeFixture(
            manager, 'rollback_resize_at_destination', rollback))
        migration = self.api.migrate(self.context, server, host_name=B)
        # The source drops the claim from the record after all.
        self._assert_b_claim_held_then_erased(server, migration)

    def test_aborted_migration_whose_erase_fails_ends_cancelled(self):
        server = self.boot_as(self.context, A)
        self.tenant_writes(server)
        fault = self.fail_erase(B, 'ns0')
        base.emulator.get_host(A).configure(default_bandwidth=4 * MiB)
        migration = self.live_migrate(server, host=B, force=True)
        running = self.wait_for_status(migration, 'running')
        self.api.live_migrate_abort(self.context, server, running.id)
        self.wait_for_status(migration, 'error')
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        # Aborted while RAM was copied: nothing of the namespace yet, but
        # a failed erase is never taken on trust.
        record = self.assert_quarantined(B, 'ns0', with_data=False)
        self.assertEqual('cancelled', record.migration_final_status)
        fault.heal()
        rc, out = self.retry_erase(B, 'ns0')
        self.assertEqual(0, rc, out)
        self.assertEqual('cancelled', self.migration_status(migration))

    def test_interrupted_erase_is_erased_when_the_service_starts(self):
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        record = self.record(A, name)
        self.stop_compute(A)
        # The service stopped in the middle of the erase of a delete.
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'erasing'})
        db.instance_destroy(self.context, server.uuid)
        base.emulator.open('emulated://%s' % A).lookupByUUIDString(
            server.uuid).destroy()
        self.start_compute(A)
        self.assert_free_and_zero(A, name)


class TestQuarantineLasts(LifecycleTestBase):

    def test_quarantine_survives_a_restart(self):
        _server, name, _fault = self.quarantine_by_delete()
        self.restart_compute(A)
        self.assertEqual('quarantined', self.record(A, name).state)
        self.assertEqual(1, self.hold(A))
        self.assertNotIn(name, [r.identifier for r in self.manager(
            A).rt.free_resources(A, RC)])
        self.assertTrue(self.holds_pattern(A, name))

    def test_periodic_task_retries_with_backoff(self):
        self.flags(vpmem_erase_retry_interval=60, group='compute')
        start = timeutils.utcnow()
        timeutils.set_time_override(start)
        self.addCleanup(timeutils.clear_time_override)
        _server, name, fault = self.quarantine_by_delete()
        manager = self.manager(A)
        timeutils.advance_time_seconds(59)
        manager.retry_vpmem_erases_periodic(self.context)
        self.assertEqual(1, fault.attempts)
        timeutils.advance_time_seconds(1)
        manager.retry_vpmem_erases_periodic(self.context)
        self.assertEqual(2, fault.attempts)
        # The next try waits twice as long.
        timeutils.advance_time_seconds(119)
        manager.retry_vpmem_erases_periodic(self.context)
        self.assertEqual(2, fault.attempts)
        fault.heal()
        timeutils.advance_time_seconds(1)
        manager.retry_vpmem_erases_periodic(self.context)
        self.assert_free_and_zero(A, name)
        self.assertEqual(0, self.hold(A))

    def test_retry_erase_of_a_namespace_that_is_not_quarantined(self):
        self.run_periodic(A)
        err = self.assertRaises(exception.VPMEMNamespaceNotQuarantined,
                                self.retry_erase, A, 'ns0')
        self.assertIn('free', str(err))
        self.assertRaises(exception.VPMEMNamespaceNotFound,
                          self.retry_erase, A, 'nope')

    def test_list_shows_states_and_holders(self):
        _server, name, _fault = self.quarantine_by_delete()
        holder = self.boot_as(self.context, A, name='holder')
        rc, out = self.manage('list', A, None)
        self.assertEqual(0, rc)
        lines = {line.split()[1]: line for line in out.splitlines()[1:]}
        self.assertIn('quarantined', lines[name])
        self.assertIn('injected', lines[name])
        other = holder.resources[0].identifier
        self.assertIn('assigned', lines[other])
        self.assertIn(holder.uuid, lines[other])
        rc, out = self.manage('list', None, 'quarantined')
        self.assertEqual([name], [line.split()[1]
                                  for line in out.splitlines()[1:]])


class TestAudit(LifecycleTestBase):

    def test_clean_cloud_audits_clean(self):
        self.boot_as(self.context, A)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)
        self.assertIn('4 namespace(s) on 2 host(s)', out)

    def test_leaked_assignment_and_orphaned_allocation_are_healed(self):
        # An instance vanished from the database behind nova-compute's
        # back (as a crash between the two writes would leave it): its
        # namespace is still assigned and placement still counts it.
        server = self.boot_as(self.context, A)
        name = self.tenant_writes(server)
        db.instance_destroy(self.context, server.uuid)
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('leaked  %s  %s' % (A, name), out)
        self.assertIn('which no longer exists', out)
        self.assertIn('orphaned  %s  consumer %s' % (A, server.uuid), out)
        self.assertIn('instance %s, which is deleted' % server.uuid, out)

        rc, out = self.audit(heal=True)
        self.assertEqual(1, rc, out)
        self.assertIn('healed: quarantined %s' % name, out)
        self.assertIn('healed: deleted the allocations of consumer %s'
                      % server.uuid, out)
        self.assertIn('healed: set the quarantine consumer', out)
        # Never freed on hope: it waits for a verified erase.
        self.assertTrue(self.holds_pattern(A, name))
        self.assertIn('quarantined  %s  %s' % (A, name), out)
        self.assertEqual(1, self.hold(A))
        self.assertEqual({}, self.consumer_allocations(server.uuid))

        # Its guest still runs on it: the erase is refused, not forced.
        rc, out = self.retry_erase(A, name)
        self.assertEqual(1, rc, out)
        self.assertIn('backs running domain', out)
        self.assertTrue(self.holds_pattern(A, name))
        # The operator removes the stray guest; the retry then erases.
        conn = base.emulator.open('emulated://%s' % A)
        domain = conn.lookupByUUIDString(server.uuid)
        domain.destroy()
        domain.undefine()
        rc, out = self.retry_erase(A, name)
        self.assertEqual(0, rc, out)
        self.assert_free_and_zero(A, name)
        rc, out = self.audit()
        self.assertEqual(0, rc, out)

    def test_double_assignment_is_reported_not_healed(self):
        first = self.boot_as(self.context, A, name='first')
        second = self.boot_as(self.context, A, name='second')
        second.resources = first.resources
        second.save()
        rc, out = self.audit(heal=True)
        self.assertEqual(1, rc, out)
        name = first.resources[0].identifier
        self.assertIn('double-assigned  %s  %s' % (A, name), out)
        self.assertIn('not repaired automatically', out)

    def test_unrecorded_assignment_is_recorded(self):
        server = self.boot_as(self.context, A)
        name = server.resources[0].identifier
        record = self.record(A, name)
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'free', 'instance_uuid': None})
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('unrecorded  %s  %s' % (A, name), out)
        rc, out = self.audit(heal=True)
        self.assertEqual(0, rc, out)
        self.assertEqual(server.uuid, self.record(A, name).instance_uuid)

    def test_holder_mismatch_is_healed_to_the_holder(self):
        first = self.boot_as(self.context, A, name='first')
        second = self.boot_as(self.context, A, name='second')
        name = first.resources[0].identifier
        db.vpmem_namespace_update(self.context, self.record(A, name).id,
                                  {'instance_uuid': second.uuid})
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('holder-mismatch  %s  %s' % (A, name), out)
        self.assertIn('recorded as assigned to instance %s, but instance %s '
                      'holds it' % (second.uuid, first.uuid), out)
        rc, out = self.audit(heal=True)
        self.assertEqual(0, rc, out)
        self.assertEqual(first.uuid, self.record(A, name).instance_uuid)
        self.assertEqual('assigned', self.record(A, name).state)

    def test_consumer_of_an_ended_migration_is_healed_a_stranger_is_not(
            self):
        server = self.boot_as(self.context, A)
        migration = objects.Migration(
            self.context, instance_uuid=server.uuid, source_compute=A,
            source_node=A, dest_compute=B, dest_node=B, status='failed',
            migration_type='live-migration')
        migration.create()
        stranger = uuidutils.generate_uuid()
        for consumer, host in ((migration.uuid, A), (stranger, B)):
            self.assertTrue(self.reportclient.put_allocations(
                self.context, consumer, {self.node(host).uuid: {RC: 1}},
                'someone', 'someone', None))
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('orphaned  %s  consumer %s: migration %s, which is '
                      'failed, still counts' % (A, migration.uuid,
                                                migration.uuid), out)
        self.assertIn('orphaned  %s  consumer %s: an unknown consumer'
                      % (B, stranger), out)
        self.assertIn('not ours: find out who wrote it', out)

        rc, out = self.audit(heal=True)
        self.assertIn('healed: deleted the allocations of consumer %s'
                      % migration.uuid, out)
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        # Never ours to delete: reported again, still counted.
        self.assertEqual(1, rc, out)
        self.assertIn('an unknown consumer %s' % stranger, out)
        self.assertEqual({self.node(B).uuid: {RC: 1}},
                         self.consumer_allocations(stranger))
        self.assertNotIn(migration.uuid, out.split('audit:')[-1])

    def test_placement_that_lost_the_hold_is_corrected(self):
        _server, name, _fault = self.quarantine_by_delete()
        node = self.node(A)
        self.reportclient.delete_allocations(
            self.context, report.quarantine_consumer(node.uuid))
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('it counts nothing; %s:1 namespace(s) are '
                      'quarantined' % RC, out)
        self.assertIn('(sets it to the namespaces quarantined or kept)', out)
        self.audit(heal=True)
        self.assertEqual(1, self.hold(A))
        self.assertEqual('quarantined', self.record(A, name).state)

    def test_placement_unreachable_is_a_problem(self):
        report.configure_token_auth(self.conf, 'http://127.0.0.1:9',
                                    'admin')
        rc, out = self.audit()
        self.assertEqual(1, rc, out)
        self.assertIn('placement could not be read', out)
