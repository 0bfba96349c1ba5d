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

"""Cold migration in the internal compute API: migrate, confirm, revert.

:class:`ColdMigrationAPIMixin` is part of :class:`nova.compute.api.API`.
Like live migration, starting takes the instance with a compare-and-swap
on ``task_state``, records a Migration and has the conductor check and
start it, so a refusal reaches the caller with its reason. Confirm goes to
the source (which erases what the guest left there), revert to the
destination (which erases what it received, then hands back to the
source).
"""

import time

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import excutils

from nova.compute import instance_actions
from nova.compute import move_api
from nova.compute import task_states
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.objects import fields

LOG = logging.getLogger(__name__)
# How long confirm and revert wait for a destination that is marking its
# migration finished (see _finished_on).
FINISH_SETTLE_SECONDS = 5

Status = fields.MigrationStatus


class ColdMigrationAPIMixin:
    """Cold migration operations of the compute API."""

    def migrate(self, context, instance, host_name=None, image_meta=None):
        """Cold-migrate ``instance``; return its Migration.

        Returns once the conductor's checks passed and the source was told
        to go (the server is then RESIZE, and VERIFY_RESIZE when the guest
        runs on the destination); the checks' error
        (MigrationPreCheckError, NoValidHost...) is raised otherwise, with
        the instance idle again and the Migration in 'error'. If the
        conductor does not answer within ``rpc_response_timeout``, the
        request is accepted unless the conductor refused meanwhile (see
        :func:`_migrate_late`).
        """
        move_api.check_idle(instance, vm_states.ALLOW_COLD_MIGRATION,
                            'migrate')
        migration = move_api.take_and_record(
            context, instance, host_name, vm_states.ALLOW_COLD_MIGRATION,
            task_states.RESIZE_PREP, instance_actions.MIGRATE,
            migration_type=fields.MigrationType.MIGRATION,
            status=Status.PRE_MIGRATING,
            old_instance_type_id=instance.flavor.id,
            new_instance_type_id=instance.flavor.id)
        LOG.info('Cold migration of instance %(uuid)s from %(source)s to '
                 '%(dest)s accepted (migration %(migration)s)',
                 {'uuid': instance.uuid, 'source': instance.host,
                  'dest': host_name or 'a scheduled host',
                  'migration': migration.uuid})
        try:
            self.conductor_rpcapi.migrate_server(
                context, instance, migration, host=host_name,
                image_meta=image_meta)
        except messaging.MessagingTimeout:
            # The conductor may still be working on it, or done: resetting
            # the instance now could unlock one that is moving.
            return _migrate_late(context, instance, migration)
        except Exception:
            with excutils.save_and_reraise_exception():
                _migrate_refused(context, instance, migration)
        return objects.Migration.get_by_id(context, migration.id)

    def confirm_resize(self, context, instance, wait=False):
        """Make the cold migration final; the source erases its copy.

        With ``wait``, returns once the source is done.
        """
        self._confirm_resize(context, instance, wait=wait,
                             action=instance_actions.CONFIRM_RESIZE)

    def _confirm_resize(self, context, instance, wait=False, action=None):
        """Confirm; record ``action`` unless a caller's request holds it.

        A delete confirms first and waits: the confirm is then a step of
        the delete's action, not an action of its own.
        """
        migration = self._finished_migration(context, instance,
                                             'confirm resize',
                                             task_states.RESIZE_CONFIRMING)
        if action is not None:
            instance_actions.start_action(context, instance.uuid, action)
        LOG.info('Confirming migration %s of instance %s', migration.uuid,
                 instance.uuid)
        self.compute_rpcapi.confirm_resize(context, instance, migration,
                                           host=migration.source_compute,
                                           wait=wait)

    def revert_resize(self, context, instance):
        """Undo the cold migration: the guest goes back to its source."""
        migration = self._finished_migration(context, instance,
                                             'revert resize',
                                             task_states.RESIZE_REVERTING)
        instance_actions.start_action(context, instance.uuid,
                                      instance_actions.REVERT_RESIZE)
        LOG.info('Reverting migration %s of instance %s', migration.uuid,
                 instance.uuid)
        self.compute_rpcapi.revert_resize(context, instance, migration,
                                          host=migration.dest_compute)

    @staticmethod
    def _finished_migration(context, instance, method, task_state):
        """The instance's migration awaiting confirmation; take the instance.

        InstanceInvalidState unless the server is VERIFY_RESIZE; the
        compare-and-swap on task_state lets one of a confirm and a revert
        sent together through.
        """
        move_api.check_idle(instance, (vm_states.RESIZED,), method)
        finished = _finished_on(context, instance)
        if not finished:
            raise exception.MigrationNotFoundByStatus(
                instance_id=instance.uuid, status=Status.FINISHED)
        instance.task_state = task_state
        instance.save(expected_task_state=[None],
                      expected_vm_state=[vm_states.RESIZED])
        return finished[0]


def _finished_on(context, instance, settle=FINISH_SETTLE_SECONDS):
    """The instance's finished migrations.

    The destination saves the instance RESIZED (the user sees
    VERIFY_RESIZE) just before it marks the migration finished: in that
    moment, a migration still post-migrating to the instance's host is
    waited for, up to ``settle`` seconds, instead of refused.
    """
    deadline = time.monotonic() + settle
    while True:
        migrations = objects.MigrationList.get_in_progress_by_instance(
            context, instance.uuid,
            migration_type=fields.MigrationType.MIGRATION)
        finished = [m for m in migrations if m.status == Status.FINISHED]
        finishing = [m for m in migrations
                     if m.status == Status.POST_MIGRATING and
                     m.dest_compute == instance.host]
        if finished or not finishing or time.monotonic() >= deadline:
            return finished
        time.sleep(0.05)


def _migrate_late(context, instance, migration):
    """The answer to a call the conductor did not answer in time."""
    return move_api.answer_late(
        context, instance, migration, 'cold migration',
        lambda current: 'cold migration %s ended in status %s; see '
                        '`openstack server event list %s`' % (
                            current.uuid, current.status, instance.uuid))


def _migrate_refused(context, instance, migration):
    """Make sure a refused migration left the instance idle (idempotent).

    The conductor's task normally did this in its rollback (and finished
    the action); this covers a conductor that never ran the task (RPC
    refused, say).
    """
    instance_actions.finish_action(context, instance.uuid,
                                   message=instance_actions.ERROR_MESSAGE)
    try:
        current = objects.Migration.get_by_id(context, migration.id)
        if current.status == Status.PRE_MIGRATING:
            current.status = Status.ERROR
            current.save()
            move_api.release(instance, task_states.RESIZE_PREP)
    except Exception:
        LOG.exception('Could not check that the refused cold migration %s '
                      'left instance %s idle', migration.uuid, instance.uuid)
