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

"""The conductor manager: orchestration of multi-host operations.

It is the server side of :mod:`nova.conductor.rpcapi`. Operations such as
live migration run here as tasks (``nova/conductor/tasks/``, later).
"""

from oslo_log import log as logging
import oslo_messaging as messaging

from nova.compute import instance_actions
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor.tasks import live_migrate
from nova.conductor.tasks import migrate
from nova import exception
from nova import manager
from nova import objects
from nova.scheduler.client import report
from nova.scheduler import selection

LOG = logging.getLogger(__name__)


class ConductorManager(manager.Manager):
    """Runs operations that span several compute hosts."""

    target = messaging.Target(version='1.4')

    def __init__(self, host=None):
        super().__init__(host=host, service_name='conductor')
        self.reportclient = report.SchedulerReportClient()
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()

    # RPC API (see nova.conductor.rpcapi for the version history).

    def ping(self, context, arg):
        """Answer with this conductor's host and ``arg`` unchanged."""
        return {'host': self.host, 'arg': arg}

    def build_instances(self, context, instance, image_meta=None):
        """Pick a host for ``instance``, claim it, and have it built there.

        No host with enough free namespaces (or other resources) leaves
        the instance in ERROR with a fault that says what was missing;
        so does any other failure to schedule (placement answering an
        error, say), rather than leaving it in BUILD for ever. The
        scheduling is the ``conductor_schedule_and_build_instances``
        event of the create action; a failure ends that action.
        """
        try:
            with instance_actions.event(
                    context, instance.uuid,
                    'conductor_schedule_and_build_instances', self.host):
                chosen = selection.select_and_claim(
                    context, self.reportclient, instance.flavor, instance)
        except exception.NoValidHost as err:
            LOG.warning('Cannot build instance %s: %s', instance.uuid,
                        err.format_message())
            self._build_failed(context, instance, err)
            return
        except Exception as err:
            LOG.exception('Scheduling instance %s failed', instance.uuid)
            self._build_failed(context, instance, err)
            return
        if self._deleted_meanwhile(context, instance):
            return
        self.compute_rpcapi.build_and_run_instance(
            context, instance, host=chosen.host, node=chosen.nodename,
            image_meta=image_meta)

    def _deleted_meanwhile(self, context, instance):
        """True (and the claim dropped) if the instance went while it was
        scheduled: its delete found no host and no allocation to drop."""
        try:
            instance.refresh()
        except exception.InstanceNotFound:
            pass
        else:
            if instance.task_state != task_states.DELETING:
                return False
        LOG.info('Instance %s was deleted while it was scheduled; dropping '
                 'its claim', instance.uuid)
        self.reportclient.delete_allocations(context, instance.uuid)
        return True

    def _build_failed(self, context, instance, err):
        objects.InstanceFault.from_exception(
            context, instance.uuid, err, host=self.host).create()
        instance.vm_state = vm_states.ERROR
        instance.task_state = None
        instance.save()
        instance_actions.finish_action(
            context, instance.uuid, message=instance_actions.ERROR_MESSAGE)

    def _run_as_event(self, context, instance, event_name, run):
        """Run a move's task as event ``event_name`` of its action.

        A refusal is the event's ``Error`` (with the reason) and ends the
        action, then reaches the caller unchanged.
        """
        try:
            with instance_actions.event(context, instance.uuid, event_name,
                                        self.host):
                run()
        except Exception:
            instance_actions.finish_action(
                context, instance.uuid,
                message=instance_actions.ERROR_MESSAGE)
            raise

    def live_migrate_instance(self, context, instance, migration, host=None,
                              force=False, block_migration=False,
                              async_=False):
        """Check, claim and prepare a destination, then start the migration.

        Returns once the source was told to migrate. A failure was rolled
        back by the task (placement, the destination's claim, the
        instance's task_state, the migration 'error') and shows in the
        action as a failed ``conductor_live_migrate_instance`` event with
        its reason. Then it reaches the caller with its nova exception
        type, unless ``async_`` (a cast: nobody waits for an answer), where
        it is only logged.
        """
        task = live_migrate.LiveMigrationTask(
            context, instance, host, force, block_migration, migration,
            self.compute_rpcapi, self.reportclient)
        try:
            self._run_as_event(context, instance,
                               'conductor_live_migrate_instance',
                               task.execute)
        except exception.NovaException as err:
            if not async_:
                raise
            LOG.warning('Live migration %(migration)s of instance '
                        '%(uuid)s refused: %(reason)s',
                        {'migration': migration.uuid,
                         'uuid': instance.uuid,
                         'reason': err.format_message()})
        except Exception:
            if not async_:
                raise
            LOG.exception('Live migration %s of instance %s failed before '
                          'it started', migration.uuid, instance.uuid)

    def migrate_server(self, context, instance, migration, host=None,
                       image_meta=None):
        """Check, claim and prepare a destination, then start the migration.

        Returns once the source was told to go. A failure was rolled back
        by the task before it reaches the caller with its nova exception
        type; the action shows it as a failed ``conductor_migrate_server``
        event.
        """
        task = migrate.ColdMigrationTask(
            context, instance, host, migration, self.compute_rpcapi,
            self.reportclient, image_meta=image_meta)
        self._run_as_event(context, instance, 'conductor_migrate_server',
                           task.execute)
