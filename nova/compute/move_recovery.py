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

"""Recovery of the live migrations a stopped service left half done.

After a crash the hypervisor is the truth. When nova-compute starts, and
on a timer, every live migration involving its host that has not ended is
settled where its guest runs:

* on the source (libvirt's job, if still running, is aborted first): the
  move is rolled back, as a failed migration would be;
* on the destination: the move is completed: the destination takes the
  instance over, then the source erases its namespaces;
* on neither: the migration ends in 'error' and the instance in ERROR with
  a fault saying so.

The source owns the outcome: it asks its hypervisor and, if the guest is
not there, the destination's. A destination whose source is down settles
its own side (it takes over a guest that runs there, or drops an incoming
one that does not) and leaves the rest to the source's recovery when it
is back. Every step is one of the idempotent steps of the live migration
flow (``nova/compute/live_migration.py``), so recovery re-runs whatever
might not have finished, however far the stopped service had come.

A migration the conductor left 'accepted', or whose start was lost on
the way ('queued'), is rolled back by the source once it is older than
``[compute]migration_stuck_timeout``.

An instance still in a move's task state whose newest migration has
ended (the source's last save of it failed while undoing the move) is
settled by that source with the same last step again.
"""

import contextlib

from oslo_log import log as logging

from nova.compute import moves
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import objects
from nova.objects import base as objects_base
from nova.objects import fields

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

Status = fields.MigrationStatus

# The source runs these itself: if no flow of this process does, the
# service that did stopped.
_SOURCE_OWNED = (Status.PREPARING, Status.RUNNING, Status.POST_MIGRATING,
                 Status.CANCELLING)
# Set by the API and the conductor: the conductor may still be at work,
# or the start may still be on its way.
_NOT_STARTED = (Status.ACCEPTED, Status.QUEUED)

# Task states an undo of a move leaves behind when the source's last save
# of the instance fails (_recover_unsettled_moves), and how their
# migrations ended.
_COLD_MOVING = frozenset([task_states.RESIZE_PREP,
                          task_states.RESIZE_MIGRATING,
                          task_states.RESIZE_MIGRATED])
_UNSETTLED_TASK_STATES = _COLD_MOVING | {task_states.MIGRATING,
                                         task_states.RESIZE_REVERTING}
_LIVE_UNDONE = (Status.FAILED, Status.CANCELLED, Status.ERROR)
_COLD_UNDONE = (Status.FAILED, Status.ERROR)

ON_SOURCE = 'source'
ON_DESTINATION = 'destination'
UNKNOWN = 'unknown'
NOWHERE = 'nowhere'


