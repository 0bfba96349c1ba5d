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

"""The compute side of live migration, on both hosts.

Read with ``nova/conductor/tasks/live_migrate.py`` (before) and
``nova/virt/libvirt/migration.py`` (the hypervisor part). By the time the
source is asked to migrate, the conductor has moved the instance's source
allocations to the migration consumer and claimed the destination in
placement, and the destination's resource tracker has stored which of its
namespaces the instance gets in ``instance.migration_context``.

Destination: ``check_can_live_migrate_destination`` (claim),
``pre_live_migration``, ``post_live_migration_at_destination``,
``rollback_live_migration_at_destination``,
``drop_move_claim_at_destination``.

Source: ``live_migration`` runs the whole move and then either
``_post_live_migration`` (success) or ``_rollback_live_migration``.

Every namespace a side gives up is erased by that side's resource
tracker before it is free again; one that cannot be erased is quarantined
(never handed out, counted in placement, erased again later) and the
migration ends in ``error`` until that retry succeeds.
"""

import threading
import time

from oslo_log import log as logging

from nova.compute import moves
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import objects
from nova.objects import fields

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

Status = fields.MigrationStatus
# How long an abort waits for a just-started copy to become abortable.
ABORT_WAIT_SECONDS = 10


class LiveMigrationMixin:
    """Live migration methods of the ComputeManager."""

    def _init_live_migration(self):
        # instance uuid -> migration, for abort/force-complete requests.
        self._live_migrations = {}
        self._live_migrations_lock = threading.Lock()
        self._aborts_requested = set()
        limit = CONF.max_concurrent_live_migrations
        self._live_migration_slots = (
            threading.BoundedSemaphore(limit) if limit > 0 else None)

    def _nodename(self):
        # One node per libvirt host.
        return self.driver.get_available_nodes()[0]

    @staticmethod
    def _reload(instance):
        # The destination wrote the migration context after the caller
        # loaded the instance: read it back instead of trusting a copy.
        instance.refresh()
        if not instance.obj_attr_is_set('migration_context'):
            instance.migration_context = objects.Instance.get_by_uuid(
                instance._context, instance.uuid,
                expected_attrs=['migration_context']).migration_context
        return instance

    # -- destination ---------------------------------------------------------

    def check_can_live_migrate_destination(self, context, instance,
                                           migration, block_migration):
        """Claim this host's namespaces for the instance; describe the host.

        The conductor already claimed the instance's resources on this
        node in placement; the tracker assigns exactly those namespaces.
        """
        claimed = self._claim_incoming(context, instance, migration)
        try:
            migrate_data = self.driver.check_can_live_migrate_destination(
                context, instance, block_migration)
        except Exception:
            self.rt.drop_move_claim(context, instance, migration)
            raise
        migrate_data.migration = migration
        migrate_data.dst_vpmems = [r.metadata for r in claimed]
        return migrate_data

    def drop_move_claim_at_destination(self, context, instance, migration):
        """Release a claim made by the destination check (nothing copied)."""
        self._reload(instance)
        self.rt.drop_move_claim(context, instance, migration)

    def pre_live_migration(self, context, instance, migrate_data):
        """Get this host ready to receive the guest."""
        self._reload(instance)
        return self.driver.pre_live_migration(
            context, instance, instance.migration_context.new_resources,
            migrate_data)

    def post_live_migration_at_destination(self, context, instance,
                                           migration):
        """The guest runs here now: the instance takes this host's values.

        Whatever the source could not erase is quarantined in its own
        records, so the migration context is not needed any more.
        """
        self._reload(instance)
        self.driver.post_live_migration_at_destination(context, instance)
        instance.apply_migration_context()
        instance.drop_migration_context()
        instance.host = self.host
        instance.node = self._nodename()
        instance.power_state = self.driver.get_info(instance).state
        if instance.power_state == power_state.RUNNING:
            instance.vm_state = vm_states.ACTIVE
        instance.task_state = None
        instance.save(expected_task_state=[task_states.MIGRATING])
        LOG.info('Instance %s now runs on %s', instance.uuid, self.host)

    def rollback_live_migration_at_destination(self, context, instance,
                                               migration, outcome=None):
        """Remove the guest here and erase the namespaces it was given.

        Only the namespaces of this host's claim (the migration context's
        new resources) are erased, never anything looked up by name.
        ``outcome`` is how the migration ends (failed or cancelled); it
        takes that status once a namespace quarantined here is erased.
        Returns True when they were erased and are free; False when the
        guest could not be removed or an erase failed (quarantined).
        """
        self._reload(instance)
        dest_resources = moves.incoming_resources(instance, migration)
        try:
            self.driver.rollback_live_migration_at_destination(context,
                                                               instance)
        except Exception:
            # The guest may still run on them: they stay assigned until
            # the resource update finds nobody holds them any more.
            LOG.exception('Could not remove instance %s from destination '
                          '%s; its namespaces stay reserved',
                          instance.uuid, self.host)
            return False
        given_up = self.rt.give_up(
            context, dest_resources, instance.uuid, giver=instance.uuid,
            migration=migration, final_status=outcome or Status.FAILED)
        return given_up.clean

    # -- source --------------------------------------------------------------

    def live_migration(self, context, instance, dest, migration,
                       migrate_data):
        """Move the guest to ``dest``; on any failure put everything back."""
        slots = self._live_migration_slots
        if slots is not None:
            migration.status = Status.QUEUED
            migration.save()
            slots.acquire()
        try:
            with self._live_migrations_lock:
                self._live_migrations[instance.uuid] = migration
            self._do_live_migration(context, instance, dest, migration,
                                    migrate_data)
        finally:
            with self._live_migrations_lock:
                self._live_migrations.pop(instance.uuid, None)
                self._aborts_requested.discard(instance.uuid)
            if slots is not None:
                slots.release()

    def _abort_requested(self, instance):
        with self._live_migrations_lock:
            return instance.uuid in self._aborts_requested

    def _cancelled_before_copy(self, context, instance, dest, migration):
        """Roll back as cancelled if an abort came before the copy."""
        if not self._abort_requested(instance):
            return False
        self._rollback_live_migration(
            context, instance, dest, migration,
            exception.LiveMigrationAborted(instance_uuid=instance.uuid),
            status=Status.CANCELLED)
        return True

    def _do_live_migration(self, context, instance, dest, migration,
                           migrate_data):
        self._reload(instance)
        migration.status = Status.PREPARING
        migration.save()
        try:
            migrate_data = self.compute_rpcapi.pre_live_migration(
                context, instance, migrate_data, host=dest)
        except Exception as err:
            LOG.exception('pre_live_migration of %s on %s failed',
                          instance.uuid, dest)
            self._rollback_live_migration(context, instance, dest,
                                          migration, err)
            return
        if self._cancelled_before_copy(context, instance, dest, migration):
            return
        migration.status = Status.RUNNING
        migration.save()
        if self._cancelled_before_copy(context, instance, dest, migration):
            return
        try:
            self.driver.live_migration(
                context, instance, dest, migration, migrate_data,
                instance.migration_context.new_resources)
        except exception.LiveMigrationAborted as err:
            self._rollback_live_migration(context, instance, dest,
                                          migration, err,
                                          status=Status.CANCELLED)
            return
        except Exception as err:
            LOG.error('Live migration of %s to %s failed: %s',
                      instance.uuid, dest, err)
            self._rollback_live_migration(context, instance, dest,
                                          migration, err)
            return
        try:
            self._post_live_migration(context, instance, dest, migration)
        except Exception:
            # The guest already runs on the destination: nothing to roll
            # back, but the record must not claim the move is running.
            LOG.exception('Finishing the live migration of %s to %s failed',
                          instance.uuid, dest)
            migration.status = Status.ERROR
            migration.save()

    def _post_live_migration(self, context, instance, dest, migration):
        """The guest runs on ``dest``: erase this side's namespaces.

        One that cannot be erased is quarantined, and the migration ends
        in ``error`` until a retried erase succeeds (then ``completed``).
        """
        source_resources = instance.migration_context.old_resources
        try:
            self.driver.post_live_migration_at_source(context, instance)
        except Exception:
            # A leftover domain the erase below then refuses to touch.
            LOG.exception('Could not remove what instance %s left on %s',
                          instance.uuid, self.host)
        # The migration consumer counted the source's namespaces.
        given_up = self.rt.give_up(
            context, source_resources, instance.uuid, giver=migration.uuid,
            migration=migration, final_status=Status.COMPLETED)
        if not given_up.clean:
            migration.status = Status.ERROR
            migration.save()

        self.compute_rpcapi.post_live_migration_at_destination(
            context, instance, migration, host=dest)
        self.reportclient.delete_allocations(context, migration.uuid)
        if given_up.clean:
            migration.status = Status.COMPLETED
            migration.save()
        LOG.info('Live migration of %s to %s completed; source namespaces: '
                 '%s', instance.uuid, dest, given_up.describe())

    def _rollback_live_migration(self, context, instance, dest, migration,
                                 error, status=Status.FAILED):
        """Undo a failed or cancelled move; the guest stays here.

        The destination removes what it got and erases the namespaces it
        claimed; placement gets the pre-migration allocations back. If the
        destination could not erase, it quarantined those namespaces and
        the migration ends in ``error`` until a retried erase succeeds
        (then ``status``).
        """
        dest_clean = moves.undo_at_destination(
            context, self.reportclient, instance, migration,
            self.compute_rpcapi.rollback_live_migration_at_destination,
            outcome=status)
        instance.task_state = None
        instance.save(expected_task_state=[task_states.MIGRATING])
        migration.status = status if dest_clean else Status.ERROR
        migration.save()
        LOG.warning('Live migration of %s to %s ended %s: %s; the instance '
                    'keeps running on %s', instance.uuid, dest,
                    migration.status, error, self.host)

    def live_migration_abort(self, context, instance, migration_id):
        """Cancel the running (or about to run) migration of ``instance``."""
        with self._live_migrations_lock:
            migration = self._live_migrations.get(instance.uuid)
            if migration is None or migration.id != migration_id:
                raise exception.InstanceNotInMigration(
                    instance_uuid=instance.uuid)
            self._aborts_requested.add(instance.uuid)
        if migration.status != Status.RUNNING:
            return  # the flow sees the request before the copy starts
        # Between 'running' and the driver registering its job there is a
        # short window; the request is recorded, so retry briefly.
        deadline = time.monotonic() + ABORT_WAIT_SECONDS
        while True:
            try:
                self.driver.live_migration_abort(instance)
                return
            except exception.InstanceNotInMigration:
                with self._live_migrations_lock:
                    if instance.uuid not in self._live_migrations:
                        return  # it ended meanwhile
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def live_migration_force_complete(self, context, instance):
        """Make the running migration converge (pauses a vpmem guest)."""
        with self._live_migrations_lock:
            if instance.uuid not in self._live_migrations:
                raise exception.InstanceNotInMigration(
                    instance_uuid=instance.uuid)
        self.driver.live_migration_force_complete(instance)
