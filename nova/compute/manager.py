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

"""The compute manager: the work nova-compute does on its host.

It is the server side of :mod:`nova.compute.rpcapi`; every RPC method
here has a counterpart there, and the version history lives in that
module. The manager owns the virt driver and the resource tracker of its
host. Live migration lives in :mod:`nova.compute.live_migration`; the
power actions (stop, start, reboot, pause) in :mod:`nova.compute.power`.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import periodic_task
from oslo_utils import timeutils

from nova.compute import cold_migration
from nova.compute import instance_actions as actions
from nova.compute import live_migration
from nova.compute import move_recovery
from nova.compute import moves
from nova.compute import placement_work
from nova.compute import power
from nova.compute import power_state
from nova.compute import resource_tracker
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
import nova.conf
from nova import exception
from nova import manager
from nova import objects
from nova.objects import fields
from nova.scheduler.client import report
from nova.virt import driver as virt_driver

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


class ComputeManager(cold_migration.ColdMigrationMixin,
                     live_migration.LiveMigrationMixin,
                     move_recovery.MoveRecoveryMixin, power.PowerMixin,
                     manager.Manager):
    """Manages the instances of one compute host."""

    target = messaging.Target(version='1.6')

    def __init__(self, host=None, compute_driver=None):
        super().__init__(host=host, service_name='compute')
        # The spacing of the resource update comes from the configuration,
        # which is only parsed after this module is imported, so it is set
        # per manager rather than in the decorator. 0 means "every tick".
        self._periodic_spacing = dict(self._periodic_spacing)
        self._periodic_spacing['update_available_resource'] = (
            CONF.compute.update_resources_interval or CONF.periodic_interval)
        # Often enough for the first retry; later ones wait longer (each
        # namespace keeps the time of its next attempt).
        self._periodic_spacing['retry_vpmem_erases_periodic'] = (
            CONF.compute.vpmem_erase_retry_interval)
        self._periodic_spacing['recover_moves_periodic'] = (
            CONF.compute.move_recovery_interval or CONF.periodic_interval)
        self.driver = compute_driver or virt_driver.load_compute_driver()
        self.reportclient = report.SchedulerReportClient()
        self.rt = resource_tracker.ResourceTracker(
            self.host, self.driver, self.reportclient)
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()
        self._init_live_migration()
        self._init_power()

    def init_host(self):
        """Bring the host to a known state before taking requests.

        A bad ``[libvirt]pmem_namespaces`` or a namespace that an instance
        holds but the host no longer offers stops the service here, before
        it answers anything. Namespaces seen for the first time, and
        quarantined ones whose retry is due, are erased before the host
        offers them.
        """
        LOG.info('Compute service on host %s starting.', self.host)
        self.driver.init_host(self.host)
        context = self._admin_context()
        for nodename in self.driver.get_available_nodes():
            self.rt.update_available_resource(context, nodename,
                                              startup=True)
        self._retry_vpmem_erases(context)
        placement_work.settle(context, self.reportclient, self.host)
        self._settle_power_actions(context)

    def post_start_hook(self):
        """Settle the moves this host took part in when it stopped.

        In a thread, once this host answers RPC: recovery asks the other
        host of each move, which may be starting too (or may be this
        process's next service).
        """
        thread = threading.Thread(
            target=self._recover_moves_quietly,
            args=(self._admin_context(),), kwargs={'startup': True},
            name='recover-moves-%s' % self.host, daemon=True)
        thread.start()

    def cleanup_host(self):
        LOG.info('Compute service on host %s stopping.', self.host)
        self.driver.cleanup_host(self.host)

    @staticmethod
    def _admin_context():
        from nova import context as nova_context
        return nova_context.get_admin_context()

    # RPC API (see nova.compute.rpcapi for the version history).

    def ping(self, context, arg):
        """Answer with this host's name and ``arg`` unchanged.

        Lets a caller check that this host's service is reachable and that
        its arguments (objects included) survive the round trip.
        """
        return {'host': self.host, 'arg': arg}

    def get_host_uptime(self, context):
        """This host's uptime and load averages (``/os-hypervisors``)."""
        return self.driver.get_host_uptime()

    def build_and_run_instance(self, context, instance, node,
                               image_meta=None):
        """Claim namespaces for ``instance``, spawn it and start it.

        The conductor already claimed in placement; the resource tracker
        turns those allocations into specific namespaces. On any failure
        the guest is removed, the namespaces it may have touched are erased
        and released, the allocations dropped, and the instance goes to
        ERROR with a fault saying why. An instance deleted while it was
        being built is undone the same way, without a fault: nothing of
        it may stay (its delete may have run before anything was here).
        """
        try:
            self._build_and_run(context, instance, node, image_meta)
        except (exception.InstanceNotFound,
                exception.UnexpectedDeletingTaskStateError):
            self._undo_deleted_build(context, instance)

    def _undo_deleted_build(self, context, instance):
        LOG.info('Instance %s was deleted while it was being built on %s; '
                 'undoing the build', instance.uuid, self.host)
        moves.run_step('remove the guest of %s' % instance.uuid,
                       self.driver.destroy, context, instance)
        moves.run_step('erase the namespaces of %s' % instance.uuid,
                       self.rt.give_up, context,
                       self.rt.held_by(instance.uuid), instance.uuid,
                       instance.uuid)
        moves.run_step('drop the allocations of %s' % instance.uuid,
                       placement_work.delete_allocations, context,
                       self.reportclient, self.host, instance.uuid)

    def _build_and_run(self, context, instance, node, image_meta):
        allocations = self.reportclient.get_allocations_for_consumer(
            context, instance.uuid)['allocations']
        try:
            self.rt.instance_claim(context, instance, node, allocations)
        except exception.ComputeResourcesUnavailable as err:
            self._fail_build(context, instance, err, claimed=False)
            return
        instance.task_state = task_states.SPAWNING
        instance.save(expected_task_state=[task_states.SCHEDULING])
        try:
            self.driver.spawn(context, instance, image_meta=image_meta)
        except Exception as err:
            LOG.exception('Failed to spawn instance %s', instance.uuid)
            self._fail_build(context, instance, err, claimed=True)
            return
        instance.vm_state = vm_states.ACTIVE
        instance.task_state = None
        instance.power_state = power_state.RUNNING
        instance.launched_at = timeutils.utcnow()
        instance.save(expected_task_state=[task_states.SPAWNING])
        actions.record_event(context, instance.uuid,
                             'compute_build_and_run_instance', self.host,
                             action=actions.CREATE)
        actions.finish_action(context, instance.uuid, action=actions.CREATE)
        LOG.info('Instance %s is running on %s', instance.uuid, self.host)

    def _fail_build(self, context, instance, error, claimed):
        actions.record_event(context, instance.uuid,
                             'compute_build_and_run_instance', self.host,
                             error=error, action=actions.CREATE)
        if claimed:
            try:
                self.driver.destroy(context, instance)
            except Exception:
                # The guest may still use its namespaces: leave them held
                # by the instance and let a delete retry.
                LOG.exception('Cleanup of failed build of %s failed',
                              instance.uuid)
                self._set_error(context, instance, error)
                return
            # An erase that fails quarantines the namespace: the instance
            # lets go of it either way.
            self.rt.give_up(context, instance.resources, instance.uuid,
                            giver=instance.uuid)
            instance.resources = None
        placement_work.delete_allocations(context, self.reportclient,
                                          self.host, instance.uuid)
        instance.host = None
        instance.node = None
        self._set_error(context, instance, error)

    def _set_error(self, context, instance, error):
        objects.InstanceFault.from_exception(
            context, instance.uuid, error, host=self.host).create()
        actions.finish_action(context, instance.uuid,
                              message=actions.ERROR_MESSAGE)
        instance.vm_state = vm_states.ERROR
        instance.task_state = None
        instance.save()

    def terminate_instance(self, context, instance):
        """Destroy ``instance``, erase its namespaces, free everything.

        The guest goes first; a guest that cannot be removed leaves the
        instance in ERROR with everything it holds, and a retried delete
        starts again. Then its namespaces are erased: one whose erase
        fails is quarantined (never handed out, still counted in
        placement, erased again later) and the delete goes on. Placement
        is told next, and the record goes last, so a retried delete
        finds it. Every step may run twice: a delete a stopped service
        left half done runs again when it starts, and a request that was
        only slow, arriving after the delete ended, does nothing.
        """
        with self._request_running(instance.uuid):
            self._terminate_instance(context, instance)

    def _terminate_instance(self, context, instance):
        try:
            instance.refresh()
        except exception.InstanceNotFound:
            LOG.info('Instance %s is deleted already', instance.uuid)
            return
        # vm_state deleted: a stopped service did everything but remove
        # the record.
        if (instance.task_state != task_states.DELETING and
                instance.vm_state != vm_states.DELETED):
            LOG.info('Instance %s is not being deleted (task state %s): '
                     'nothing to do', instance.uuid, instance.task_state)
            return
        try:
            # A write owed from a move of the instance, made after the
            # delete, would allocate to a deleted instance.
            placement_work.settle_consumer(context, self.reportclient,
                                           instance.uuid)
            self.driver.destroy(context, instance)
        except Exception as err:
            LOG.exception('Failed to delete instance %s', instance.uuid)
            actions.record_event(context, instance.uuid,
                                 'compute_terminate_instance', self.host,
                                 error=err, action=actions.DELETE)
            self._set_error(context, instance, err)
            return
        given_up = self.rt.give_up(context, instance.resources,
                                   instance.uuid, giver=instance.uuid)
        placement_work.delete_allocations(context, self.reportclient,
                                          self.host, instance.uuid)
        self._drop_allocations_of_failed_moves(context, instance)
        instance.vm_state = vm_states.DELETED
        instance.task_state = None
        instance.terminated_at = timeutils.utcnow()
        instance.save(expected_task_state=[task_states.DELETING, None])
        instance.destroy()
        actions.record_event(context, instance.uuid,
                             'compute_terminate_instance', self.host,
                             action=actions.DELETE)
        actions.finish_action(context, instance.uuid, action=actions.DELETE)
        LOG.info('Deleted instance %s; its namespaces: %s', instance.uuid,
                 given_up.describe())

    def _drop_allocations_of_failed_moves(self, context, instance):
        # A move whose recovery found the guest on neither host ends
        # 'error' with its migration consumer still counting the source
        # (where the data was is not known): once the instance goes,
        # nothing else lets go of it. Other moves' consumers hold nothing
        # by then, so only 'error' ones are asked.
        for migration in objects.MigrationList.get_by_filters(
                context, {'instance_uuid': instance.uuid,
                          'status': fields.MigrationStatus.ERROR}):
            placement_work.delete_allocations(context, self.reportclient,
                                              self.host, migration.uuid)

    def _claim_incoming(self, context, instance, migration,
                        allocations=None):
        """Assign this host's namespaces to an instance moving here.

        The conductor already claimed the instance's resources on this
        node in placement; the tracker assigns exactly those namespaces
        and records them in the migration context. Returns them; raises
        MigrationPreCheckError (the conductor tries another host) when
        they are not free. ``allocations`` (``{rp_uuid: {rc: amount}}``)
        is that claim as the conductor wrote it; an older conductor sends
        none and it is read from placement.
        """
        if allocations is None:
            allocations = self.reportclient.get_allocations_for_consumer(
                context, instance.uuid)['allocations']
        else:
            allocations = {rp: {'resources': dict(resources)}
                           for rp, resources in allocations.items()}
        try:
            return self.rt.move_claim(context, instance, self._nodename(),
                                      migration, allocations)
        except (exception.ComputeResourcesUnavailable,
                exception.MigrationDestinationChanged) as err:
            raise exception.MigrationPreCheckError(
                reason='destination %s cannot take instance %s: %s' % (
                    self.host, instance.uuid, err.format_message()))

    def retry_vpmem_erases(self, context, names=None):
        """Erase quarantined namespaces now (``nova-manage vpmem
        retry-erase``): ``names``, or those whose retry is due."""
        self._retry_vpmem_erases(context, names=names)

    def _retry_vpmem_erases(self, context, names=None):
        outcome = self.rt.retry_erases(context, names=names)
        if outcome:
            LOG.info('Erase retries on %s: %s', self.host, ', '.join(
                '%s %s' % (name, 'free' if free else 'still quarantined')
                for name, free in sorted(outcome.items())))
        return outcome

    # Periodic tasks.

    @periodic_task.periodic_task(run_immediately=True)
    def update_available_resource(self, context):
        """Rebuild the namespace assignments and report the inventory."""
        for nodename in self.driver.get_available_nodes():
            try:
                self.rt.update_available_resource(context, nodename)
            except Exception:
                LOG.exception('Resource update of node %s failed', nodename)

    @periodic_task.periodic_task
    def retry_vpmem_erases_periodic(self, context):
        """Erase again the quarantined namespaces whose retry is due."""
        try:
            self._retry_vpmem_erases(context)
        except Exception:
            LOG.exception('Retrying the erase of quarantined namespaces on '
                          '%s failed', self.host)

    @periodic_task.periodic_task
    def recover_moves_periodic(self, context):
        """Settle the moves of this host that a stopped service left."""
        self._recover_moves_quietly(context)

    @periodic_task.periodic_task
    def resend_lost_power_requests_periodic(self, context):
        """Send again the power requests this host never received."""
        try:
            self._resend_lost_power_requests(context)
        except Exception:
            LOG.exception('Looking for lost power requests on %s failed',
                          self.host)

    @periodic_task.periodic_task(spacing=0)
    def settle_placement_work_periodic(self, context):
        """Make the placement writes kept while placement was away."""
        try:
            placement_work.settle(context, self.reportclient, self.host)
        except Exception:
            LOG.exception('Pending placement work of %s could not be made',
                          self.host)
