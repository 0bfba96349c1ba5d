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

"""Live migration in the internal compute API.

:class:`LiveMigrationAPIMixin` is part of :class:`nova.compute.api.API`
(it uses the API's ``conductor_rpcapi`` and ``compute_rpcapi``). Starting
a migration takes the instance with a compare-and-swap on ``task_state``,
records a Migration and asks the conductor to check and start it; abort
and force-complete go to the source compute, which runs the migration.

Two ways to ask the conductor, chosen by the REST microversion (as Nova):
from 2.34 a cast (the request is answered at once; a refusal shows in the
migration, 'error', and in the action's failed event); before, a call
that waits for the checks, so that a refusal is the request's own error.
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import excutils

from nova.compute import instance_actions
from nova.compute import move_api
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import objects
from nova.objects import fields

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# The conductor's step of the live-migration action (its refusal reason).
CONDUCTOR_EVENT = 'conductor_live_migrate_instance'

# Abort is possible until the copy ended; force-complete only while the
# copy runs (before that there is nothing to complete).
ABORTABLE_STATUSES = (fields.MigrationStatus.QUEUED,
                      fields.MigrationStatus.PREPARING,
                      fields.MigrationStatus.RUNNING)
FORCE_COMPLETABLE_STATUSES = (fields.MigrationStatus.RUNNING,)

class LiveMigrationAPIMixin:
    """Live migration operations of the compute API."""

    def live_migrate(self, context, instance, host_name=None, force=False,
                     block_migration=False, async_=False):
        """Live-migrate ``instance``; return its Migration.

        ``host_name``: the destination to use; with ``force`` it skips the
        scheduler, otherwise the scheduler still validates it (``force``
        without ``host_name`` changes nothing).

        With ``async_`` it returns as soon as the instance is migrating and
        the Migration recorded ('accepted'); the conductor checks in the
        background and records a refusal (Migration 'error', instance idle,
        the action's failed event). Otherwise it returns once the checks
        passed and the source was told to migrate (the Migration is then
        'queued' or later) and raises the checks' error
        (MigrationPreCheckError, NoValidHost...), with the instance idle
        and the Migration in 'error'. If the conductor does not answer
        within ``rpc_response_timeout``, the request is accepted anyway
        unless the conductor refused meanwhile (see
        :meth:`_live_migrate_late`).
        """
        move_api.check_idle(instance, vm_states.ALLOW_LIVE_MIGRATION,
                            'live migrate')
        migration = move_api.take_and_record(
            context, instance, host_name, vm_states.ALLOW_LIVE_MIGRATION,
            task_states.MIGRATING, instance_actions.LIVE_MIGRATION,
            migration_type=fields.MigrationType.LIVE_MIGRATION,
            status=fields.MigrationStatus.ACCEPTED)
        LOG.info('Live migration of instance %(uuid)s from %(source)s to '
                 '%(dest)s accepted (migration %(migration)s)',
                 {'uuid': instance.uuid, 'source': instance.host,
                  'dest': host_name or 'a scheduled host',
                  'migration': migration.uuid})
        try:
            self.conductor_rpcapi.live_migrate_instance(
                context, instance, migration, host=host_name, force=force,
                block_migration=block_migration, async_=async_)
        except messaging.MessagingTimeout:
            # Only a call times out; the conductor may still be working on
            # it, or done: resetting the instance now could unlock one that
            # is migrating.
            return self._live_migrate_late(context, instance, migration)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._live_migrate_refused(context, instance, migration)
        return objects.Migration.get_by_id(context, migration.id)

    @staticmethod
    def _live_migrate_late(context, instance, migration):
        """The answer to a call the conductor did not answer in time."""
        return move_api.answer_late(
            context, instance, migration, 'live migration',
            lambda current: _refusal_reason(context, instance, current))

    @staticmethod
    def _live_migrate_refused(context, instance, migration):
        """Make sure a refused migration left the instance idle.

        The conductor's task normally did this in its rollback (and
        finished the action); this covers a conductor that never ran the
        task (RPC refused, say). Idempotent.
        """
        instance_actions.finish_action(
            context, instance.uuid, message=instance_actions.ERROR_MESSAGE)
        try:
            current = objects.Migration.get_by_id(context, migration.id)
            never_ran = current.status == fields.MigrationStatus.ACCEPTED
            if never_ran:
                current.status = fields.MigrationStatus.ERROR
                current.save()
            if never_ran or not _other_live_migration(context, instance,
                                                      migration):
                move_api.release(instance, task_states.MIGRATING)
        except Exception:
            LOG.exception('Could not check that the refused live migration '
                          '%s left instance %s idle', migration.uuid,
                          instance.uuid)

    def live_migrate_abort(self, context, instance, migration_id):
        """Ask the source to abort live migration ``migration_id``."""
        migration = _live_migration_of(context, instance, migration_id,
                                       ABORTABLE_STATUSES, 'abort')
        instance_actions.start_action(context, instance.uuid,
                                      instance_actions.LIVE_MIGRATION_CANCEL)
        LOG.info('Aborting live migration %s of instance %s',
                 migration.uuid, instance.uuid)
        self.compute_rpcapi.live_migration_abort(
            context, instance, migration.id, host=migration.source_compute)

    def live_migrate_force_complete(self, context, instance, migration_id):
        """Ask the source to finish live migration ``migration_id`` now.

        For a vpmem guest that means pausing it so the copy converges (no
        post-copy); it runs again on the destination.
        """
        migration = _live_migration_of(context, instance, migration_id,
                                       FORCE_COMPLETABLE_STATUSES,
                                       'force-complete')
        instance_actions.start_action(
            context, instance.uuid,
            instance_actions.LIVE_MIGRATION_FORCE_COMPLETE)
        LOG.info('Forcing live migration %s of instance %s to complete',
                 migration.uuid, instance.uuid)
        self.compute_rpcapi.live_migration_force_complete(
            context, instance, host=migration.source_compute)


def _refusal_reason(context, instance, migration):
    """The reason the conductor recorded for refusing ``migration``."""
    try:
        action = objects.InstanceAction.get_by_request_id(
            context, instance.uuid, context.request_id)
        events = objects.InstanceActionEventList.get_by_action(context,
                                                               action.id)
        for event in events:
            if (event.event == CONDUCTOR_EVENT and
                    event.result == instance_actions.ERROR and
                    event.details):
                return event.details
    except Exception:
        LOG.warning('Could not read why live migration %s was refused',
                    migration.uuid, exc_info=True)
    return ('live migration %s ended in status %s; see `openstack server '
            'event list %s`' % (migration.uuid, migration.status,
                                instance.uuid))


def _other_live_migration(context, instance, migration):
    """True if another live migration of the instance is under way.

    Then the instance's MIGRATING belongs to that one, not to ours.
    """
    others = objects.MigrationList.get_in_progress_by_instance(
        context, instance.uuid,
        migration_type=fields.MigrationType.LIVE_MIGRATION)
    return any(other.id != migration.id for other in others)


def _live_migration_of(context, instance, migration_id, allowed, method):
    """The instance's live migration ``migration_id`` in an ``allowed`` state.

    MigrationNotFound if it is not the instance's; InvalidMigrationState
    if it is not a live migration or not in one of ``allowed``;
    InstanceInvalidState if the instance is not migrating.
    """
    migration = objects.Migration.get_by_id_and_instance(
        context, migration_id, instance.uuid)
    if not migration.is_live_migration:
        raise exception.InvalidMigrationState(
            migration_id=migration_id, instance_uuid=instance.uuid,
            state='a %s, not a live migration' % migration.migration_type,
            method=method,
            allowed='a live migration in status %s' % ', '.join(allowed))
    if migration.status not in allowed:
        raise exception.InvalidMigrationState(
            migration_id=migration_id, instance_uuid=instance.uuid,
            state=migration.status, method=method,
            allowed=', '.join(allowed))
    if instance.task_state != task_states.MIGRATING:
        raise exception.InstanceInvalidState(
            instance_uuid=instance.uuid, attr='task_state',
            state=instance.task_state, method=method)
    return migration
