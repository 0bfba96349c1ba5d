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

"""The compute side of cold migration, on both hosts.

Read with ``nova/conductor/tasks/migrate.py`` (before) and
``nova/virt/libvirt/cold_migration.py`` (the hypervisor part). When the
source is told to go, the conductor has moved the instance's source
allocations to the migration consumer, claimed the destination in
placement, and the destination's resource tracker has recorded the
namespaces it gives the instance in ``instance.migration_context``.

Unlike upstream Nova, the contents of the instance's vpmem namespaces
travel with it: the guest stops, each namespace is copied to its
counterpart on the destination and checked there by digest, and the
guest starts on the destination.

1. ``prep_resize`` (destination, by the conductor): the claim;
2. ``resize_instance`` (source): stop the guest, ``receive_vpmems`` on the
   destination, send the data, then ``finish_resize`` on the destination,
   which starts the guest there: the server is VERIFY_RESIZE;
3. ``confirm_resize`` (source): the source's guest and the data it left
   are erased and released; or ``revert_resize`` (destination): the
   destination's guest goes and its namespaces are erased, then
   ``finish_revert_resize`` (source) starts the guest again on the data it
   never gave up.

A failure in step 2 undoes everything (``_rollback_cold_migration``): the
destination erases what it may have received, placement gets the source
allocations back, and the guest starts again on the source with its data.
A ``finish_resize`` the destination does not answer in time is not a
failure: it may still be starting the guest there. The source asks again,
and if it still gets no answer leaves the move 'post-migrating' to its
recovery, which finishes or rolls it back according to where the guest
runs. The destination's steps on the incoming guest run one at a time
(``moves.incoming_guest_lock``), and a rollback that finds the guest
taken over there is refused, so the guest never runs on both hosts.
As everywhere, a namespace that cannot be erased is quarantined by its
host's resource tracker rather than given to someone else, and the
migration ends in ``error`` until a retried erase succeeds.
"""

import time

from oslo_log import log as logging
import oslo_messaging as messaging

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
# The copy's progress is written to the migration at most this often.
PROGRESS_INTERVAL_SECONDS = 1.0
# Calls of finish_resize before the source leaves the move to recovery.
DESTINATION_CALL_ATTEMPTS = 2


class _ProgressRecorder:
    """Keeps the migration's byte counters up to date while data moves."""

    def __init__(self, migration):
        self.migration = migration
        self._last = 0.0

    def __call__(self, done, total):
        now = time.monotonic()
        if done < total and now - self._last < PROGRESS_INTERVAL_SECONDS:
            return
        self._last = now
        self.migration.memory_total = total
        self.migration.memory_processed = done
        self.migration.memory_remaining = total - done
        try:
            self.migration.save()
        except Exception:
            # Progress is informative; losing one update is harmless.
            LOG.debug('Could not record the progress of migration %s',
                      self.migration.uuid, exc_info=True)