class MoveRecoveryMixin:
    """Recovery of live migrations; part of the ComputeManager."""

    def _recover_moves_quietly(self, context, startup=False):
        """One sweep at a time: a sweep already running covers this one."""
        if not self._recovery_lock.acquire(blocking=False):
            return
        try:
            self._recover_moves(context, startup=startup)
        except Exception:
            LOG.exception('Recovery sweep of %s failed', self.host)
        finally:
            self._recovery_lock.release()

    def _recover_moves(self, context, startup=False):
        """Settle every move of this host that a stopped service left.

        ``startup``: this process just started, so no request of the
        previous one can still arrive; otherwise a step that may still be
        on its way is given ``[compute]migration_stuck_timeout``.
        """
        for nodename in self.driver.get_available_nodes():
            lister = objects.MigrationList.get_in_progress_by_host_and_node
            for migration in lister(context, self.host, nodename):
                recover = (self._recover_live_migration
                           if migration.is_live_migration
                           else self._recover_cold_migration)
                try:
                    recover(context, migration, startup=startup)
                except Exception:
                    LOG.exception('Recovery of migration %s failed; the '
                                  'next sweep tries again', migration.uuid)
        try:
            self._recover_unsettled_moves(context, startup)
        except Exception:
            LOG.exception('Settling the instances whose moves from %s ended '
                          'failed; the next sweep tries again', self.host)

    def recover_live_migration(self, context, migration):
        """Settle ``migration`` now (asked by its destination)."""
        migration = objects.Migration.get_by_id(context, migration.id)
        if migration.status not in _SOURCE_OWNED + _NOT_STARTED:
            return
        if not self._recovery_lock.acquire(blocking=False):
            return  # a sweep runs: it settles this one too
        try:
            self._recover_live_migration(context, migration)
        finally:
            self._recovery_lock.release()

    def get_guest_state(self, context, instance):
        """What this host's hypervisor says of the instance's guest.

        Once any start of it here (a cold migration's ``finish_resize``
        that may still run) has ended: the answer decides between
        finishing and rolling back.
        """
        with moves.incoming_guest_lock(self.host, instance.uuid):
            return self.driver.guest_state(instance)

    def _recover_live_migration(self, context, migration, startup=False):
        if migration.source_compute == self.host:
            self._recover_outgoing(context, migration)
        elif migration.dest_compute == self.host:
            self._recover_incoming(context, migration)

    # -- on the source -----------------------------------------------------

    @contextlib.contextmanager
    def _in_flight(self, migration):
        """A step of ``migration`` runs in this process: recovery waits."""
        with self._live_migrations_lock:
            self._moves_in_flight.add(migration.id)
        try:
            yield
        finally:
            with self._live_migrations_lock:
                self._moves_in_flight.discard(migration.id)

    def _running_here(self, migration):
        with self._live_migrations_lock:
            running = self._live_migrations.get(migration.instance_uuid)
            in_flight = migration.id in self._moves_in_flight
        return in_flight or (running is not None and
                             running.id == migration.id)

    def _stuck(self, migration):
        return objects_base.unchanged_for(
            migration, CONF.compute.migration_stuck_timeout)

    def _take_over(self, migration, status=Status.PREPARING,
                   expected=_NOT_STARTED):
        """Make a move that never started this host's to settle.

        Its conductor may still be at work (slower than
        [compute]migration_stuck_timeout): a compare-and-swap to the status
        the source gives a move it owns ('preparing' for a live migration,
        'migrating' for a cold one) decides. The conductor's own swap then
        fails and it only drops the destination claim it made; a late
        start request finds the move taken and does not start it. False
        when the conductor won (it started or ended the move meanwhile).
        """
        stuck_as = migration.status
        migration.status = status
        try:
            migration.save(expected_status=list(expected))
        except exception.MigrationStatusChanged as err:
            LOG.info('Not recovering migration %s: %s', migration.uuid, err)
            return False
        LOG.warning('Migration %s was %s for more than '
                    '[compute]migration_stuck_timeout; %s rolls it back',
                    migration.uuid, stuck_as, self.host)
        return True

    def _recover_outgoing(self, context, migration):
        if self._running_here(migration):
            return
        if migration.status in _NOT_STARTED and not self._stuck(migration):
            return
        instance = self._instance_of(context, migration)
        if instance is None:
            return
        why = _interrupted(migration, self.host)
        if migration.status in _NOT_STARTED and not self._take_over(
                migration):
            return
        dest = migration.dest_compute
        where = self._where_is_guest(context, instance, migration)
        LOG.info('Recovering live migration %s (%s) of %s from %s to %s: '
                 'the guest is %s', migration.uuid, migration.status,
                 instance.uuid, self.host, dest, where)
        if where == ON_SOURCE:
            status = (Status.CANCELLED if migration.status ==
                      Status.CANCELLING else Status.FAILED)
            dest_clean = None
            if dest is None:
                dest_clean = True  # no destination was chosen yet
            elif not moves.host_is_up(context, dest):
                # Its own resource update cleans its claim when it is back
                # (and settles the migration then).
                dest_clean = False
            else:
                try:
                    dest_clean = (
                        self.compute_rpcapi
                        .rollback_live_migration_at_destination(
                            context, instance, migration, host=dest,
                            outcome=status,
                            timeout=CONF.compute.recovery_rpc_timeout))
                except Exception as err:
                    LOG.info('Live migration %s: %s does not answer yet '
                             '(%s); the next sweep tries again',
                             migration.uuid, dest, err)
                    return
            self._rollback_live_migration(
                context, instance, dest, migration, why, status=status,
                dest_clean=dest_clean)
        elif where == ON_DESTINATION:
            try:
                self.compute_rpcapi.post_live_migration_at_destination(
                    context, instance, migration, host=dest,
                    timeout=CONF.compute.recovery_rpc_timeout)
            except Exception as err:
                LOG.warning('Live migration %s: %s cannot take instance %s '
                            'over yet (%s); the next sweep tries again',
                            migration.uuid, dest, instance.uuid, err)
                return
            instance.refresh()
            self._release_source(context, instance, migration)
        elif where == NOWHERE:
            self._guest_lost(context, instance, migration)

    def _where_is_guest(self, context, instance, migration):
        """Where the guest runs, after stopping a stray job from here."""
        state = self.driver.guest_state(instance)
        if state['migration_job'] == 'out':
            # Nothing of this process watches it: libvirt went on alone.
            if not self.driver.abort_stray_migration(instance):
                return UNKNOWN
            state = self.driver.guest_state(instance)
        if state['power_state'] in (power_state.RUNNING, power_state.PAUSED):
            self._resume_if_paused_by_us(instance, state)
            return ON_SOURCE
        remote = self._remote_state(context, instance, migration)
        if remote is None:
            return UNKNOWN
        if remote['power_state'] in (power_state.RUNNING,
                                     power_state.PAUSED):
            if remote['migration_job'] == 'in':
                return UNKNOWN  # still arriving: libvirt decides first
            return ON_DESTINATION
        return NOWHERE

    def _resume_if_paused_by_us(self, instance, state):
        # A force-complete pauses the guest; a move rolled back must not
        # leave it paused unless its user paused it.
        if (state['power_state'] == power_state.PAUSED and
                instance.vm_state == vm_states.ACTIVE):
            try:
                self.driver.resume_guest(instance)
            except Exception:
                LOG.exception('Could not resume instance %s on %s',
                              instance.uuid, self.host)

    def _guest_lost(self, context, instance, migration):
        error = exception.MigrationError(
            reason='the guest of instance %s runs neither on %s nor on %s '
                   'after live migration %s was interrupted' % (
                       instance.uuid, migration.source_compute,
                       migration.dest_compute, migration.uuid))
        LOG.error('%s', error.format_message())
        objects.InstanceFault.from_exception(context, instance.uuid, error,
                                             host=self.host).create()
        instance.vm_state = vm_states.ERROR
        instance.task_state = None
        instance.save()
        migration.status = Status.ERROR
        migration.save()

    # -- on the destination ------------------------------------------------

    def _recover_incoming(self, context, migration):
        source = migration.source_compute
        if moves.host_is_up(context, source):
            # The source owns the outcome; it may be running the move.
            try:
                self.compute_rpcapi.recover_live_migration(
                    context, migration, host=source)
            except Exception as err:
                LOG.info('Could not ask %s to settle migration %s: %s',
                         source, migration.uuid, err)
            return
        try:
            instance = objects.Instance.get_by_uuid(
                context, migration.instance_uuid,
                expected_attrs=['flavor', 'resources', 'migration_context'])
        except exception.InstanceNotFound:
            return
        state = self.driver.guest_state(instance)
        if state['migration_job'] == 'in':
            return  # the source's libvirt still sends it
        if state['power_state'] in (power_state.RUNNING, power_state.PAUSED):
            LOG.warning('Live migration %s: the guest of %s runs here and '
                        'its source %s is down; taking it over (the source '
                        'erases its side when it is back)', migration.uuid,
                        instance.uuid, source)
            self.post_live_migration_at_destination(context, instance,
                                                    migration)
        else:
            LOG.warning('Live migration %s: the guest of %s does not run '
                        'here and its source %s is down; dropping what it '
                        'left here (the source settles the rest when it is '
                        'back)', migration.uuid, instance.uuid, source)
            self.rollback_live_migration_at_destination(
                context, instance, migration, outcome=Status.FAILED)


    # -- cold migrations (the source recovers them) ----------------------

    def _recover_cold_migration(self, context, migration, startup=False):
        if (migration.source_compute != self.host or
                self._running_here(migration)):
            # A destination whose source is away only holds a claim: its
            # resource update quarantines it once the move has ended.
            return
        status = migration.status
        if status == Status.FINISHED:
            self._recover_cold_decision(context, migration, startup)
            return
        if status not in (Status.PRE_MIGRATING, Status.MIGRATING,
                          Status.POST_MIGRATING):
            return
        if status == Status.PRE_MIGRATING and not self._stuck(migration):
            return  # the conductor may still be at it
        instance = self._instance_of(context, migration)
        if instance is None:
            return
        why = _interrupted(migration, self.host)
        if status == Status.PRE_MIGRATING and not self._take_over(
                migration, Status.MIGRATING, [Status.PRE_MIGRATING]):
            return
        if status == Status.POST_MIGRATING:
            remote = self._remote_state(context, instance, migration)
            if remote is None:
                return
            if remote['power_state'] == power_state.RUNNING:
                # The destination started it: let it finish taking over.
                self.compute_rpcapi.finish_resize(
                    context, instance, migration, None,
                    host=migration.dest_compute)
                return
        LOG.info('Recovering cold migration %s (%s) of %s from %s to %s: '
                 'rolling it back', migration.uuid, status, instance.uuid,
                 self.host, migration.dest_compute)
        self._rollback_cold_migration(context, instance, migration, why)

    def _recover_cold_decision(self, context, migration, startup):
        """A confirm or a revert its service stopped in the middle of."""
        instance = self._instance_of(context, migration)
        if instance is None:
            return
        if not startup and not objects_base.unchanged_for(
                instance, CONF.compute.migration_stuck_timeout):
            return  # its request may still be on its way
        if instance.task_state == task_states.RESIZE_CONFIRMING:
            LOG.info('Recovering the confirm of cold migration %s of %s',
                     migration.uuid, instance.uuid)
            self.confirm_resize(context, instance, migration)
        elif instance.task_state == task_states.RESIZE_REVERTING:
            LOG.info('Recovering the revert of cold migration %s of %s',
                     migration.uuid, instance.uuid)
            if instance.host == self.host:
                self.finish_revert_resize(context, instance, migration)
            elif moves.host_is_up(context, migration.dest_compute):
                self.compute_rpcapi.revert_resize(
                    context, instance, migration,
                    host=migration.dest_compute)

    def _recover_unsettled_moves(self, context, startup):
        """Settle the instances whose move ended without them.

        Every undo of a move ends with this host (its source) saving the
        instance out of the move's task state: a live rollback clears
        ``migrating``, a cold rollback starts the guest again, a revert
        takes the record back. A save that failed there leaves the
        instance in that task state with its migration ended, where no
        other sweep looks, and every request on it (a delete included) is
        refused. Each of those steps runs again here; all are idempotent.
        """
        stuck = objects.InstanceList.get_by_filters(
            context, {'task_state': sorted(_UNSETTLED_TASK_STATES)},
            expected_attrs=['flavor', 'resources', 'migration_context'])
        newest = _newest_migrations(context, [i.uuid for i in stuck])
        for instance in stuck:
            migration = newest.get(instance.uuid)
            if (migration is None or
                    migration.source_compute != self.host or
                    self._running_here(migration)):
                continue
            settle = self._unsettled_step(instance, migration)
            if settle is None:
                continue
            if not startup and not objects_base.unchanged_for(
                    instance, CONF.compute.migration_stuck_timeout):
                continue    # the move's own last steps may still run
            LOG.warning('Instance %s is still %s, but its migration %s ended '
                        '%s; settling it on %s', instance.uuid,
                        instance.task_state, migration.uuid,
                        migration.status, self.host)
            settle(context, instance, migration)

    def _unsettled_step(self, instance, migration):
        """The step that settles ``instance``, or None if it is not left
        behind by ``migration``'s undo."""
        task_state = instance.task_state
        if migration.is_live_migration:
            if (task_state == task_states.MIGRATING and
                    migration.status in _LIVE_UNDONE):
                return self._release_after_rollback
        elif task_state == task_states.RESIZE_REVERTING:
            if migration.status == Status.ERROR:
                return self.finish_revert_resize
        elif (task_state in _COLD_MOVING and
                migration.status in _COLD_UNDONE and
                instance.host == self.host):
            return self._restart_after_rollback
        return None

    @staticmethod
    def _release_after_rollback(context, instance, migration):
        # As the rollback does (moves.undo_at_destination): the move's
        # claim leaves the record with the task state.
        instance.drop_migration_context()
        moves.release_instance(instance, task_states.MIGRATING)

    def _restart_after_rollback(self, context, instance, migration):
        self._restart_here(instance, sorted(_COLD_MOVING))

    def _instance_of(self, context, migration):
        try:
            return objects.Instance.get_by_uuid(
                context, migration.instance_uuid,
                expected_attrs=['flavor', 'resources', 'migration_context'])
        except exception.InstanceNotFound:
            LOG.warning('Migration %s: its instance %s is gone',
                        migration.uuid, migration.instance_uuid)
            migration.status = Status.ERROR
            migration.save()
            return None

    def _remote_state(self, context, instance, migration):
        """The destination's view of the guest; None if it cannot tell."""
        dest = migration.dest_compute
        if not moves.host_is_up(context, dest):
            return None
        try:
            return self.compute_rpcapi.get_guest_state(
                context, instance, host=dest,
                timeout=CONF.compute.recovery_rpc_timeout)
        except Exception as err:
            LOG.info('Migration %s: no answer from %s yet (%s)',
                     migration.uuid, dest, err)
            return None


# Instances per IN (...) list: far below any database's bound variables.
_UUIDS_PER_QUERY = 500


def _newest_migrations(context, instance_uuids):
    """{instance uuid: its newest migration}, a query per 500 instances
    (every move of the cloud in flight is in a move's task state)."""
    newest = {}
    for start in range(0, len(instance_uuids), _UUIDS_PER_QUERY):
        chunk = instance_uuids[start:start + _UUIDS_PER_QUERY]
        # Newest first: the first one seen of each instance is its newest.
        for migration in objects.MigrationList.get_by_filters(
                context, {'instance_uuid': chunk}):
            newest.setdefault(migration.instance_uuid, migration)
    return newest


def _interrupted(migration, host):
    if migration.status in _NOT_STARTED + (Status.PRE_MIGRATING,):
        why = ('it did not start within [compute]migration_stuck_timeout '
               '(its conductor stopped, or the request was lost)')
    else:
        why = 'it was interrupted (a nova-compute service stopped)'
    kind = ('live migration' if migration.is_live_migration
            else 'cold migration')
    return exception.MigrationError(
        reason='%s %s is rolled back: %s; the guest still runs on %s'
               % (kind, migration.uuid, why, host))
