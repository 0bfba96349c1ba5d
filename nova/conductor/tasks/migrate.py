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

"""Cold migration, conductor side: checks, placement claim, destination.

The first of the three files a cold migration runs through (then
``nova/compute/cold_migration.py`` and
``nova/virt/libvirt/cold_migration.py``). The steps are those of every
move (:mod:`nova.conductor.tasks.move`); a cold migration moves an active
instance, needs both hosts at the service version that carries vpmem data
across, lets the destination claim with ``prep_resize`` and hands over to
the source with ``resize_instance``.
"""

from oslo_log import log as logging

from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor.tasks import move
from nova import exception
from nova.objects import fields
from nova.objects import service as service_obj

LOG = logging.getLogger(__name__)


class ColdMigrationTask(move.MoveTask):
    """Choose and prepare the destination of a cold migration, then start.

    ``destination`` is the host the user asked for (or None); the
    scheduler validates it. ``migration`` is the row the API created
    ('pre-migrating'). ``image_meta`` goes to the destination, which
    defines the guest anew.
    """

    KIND = 'cold migration'
    VERB = 'migrate'
    TASK_STATE = task_states.RESIZE_PREP
    # The source makes it 'migrating' when it takes the move.
    OWNED_STATUSES = (fields.MigrationStatus.PRE_MIGRATING,)

    def __init__(self, context, instance, destination, migration,
                 compute_rpcapi, reportclient, image_meta=None):
        super().__init__(context, instance, destination, migration,
                         compute_rpcapi, reportclient)
        self.image_meta = image_meta

    def _check_instance(self):
        if self.instance.vm_state not in vm_states.ALLOW_COLD_MIGRATION:
            raise exception.InstanceInvalidState(
                instance_uuid=self.instance.uuid, attr='vm_state',
                state=self.instance.vm_state, method='migrate')

    def _version_problem(self, service):
        needed = service_obj.COLD_MIGRATION_VERSION
        if service.version >= needed:
            return None
        return ('compute host %s runs service version %d; cold migration '
                'needs version %d on both source and destination'
                % (service.host, service.version, needed))

    def _prepare_destination(self, chosen):
        self.compute_rpcapi.prep_resize(self.context, self.instance,
                                        self.migration, chosen.host,
                                        allocations=chosen.allocations)

    def _start(self, chosen, _prepared):
        LOG.info('Cold migration of instance %(uuid)s from %(source)s to '
                 '%(dest)s starts (migration %(migration)s)',
                 {'uuid': self.instance.uuid, 'source': self.source,
                  'dest': chosen.host, 'migration': self.migration.uuid})
        self.compute_rpcapi.resize_instance(
            self.context, self.instance, self.migration, self.image_meta,
            host=self.source)