class ColdMigrationMixin:
    """Cold migration methods of the ComputeManager."""

    # -- destination ---------------------------------------------------------

    @actions.wrap_event('compute_prep_resize', actions.MIGRATE)
    def prep_resize(self, context, instance, migration, allocations=None):
        """Claim this host's namespaces for the instance and check them.

        The conductor already claimed the instance's resources on this
        node in placement; the tracker assigns exactly those namespaces,
        which must match the guest's own in size and alignment since its
        data is carried over as it is.
        """
        claimed = self._claim_incoming(context, instance, migration,
                                       allocations)
        try:
            self.driver.match_vpmems(instance, claimed)
        except Exception:
            self.rt.drop_move_claim(context, instance, migration)
            raise

    def receive_vpmems(self, context, instance, migration):
        """Open this host's claimed namespaces for the source's data.

        Returns the endpoint the source sends to (None: nothing to copy).
        """
        self._reload(instance)
        return self.driver.receive_vpmems(
            instance, instance.migration_context.new_resources)

    @actions.wrap_event('compute_finish_resize', actions.MIGRATE)
    def finish_resize(self, context, instance, migration, image_meta=None):
        """The data is here: start the guest, the instance lives here now.

        Until the guest started nothing in the database changes, so a
        failure leaves the source's rollback a consistent instance.
        Idempotent: a guest started here already (a repeated call, from
        the recovery of a move a stopped service left, or the source
        asking again) is not started again; a call made while another
        runs waits for it. A call that comes after the move was rolled
        back (one its caller stopped waiting for) raises MigrationError
        and starts nothing.
        """
        with moves.incoming_guest_lock(self.host, instance.uuid):
            self._finish_resize(context, instance, migration, image_meta)

    def _finish_resize(self, context, instance, migration, image_meta):
        self._reload(instance)
        if (instance.host == self.host and
                instance.vm_state == vm_states.RESIZED):
            LOG.info('Instance %s was taken over by %s already',
                     instance.uuid, self.host)
            self._mark_finished(migration)
            return
        context_of_move = instance.migration_context
        if (instance.task_state != task_states.RESIZE_MIGRATED or
                context_of_move is None or
                context_of_move.migration_id != migration.id):
            raise exception.MigrationError(
                reason='migration %s of instance %s is not waiting for %s '
                       'to start the guest (the instance is %s on %s): it '
                       'was rolled back' % (
                           migration.uuid, instance.uuid, self.host,
                           instance.task_state, instance.host))
        instance.apply_migration_context()
        if self.driver.guest_state(instance)['power_state'] == (
                power_state.RUNNING):
            LOG.info('Instance %s runs here already', instance.uuid)
        else:
            self.driver.finish_migration(context, instance, image_meta)
        instance.host = self.host
        instance.node = self._nodename()
        instance.power_state = power_state.RUNNING
        instance.vm_state = vm_states.RESIZED
        instance.task_state = None
        instance.save(expected_task_state=[task_states.RESIZE_MIGRATED])
        self._mark_finished(migration)
        actions.finish_action(context, instance.uuid, action=actions.MIGRATE)
        LOG.info('Instance %s now runs on %s; confirm or revert its '
                 'migration %s', instance.uuid, self.host, migration.uuid)

    @staticmethod
    def _mark_finished(migration):
        migration.status = Status.FINISHED
        migration.save()

    def rollback_resize_at_destination(self, context, instance, migration,
                                       outcome=None):
        """Remove what a failed migration brought here; erase the claim.

        Returns True when this host's namespaces were erased and are free;
        False when the guest could not be removed or an erase failed (the
        namespace is quarantined). Raises MigrationTakenOver, and removes
        nothing, when this host started the guest and took the instance
        over meanwhile (a ``finish_resize`` its source stopped waiting
        for): the move is done, not to be undone.
        """
        with moves.incoming_guest_lock(self.host, instance.uuid):
            self._reload(instance)
            if instance.host == self.host:
                raise exception.MigrationTakenOver(
                    instance_uuid=instance.uuid, host=self.host,
                    migration_id=migration.uuid)
            return self._drop_incoming(context, instance, migration,
                                       outcome or Status.FAILED)

    @actions.wrap_event('compute_revert_resize', actions.REVERT_RESIZE)
    def revert_resize(self, context, instance, migration):
        """The user reverts: drop the guest here, then the source resumes."""
        with moves.incoming_guest_lock(self.host, instance.uuid):
            self._reload(instance)
            if not self._drop_incoming(context, instance, migration,
                                       Status.REVERTED):
                # Read by the source: the revert ends in 'error' until the
                # namespace quarantined here is erased.
                migration.status = Status.ERROR
                migration.save()
        self.compute_rpcapi.finish_revert_resize(
            context, instance, migration, host=migration.source_compute)

    def _drop_incoming(self, context, instance, migration, outcome):
        try:
            self.driver.remove_migrated_guest(context, instance)
        except Exception:
            # The guest may still run on them: they stay assigned until
            # the resource update finds nobody holds them any more.
            LOG.exception('Could not remove instance %s from %s; its '
                          'namespaces there stay reserved', instance.uuid,
                          self.host)
            let_go = False
        else:
            if instance.host == self.host:
                let_go = self._hand_record_back(instance, migration)
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

    def _hand_record_back(self, instance, migration):
        """A revert: the record takes its source's values back here.

        As for a claim (``_let_go_of_claim_record``), the record stops
        naming this host's namespaces before they are freed: the instance
        takes its source's namespaces, host and node again, and its
        migration context goes, in one compare-and-swap. The source's
        ``finish_revert_resize`` then finds its values already there (it
        starts the guest and ends the move). Returns False when the record
        could not be saved: the namespaces stay reserved.
        """
        if moves.incoming_resources(instance, migration) is None:
            return True     # handed back already (a repeated request)
        instance.revert_migration_context()
        instance.drop_migration_context()
        instance.host = migration.source_compute
        instance.node = migration.source_node
        try:
            instance.save(expected_task_state=[
                task_states.RESIZE_REVERTING])
        except Exception:
            LOG.exception('Could not hand instance %s back to %s for the '
                          'revert of migration %s; its namespaces on %s '
                          'stay reserved', instance.uuid,
                          migration.source_compute, migration.uuid,
                          self.host)
            return False
        return True

    # -- source --------------------------------------------------------------

    def resize_instance(self, context, instance, migration, image_meta=None):
        """Stop the guest, copy its data, start it on the destination."""
        with self._in_flight(migration):
            self._resize_instance(context, instance, migration, image_meta)

    def _resize_instance(self, context, instance, migration, image_meta):
        self._reload(instance)
        dest = migration.dest_compute
        # A compare-and-swap first: this host's recovery may have rolled a
        # late request's migration back as stuck meanwhile.
        migration.status = Status.MIGRATING
        try:
            migration.save(expected_status=[Status.PRE_MIGRATING])
        except exception.MigrationStatusChanged as err:
            LOG.warning('Not starting cold migration %s of %s: %s',
                        migration.uuid, instance.uuid, err)
            return
        instance.task_state = task_states.RESIZE_MIGRATING
        instance.save(expected_task_state=[task_states.RESIZE_PREP])
        try:
            self.driver.power_off_for_migration(
                instance, CONF.compute.shutdown_timeout)
            instance.power_state = power_state.SHUTDOWN
            instance.save()
            endpoint = self.compute_rpcapi.receive_vpmems(
                context, instance, migration, host=dest)
            if endpoint:
                copied = self.driver.send_vpmems(
                    instance, instance.migration_context.old_resources,
                    endpoint, progress=_ProgressRecorder(migration))
                LOG.info('Copied %d bytes of persistent memory of instance '
                         '%s to %s', copied, instance.uuid, dest)
            migration.status = Status.POST_MIGRATING
            migration.save()
            instance.task_state = task_states.RESIZE_MIGRATED
            instance.save(expected_task_state=[task_states.RESIZE_MIGRATING])
            self._finish_at_destination(context, instance, migration,
                                        image_meta, dest)
        except Exception as err:
            LOG.error('Cold migration of %s to %s failed: %s',
                      instance.uuid, dest, err)
            self._rollback_cold_migration(context, instance, migration, err)

    def _finish_at_destination(self, context, instance, migration,
                               image_meta, dest):
        """Have ``dest`` start the guest; raise if it answered an error.

        A call that timed out may still run on a busy destination, and
        starting the guest here again then would run it on both hosts: it
        is never taken as a failure. The call is made again (the
        destination's step is idempotent and waits for one still
        running), up to ``DESTINATION_CALL_ATTEMPTS`` calls, unless the
        record already says the destination took the instance over.
        Without an answer the move stays 'post-migrating' and this host's
        recovery sweep finishes it or rolls it back according to where
        the guest runs.
        """
        for attempt in range(1, DESTINATION_CALL_ATTEMPTS + 1):
            try:
                self.compute_rpcapi.finish_resize(context, instance,
                                                  migration, image_meta,
                                                  host=dest)
                return
            except messaging.MessagingTimeout as err:
                if self._taken_over_by(context, instance, dest):
                    return
                if attempt == DESTINATION_CALL_ATTEMPTS:
                    LOG.warning('Destination %s did not answer the start of '
                                'instance %s (%s); the recovery of migration '
                                '%s finishes or rolls back the move',
                                dest, instance.uuid, err, migration.uuid)
                    return
                LOG.info('Destination %s did not answer the start of %s in '
                         'time; asking again', dest, instance.uuid)

    @staticmethod
    def _taken_over_by(context, instance, dest):
        try:
            current = objects.Instance.get_by_uuid(context, instance.uuid)
        except Exception:
            LOG.exception('Could not read instance %s', instance.uuid)
            return False
        return (current.host == dest and
                current.vm_state == vm_states.RESIZED)

    def _rollback_cold_migration(self, context, instance, migration, error):
        """Undo a failed move: the guest runs here again with its data.

        Unless the destination took the instance over meanwhile (it
        started the guest there): then nothing is undone. A destination
        that is up but does not answer in time may be starting the guest:
        nothing is undone either, and the move is left to this host's
        recovery sweep, which rolls it back once the destination answers.
        A destination that is down cannot start it: this side is undone
        now, and the destination erases its claim when it is back.
        """
        dest = migration.dest_compute
        try:
            dest_clean = self.compute_rpcapi.rollback_resize_at_destination(
                context, instance, migration, host=dest,
                outcome=Status.FAILED)
        except exception.MigrationTakenOver as err:
            LOG.warning('Not rolling back cold migration %s: %s',
                        migration.uuid, err.format_message())
            return
        except messaging.MessagingTimeout as err:
            if moves.host_is_up(context, dest):
                # Busy, maybe still starting the guest: undoing this side
                # now could run it on both hosts.
                LOG.warning('Destination %s did not answer the rollback of '
                            'cold migration %s in time (%s); the next '
                            'recovery sweep rolls it back', dest,
                            migration.uuid, err)
                return
            LOG.exception('Rollback on destination %s failed', dest)
            dest_clean = False
        except Exception:
            # Its resource update quarantines what nobody holds any more.
            LOG.exception('Rollback on destination %s failed', dest)
            dest_clean = False
        dest_clean = moves.undo_at_destination(
            context, self.reportclient, self.host, instance, migration,
            self.compute_rpcapi.rollback_resize_at_destination,
            outcome=Status.FAILED, dest_clean=dest_clean)
        moves.run_step('record the fault of %s' % instance.uuid,
                       moves.record_fault, context, instance, error,
                       self.host)
        # RESIZE_PREP: a move the recovery took over before the copy began
        # (the guest never stopped; starting it again changes nothing).
        moves.run_step('start %s again' % instance.uuid, self._restart_here,
                       instance, [task_states.RESIZE_PREP,
                                  task_states.RESIZE_MIGRATING,
                                  task_states.RESIZE_MIGRATED])
        migration.status = Status.FAILED if dest_clean else Status.ERROR
        moves.run_step('end migration %s' % migration.uuid, migration.save)
        actions.record_event(context, instance.uuid, 'compute_resize_instance',
                             self.host, error=error, action=actions.MIGRATE)
        actions.finish_action(context, instance.uuid,
                              message=actions.ERROR_MESSAGE,
                              action=actions.MIGRATE)
        LOG.warning('Cold migration of %s to %s ended %s: %s; the instance '
                    'runs on %s again', instance.uuid, dest,
                    migration.status, error, self.host)

    def _restart_here(self, instance, expected_task_states):
        """Start the stopped guest again; ERROR if it will not start."""
        instance.task_state = None
        try:
            self.driver.restart_migrated_guest(instance)
        except Exception as err:
            LOG.exception('Instance %s does not start again on %s',
                          instance.uuid, self.host)
            objects.InstanceFault.from_exception(
                instance._context, instance.uuid, err,
                host=self.host).create()
            instance.vm_state = vm_states.ERROR
            instance.power_state = power_state.SHUTDOWN
        else:
            instance.vm_state = vm_states.ACTIVE
            instance.power_state = power_state.RUNNING
        instance.save(expected_task_state=expected_task_states)

    @actions.wrap_event('compute_confirm_resize', actions.CONFIRM_RESIZE)
    def confirm_resize(self, context, instance, migration):
        """The move is final: erase what the guest left here.

        A namespace that cannot be erased is quarantined and the
        migration ends in ``error`` until a retried erase succeeds (then
        ``confirmed``). Idempotent (the recovery re-runs it).
        """
        with self._in_flight(migration):
            self._confirm_resize(context, instance, migration)

    def _confirm_resize(self, context, instance, migration):
        self._reload(instance)
        try:
            self.driver.confirm_migration(context, instance)
        except Exception:
            # The stopped guest stays defined; the erase below refuses
            # nothing for that, but say what went wrong.
            LOG.exception('Could not remove the guest instance %s left on '
                          '%s', instance.uuid, self.host)
        # The migration consumer counted the source's namespaces.
        given_up = self.rt.give_up(
            context, self.rt.held_by(instance.uuid), instance.uuid,
            giver=migration.uuid, migration=migration,
            final_status=Status.CONFIRMED)
        placement_work.delete_allocations(context, self.reportclient,
                                          self.host, migration.uuid)
        instance.drop_migration_context()
        instance.vm_state = vm_states.ACTIVE
        instance.task_state = None
        # None too: a confirm re-run by recovery after this save.
        instance.save(expected_task_state=[task_states.RESIZE_CONFIRMING,
                                           None])
        migration.status = (Status.CONFIRMED if given_up.clean
                            else Status.ERROR)
        migration.save()
        actions.finish_action(context, instance.uuid,
                              action=actions.CONFIRM_RESIZE)
        LOG.info('Cold migration %s of instance %s confirmed; the '
                 'namespaces it left on %s: %s', migration.uuid,
                 instance.uuid, self.host, given_up.describe())

    @actions.wrap_event('compute_finish_revert_resize',
                        actions.REVERT_RESIZE)
    def finish_revert_resize(self, context, instance, migration):
        """Take the instance back: its guest starts here on its own data."""
        self._reload(instance)
        dest_clean = objects.Migration.get_by_id(
            context, migration.id).status != Status.ERROR
        placement_work.revert_move(context, self.reportclient, self.host,
                                   instance.uuid, migration.uuid)
        instance.revert_migration_context()
        instance.drop_migration_context()
        instance.host = self.host
        instance.node = self._nodename()
        self._restart_here(instance, [task_states.RESIZE_REVERTING])
        migration.status = Status.REVERTED if dest_clean else Status.ERROR
        migration.save()
        actions.finish_action(context, instance.uuid,
                              action=actions.REVERT_RESIZE)
        LOG.info('Cold migration %s of instance %s reverted; it runs on %s',
                 migration.uuid, instance.uuid, self.host)
