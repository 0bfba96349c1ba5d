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

"""The internal compute API: what the REST layer calls.

Each operation checks the instance's state, takes it with a
compare-and-swap on ``task_state`` (so two operations on one instance
cannot both start), and hands the work to the conductor or the compute
host. Live migration lives in :mod:`nova.compute.live_migrate_api`; the
power actions in :mod:`nova.compute.power_api`.
"""

from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import uuidutils

from nova.compute import cold_migrate_api
from nova.compute import instance_actions
from nova.compute import live_migrate_api
from nova.compute import power_api
from nova.compute import power_state
from nova.compute import rpcapi as compute_rpcapi
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import rpcapi as conductor_rpcapi
from nova import objects
from nova.scheduler.client import report
from nova.virt import hardware

LOG = logging.getLogger(__name__)


class API(cold_migrate_api.ColdMigrationAPIMixin,
          live_migrate_api.LiveMigrationAPIMixin, power_api.PowerAPIMixin):
    """Instance operations, as the REST API offers them."""

    def __init__(self):
        self.conductor_rpcapi = conductor_rpcapi.ConductorAPI()
        self.compute_rpcapi = compute_rpcapi.ComputeAPI()
        self.reportclient = report.SchedulerReportClient()

    def get(self, context, instance_uuid, expected_attrs=None):
        return objects.Instance.get_by_uuid(
            context, instance_uuid,
            expected_attrs=expected_attrs or ['flavor', 'resources'])

    def create(self, context, flavor, name, image_ref=None,
               image_meta=None):
        """Record a new instance of ``flavor`` and have it scheduled.

        Returns at once with the instance in BUILDING/scheduling; it
        becomes ACTIVE, or ERROR with a fault, when its host is done.
        """
        pmem = flavor.extra_specs.get(hardware.PMEM_EXTRA_SPEC)
        if pmem is not None:
            hardware.validate_pmem_extra_spec(pmem)
        instance = objects.Instance(
            context, uuid=uuidutils.generate_uuid(),
            user_id=context.user_id, project_id=context.project_id,
            display_name=name, flavor=flavor, image_ref=image_ref,
            vm_state=vm_states.BUILDING,
            task_state=task_states.SCHEDULING,
            power_state=power_state.NOSTATE)
        instance.create()
        instance_actions.start_action(context, instance.uuid,
                                      instance_actions.CREATE)
        self.conductor_rpcapi.build_instances(context, instance,
                                              image_meta=image_meta)
        return instance

    def delete(self, context, instance):
        """Delete ``instance``; its host erases and frees its namespaces.

        Refused with a conflict while another operation (a live migration,
        say) holds the instance.
        """
        confirm_first = (instance.vm_state == vm_states.RESIZED and
                         instance.task_state is None)
        if confirm_first:
            # The confirm is a step of this delete, not a request of its
            # own: its events belong to the delete action.
            instance_actions.start_action(context, instance.uuid,
                                          instance_actions.DELETE)
            # The source still holds the guest's old namespaces: confirm
            # first, so they are erased and freed rather than orphaned.
            try:
                self._confirm_resize(context, instance, wait=True)
            except Exception:
                with excutils.save_and_reraise_exception():
                    instance_actions.finish_action(
                        context, instance.uuid,
                        message=instance_actions.ERROR_MESSAGE)
            instance.refresh()
        expected = [None, task_states.SCHEDULING, task_states.SPAWNING]
        if instance.vm_state == vm_states.ERROR or not instance.host:
            # A delete that failed, or one nova-api did itself and did not
            # finish (the instance never reached a host): nobody else
            # finishes it, so it may be asked again.
            expected.append(task_states.DELETING)
        previous_host = instance.host
        instance.task_state = task_states.DELETING
        instance.save(expected_task_state=expected)
        if not confirm_first:
            instance_actions.start_action(context, instance.uuid,
                                          instance_actions.DELETE)
        if previous_host:
            self.compute_rpcapi.terminate_instance(context, instance,
                                                   host=previous_host)
            return
        # Never reached a host: nothing to erase, only records to drop.
        self.reportclient.delete_allocations(context, instance.uuid)
        instance.vm_state = vm_states.DELETED
        instance.task_state = None
        instance.save()
        instance.destroy()
        instance_actions.finish_action(context, instance.uuid)

    # -- lock, unlock, update (PUT /servers/{id}) ----------------------------

    def lock(self, context, instance, reason=None):
        """Lock ``instance``: only administrators act on it until unlocked.

        Who locked it ('owner': its project; 'admin': anyone else) decides
        who may unlock it. Locking a server its owner already locked does
        nothing; an administrator's lock replaces an owner's.
        """
        is_owner = instance.project_id == context.project_id
        if instance.locked and is_owner:
            return
        instance_actions.start_action(context, instance.uuid, LOCK_ACTION)
        instance.locked = True
        instance.locked_by = 'owner' if is_owner else 'admin'
        instance.locked_reason = reason
        instance.save()
        instance_actions.finish_action(context, instance.uuid)

    def unlock(self, context, instance):
        instance_actions.start_action(context, instance.uuid,
                                      UNLOCK_ACTION)
        instance.locked = False
        instance.locked_by = None
        instance.locked_reason = None
        instance.save()
        instance_actions.finish_action(context, instance.uuid)

    def update_instance(self, context, instance, updates):
        """Change the user's fields of ``instance`` (name, description)."""
        for name, value in updates.items():
            setattr(instance, name, value)
        instance.save()
        return instance


# The instance actions the lock calls record (as Nova names them).
LOCK_ACTION = 'lock'
UNLOCK_ACTION = 'unlock'
