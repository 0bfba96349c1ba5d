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
migration ends in ``error`` until that retry succeeds. After a success the
source's erase runs in its resource tracker's erase worker: the migration
is ``completed`` (and the instance action finished) as soon as the
destination has taken over and the source's namespaces are ``erasing``;
a failed erase turns it to ``error`` afterwards.
"""

import threading
import time

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import timeutils

from nova.compute import instance_actions as actions
from nova.compute import moves
from nova.compute import placement_work
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
LIVE = actions.LIVE_MIGRATION
# How long an abort waits for a just-started copy to become abortable.
ABORT_WAIT_SECONDS = 10
# Calls of an idempotent step on the destination (pre_live_migration,
# the handover) that does not answer within rpc_response_timeout: a busy
# destination may still be working on the first one.
DESTINATION_CALL_ATTEMPTS = 2


def _seconds_since(migration):
    """Seconds from the migration's request until now (0 if unknown)."""
    if (not migration.obj_attr_is_set('created_at') or
            migration.created_at is None):
        return 0.0
    return timeutils.delta_seconds(
        timeutils.normalize_time(migration.created_at), timeutils.utcnow())


class LiveMigrationMixin:
    """Live migration methods of the ComputeManager."""

    def _init_live_migration(self):
        # instance uuid -> migration, for abort/force-complete requests.
        self._live_migrations = {}
        self._live_migrations_lock = threading.Lock()
        # Migration ids an abort was asked for.
        self._aborts_requested = set()
        # Migration ids a step of which runs in this process (cold moves;
        # live ones are in _live_migrations).
        self._moves_in_flight = set()
        # One recovery sweep at a time (start, timer, a peer's request).
        self._recovery_lock = threading.Lock()
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
                                           migration, block_migration,
                                           allocations=None):
        """Claim this host's namespaces for the instance; describe the host.

        The conductor already claimed the instance's resources on this
        node in placement (``allocations``, from a 1.6 conductor); the
        tracker assigns exactly those namespaces.
        """
        claimed = self._claim_incoming(context, instance, migration,
                                       allocations)
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

    @actions.wrap_event('compute_pre_live_migration', LIVE)
    def pre_live_migration(self, context, instance, migrate_data):
        """Get this host ready to receive the guest."""
        self._reload(instance)
        migration = migrate_data.migration
        if moves.incoming_resources(instance, migration) is None:
            # A late request: the source gave up waiting and rolled back.
            raise exception.MigrationError(
                reason='instance %s has no claim of migration %s on %s any '
                       'more' % (instance.uuid, migration.uuid, self.host))
        return self.driver.pre_live_migration(
            context, instance, instance.migration_context.new_resources,
            migrate_data)

    @actions.wrap_event('compute_post_live_migration_at_destination', LIVE)
    def post_live_migration_at_destination(self, context, instance,
                                           migration):
        """The guest runs here now: the instance takes this host's values.

        Idempotent: a repeated call (a retry, or the recovery of a move
        whose source or destination stopped at the handover) only makes
        sure the guest is persistent and running here. Whatever the source
        cannot erase afterwards it quarantines in its own records, so the
        migration context is not needed any more.
        """
        self._reload(instance)
        self.driver.post_live_migration_at_destination(context, instance)
        if (instance.host == self.host and
                moves.incoming_resources(instance, migration) is None):
            LOG.info('Instance %s was taken over by %s already',
                     instance.uuid, self.host)
            return
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

    @actions.wrap_event('compute_rollback_live_migration_at_destination',
                        LIVE)
    def rollback_live_migration_at_destination(self, context, instance,
                                               migration, outcome=None):
        """Remove the guest here and erase the namespaces it was given.

        Only the namespaces this host's records assign to the instance
        (its claim: the instance does not live here) are erased, never
        anything looked up by name.
        ``outcome`` is how the migration ends (failed or cancelled); it
        takes that status once a namespace quarantined here is erased.
        Returns True when they were erased and are free; False when the
        guest could not be removed or an erase failed (quarantined).
        Idempotent: once done, there is nothing left to remove or erase.
        """
        self._reload(instance)
        outcome = outcome or Status.FAILED
        try:
            self.driver.rollback_live_migration_at_destination(context,
                                                               instance)
        except Exception:
            # The guest may still run on them: they stay assigned until
            # the resource update finds nobody holds them any more.
            LOG.exception('Could not remove instance %s from destination '
                          '%s; its namespaces stay reserved',
                          instance.uuid, self.host)
            let_go = False
        else:
            let_go = self._let_go_of_claim_record(instance, migration)
        if not let_go:
            self.rt.keep_until_let_go(context, instance.uuid, migration,
                                      outcome)
            return False
        given_up = self.rt.give_up(
            context, self.rt.held_by(instance.uuid),
            instance.uuid, giver=instance.uuid, migration=migration,
            final_status=outcome)
        return given_up.clean

    def _let_go_of_claim_record(self, instance, migration):
        """Drop this host's claim of ``migration`` from the instance record.

        The record lets go before the namespaces are freed: a namespace
        freed while the record still names it would be named by two
        records once another claim takes it. (The source drops the
        context again afterwards; dropping nothing is a no-op.) Returns
        False when the record could not be saved: the namespaces stay
        reserved until the resource update finds nobody holds them.
        """
        if (instance.host == self.host or
                moves.incoming_resources(instance, migration) is None):
            return True
        instance.drop_migration_context()
        try:
            instance.save()
        except Exception:
            LOG.exception('Could not drop the claim of migration %s from '
                          'instance %s; its namespaces on %s stay reserved',
                          migration.uuid, instance.uuid, self.host)
            return False
        return True

    # -- source --------------------------------------------------------------

    def live_migration(self, context, instance, dest, migration,
                       migrate_data):
        """Move the guest to ``dest``; on any failure put everything back."""
        with self._live_migrations_lock:
            self._live_migrations[instance.uuid] = migration
        slots = self._live_migration_slots
        try:
            # Queued (by the conductor) while it waits for a slot.
            if slots is not None:
                slots.acquire()
            try:
                self._do_live_migration(context, instance, dest, migration,
                                        migrate_data)
            finally:
                if slots is not None:
                    slots.release()
        finally:
            with self._live_migrations_lock:
                self._live_migrations.pop(instance.uuid, None)
                self._aborts_requested.discard(migration.id)

    def _abort_requested(self, migration):
        with self._live_migrations_lock:
            return migration.id in self._aborts_requested

    def _roll_back_cancelled(self, context, instance, dest, migration):
        self._rollback_live_migration(
            context, instance, dest, migration,
            exception.LiveMigrationAborted(instance_uuid=instance.uuid),
            status=Status.CANCELLED)

    def _cancelled_before_copy(self, context, instance, dest, migration):
        """Roll back as cancelled if an abort came before the copy."""
        if not self._abort_requested(migration):
            return False
        self._roll_back_cancelled(context, instance, dest, migration)
        return True

    def _take_for_preparing(self, context, instance, dest, migration):
        """Mark the migration 'preparing'; False (it is settled) if it
        must not start.

        One compare-and-swap from 'accepted' or 'queued' decides: an abort
        may have come before this cast (the migration is 'cancelling': it
        ends cancelled here), and a cast that arrives after the recovery
        of its migration (this host restarted meanwhile) is stale.
        """
        migration.status = Status.PREPARING
        try:
            migration.save(expected_status=[Status.ACCEPTED, Status.QUEUED])
            return True
        except exception.MigrationStatusChanged as err:
            # save() left the object holding the row as it is now.
            if migration.status == Status.CANCELLING:
                self._roll_back_cancelled(context, instance, dest, migration)
            else:
                LOG.warning('Not starting live migration %s of %s: %s',
                            migration.uuid, instance.uuid, err)
            return False

    def _do_live_migration(self, context, instance, dest, migration,
                           migrate_data):
        self._reload(instance)
        if not self._take_for_preparing(context, instance, dest, migration):
            return
        if self._cancelled_before_copy(context, instance, dest, migration):
            return
        try:
            migrate_data = self._pre_live_migration(context, instance,
                                                    migrate_data, dest)
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
        self._complete_live_migration(context, instance, dest, migration)

    def _pre_live_migration(self, context, instance, migrate_data, dest):
        """The destination's check of its namespaces (it writes nothing):
        asked again when it did not answer in time, up to
        ``DESTINATION_CALL_ATTEMPTS`` calls."""
        for attempt in range(1, DESTINATION_CALL_ATTEMPTS + 1):
            try:
                return self.compute_rpcapi.pre_live_migration(
                    context, instance, migrate_data, host=dest)
            except messaging.MessagingTimeout:
                if attempt == DESTINATION_CALL_ATTEMPTS:
                    raise
                LOG.info('Destination %s did not answer pre_live_migration '
                         'of %s in time; asking again', dest, instance.uuid)

    def _complete_live_migration(self, context, instance, dest, migration):
        """The guest runs on ``dest``: it takes over, then this side lets go.

        The destination records the instance first; only then are this
        host's namespaces erased, so a failure in between never leaves
        the database pointing at erased data. If the destination cannot
        be told now, the move stays 'post-migrating' and the recovery
        sweep (of either host) finishes it: the guest's location decides.
        """
        migration.status = Status.POST_MIGRATING
        migration.save()
        if self._hand_over(context, instance, dest, migration):
            self._release_source(context, instance, migration)

    def _hand_over(self, context, instance, dest, migration):
        """Have ``dest`` take the instance over; True once it has.

        A call that timed out may still run on a busy destination: if
        the instance is not the destination's yet, the call is made again
        (the destination's step is idempotent), up to
        ``DESTINATION_CALL_ATTEMPTS`` calls. Whatever failed, the instance
        record decides: a destination that took it over despite the error
        lets this side go on. Otherwise the move stays 'post-migrating'
        for the recovery sweep.
        """
        for attempt in range(1, DESTINATION_CALL_ATTEMPTS + 1):
            try:
                self.compute_rpcapi.post_live_migration_at_destination(
                    context, instance, migration, host=dest)
                return True
            except messaging.MessagingTimeout as err:
                error = err
                if attempt == DESTINATION_CALL_ATTEMPTS:
                    break
                if self._taken_over(context, instance, dest, migration):
                    return True
                LOG.info('Destination %s did not answer the handover of %s '
                         'in time; asking again', dest, instance.uuid)
            except Exception as err:
                error = err
                break
        if self._taken_over(context, instance, dest, migration):
            return True
        LOG.warning('Instance %s runs on %s, which could not take it over '
                    'yet (%s); the recovery of migration %s finishes the '
                    'move', instance.uuid, dest, error, migration.uuid)
        return False

    @staticmethod
    def _taken_over(context, instance, dest, migration):
        """Whether the record says ``dest`` took ``instance`` over from
        ``migration`` (False when it cannot be read)."""
        try:
            current = objects.Instance.get_by_uuid(
                context, instance.uuid, expected_attrs=['migration_context'])
        except Exception:
            LOG.exception('Could not read instance %s', instance.uuid)
            return False
        return (current.host == dest and
                moves.incoming_resources(current, migration) is None)

    def _release_source(self, context, instance, migration):
        """Give up what the instance left here after a move; idempotent.

        Its namespaces (those this host's records still assign to it)
        become 'erasing' (no claim can take them) and the migration is
        completed at once: their erase and its check run in this host's
        erase worker, off the user's wait. Once erased they are free (or
        quarantined if that fails) and the migration consumer's
        allocations go (now, or when placement is back): until then
        placement keeps counting them, so it offers them to nobody.
        """
        try:
            self.driver.post_live_migration_at_source(context, instance)
        except Exception:
            # A leftover domain the erase then refuses to touch.
            LOG.exception('Could not remove what instance %s left on %s',
                          instance.uuid, self.host)
        # The migration consumer counted the source's namespaces.
        pending = self.rt.start_give_up(
            self.rt.held_by(instance.uuid), instance.uuid,
            migration=migration, final_status=Status.COMPLETED)
        if not pending.wanted:
            self._source_erased(context, instance.uuid, migration,
                                pending.result)
        migration.status = Status.COMPLETED
        migration.save()
        # The move itself succeeded; a namespace quarantined later is the
        # operator's (nova-manage vpmem), not the user's, problem.
        actions.record_event(context, instance.uuid, 'compute_live_migration',
                             self.host, action=LIVE)
        actions.finish_action(context, instance.uuid, action=LIVE)
        # With the erase's own duration (logged when it ends), what a
        # benchmark of the erase's cost reads.
        LOG.info('Live migration %s of %s to %s completed %.2fs after it '
                 'was requested; source namespaces: %s', migration.uuid,
                 instance.uuid, migration.dest_compute,
                 _seconds_since(migration),
                 'erasing in the background' if pending.wanted
                 else pending.result.describe())
        # Only now: an erase that fails marks the completed move 'error'.
        self.rt.erase_in_background(
            context, pending, giver=migration.uuid,
            then=lambda result: self._source_erased(
                context, instance.uuid, migration, result))

    def _source_erased(self, context, instance_uuid, migration, given_up):
        """The source's erase ended: the migration lets go of this host.

        A quarantined namespace turns the completed migration to 'error'
        until its retried erase succeeds (then it is completed again), as
        for every move whose giving up fails.
        """
        placement_work.delete_allocations(context, self.reportclient,
                                          self.host, migration.uuid)
        if given_up.clean:
            return
        LOG.warning('Live migration %s of %s moved the guest, but the source '
                    '%s could not erase what it gave up: %s; the migration '
                    'is in error until nova-manage vpmem or the periodic '
                    'retry erases it', migration.uuid, instance_uuid,
                    self.host, given_up.describe())
        migration.status = Status.ERROR
        try:
            migration.save(expected_status=[Status.COMPLETED])
        except exception.MigrationStatusChanged as err:
            LOG.warning('Live migration %s not marked error: %s',
                        migration.uuid, err)

    def _rollback_live_migration(self, context, instance, dest, migration,
                                 error, status=Status.FAILED,
                                 dest_clean=None):
        """Undo a failed or cancelled move; the guest stays here.

        The destination removes what it got and erases the namespaces it
        claimed; placement gets the pre-migration allocations back (now,
        or when placement is back). If the destination could not erase,
        it quarantined those namespaces and the migration ends in 'error'
        until a retried erase succeeds (then ``status``). Every step runs
        even when one before it failed, and the instance is never left
        migrating. Idempotent. ``dest_clean``: the destination's answer
        when the caller asked it already (recovery).
        """
        dest_clean = moves.undo_at_destination(
            context, self.reportclient, self.host, instance, migration,
            self.compute_rpcapi.rollback_live_migration_at_destination,
            outcome=status, dest_clean=dest_clean)
        moves.run_step('settle instance %s' % instance.uuid,
                       moves.release_instance, instance,
                       task_states.MIGRATING)
        if status != Status.CANCELLED:
            moves.run_step('record the fault of %s' % instance.uuid,
                           moves.record_fault, context, instance, error,
                           self.host)
        migration.status = status if dest_clean else Status.ERROR
        moves.run_step('end migration %s' % migration.uuid, migration.save)
        # What the user reads in the server's events.
        actions.record_event(context, instance.uuid, 'compute_live_migration',
                             self.host, error=error, action=LIVE)
        actions.finish_action(context, instance.uuid,
                              message=actions.ERROR_MESSAGE, action=LIVE)
        LOG.warning('Live migration of %s to %s ended %s: %s; the instance '
                    'keeps running on %s', instance.uuid, dest,
                    migration.status, error, self.host)

    @actions.wrap_event('compute_live_migration_abort',
                        actions.LIVE_MIGRATION_CANCEL)
    def live_migration_abort(self, context, instance, migration_id):
        """Cancel the running (or about to run) migration of ``instance``.

        A migration that is queued here, or whose cast has not arrived
        yet, is marked 'cancelling': it ends cancelled when it would have
        started (or when the recovery sweep finds it).
        """
        with self._live_migrations_lock:
            migration = self._live_migrations.get(instance.uuid)
            registered = migration is not None and migration.id == migration_id
            self._aborts_requested.add(migration_id)
        if not registered:
            if self._cancel_before_start(context, migration_id):
                return
            with self._live_migrations_lock:
                self._aborts_requested.discard(migration_id)
            raise exception.InstanceNotInMigration(
                instance_uuid=instance.uuid)
        if migration.status != Status.RUNNING:
            return  # the flow sees the request before the copy starts
        self._when_driver_job_registered(
            instance, self.driver.live_migration_abort)

    def _when_driver_job_registered(self, instance, request):
        """Call ``request(instance)`` once the driver watches the copy.

        Between 'running' and the driver registering its job there is a
        window (the pre-flight dirty-rate sample, the destination's
        start), so retry briefly; a migration that ended meanwhile needs
        nothing.
        """
        deadline = time.monotonic() + ABORT_WAIT_SECONDS
        while True:
            try:
                request(instance)
                return
            except exception.InstanceNotInMigration:
                with self._live_migrations_lock:
                    if instance.uuid not in self._live_migrations:
                        return  # it ended meanwhile
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @staticmethod
    def _cancel_before_start(context, migration_id):
        migration = objects.Migration.get_by_id(context, migration_id)
        if migration.status not in (Status.ACCEPTED, Status.QUEUED,
                                    Status.CANCELLING):
            return False
        migration.status = Status.CANCELLING
        try:
            migration.save(expected_status=[Status.ACCEPTED, Status.QUEUED,
                                            Status.CANCELLING])
        except exception.MigrationStatusChanged:
            return False  # it started or ended meanwhile
        LOG.info('Live migration %s of %s is cancelled before it started',
                 migration.uuid, migration.instance_uuid)
        return True

    @actions.wrap_event('compute_live_migration_force_complete',
                        actions.LIVE_MIGRATION_FORCE_COMPLETE)
    def live_migration_force_complete(self, context, instance):
        """Make the running migration converge (pauses a vpmem guest)."""
        with self._live_migrations_lock:
            if instance.uuid not in self._live_migrations:
                raise exception.InstanceNotInMigration(
                    instance_uuid=instance.uuid)
        self._when_driver_job_registered(
            instance, self.driver.live_migration_force_complete)
