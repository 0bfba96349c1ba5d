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

"""Live migration, conductor side: checks, placement claim, destination.

The first of the three files a live migration runs through (then
``nova/compute/live_migration.py`` and ``nova/virt/libvirt/migration.py``).
The steps every move shares (checks, the placement claim, the destination's
namespace claim, scheduling) are in :mod:`nova.conductor.tasks.move`; here
is what live migration adds: the instance must be running, the destination
check returns the migrate_data the source needs, ``force`` skips the
scheduler for a named host, and the source is told to migrate.
"""

from oslo_log import log as logging

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor.tasks import move
from nova import exception
from nova.objects import fields
from nova.objects import service as service_obj
from nova.scheduler import selection

LOG = logging.getLogger(__name__)

# The guest must be running (or paused) to have memory to copy.
_MIGRATABLE_POWER_STATES = (power_state.RUNNING, power_state.PAUSED)


def _version_problem(service, has_vpmem):
    """Why ``service`` cannot take part in this live migration, or None.

    The live migration RPC methods arrived with the service version that
    added vpmem support, so every live migration needs it on both hosts;
    the message says vpmem when that is what the user is moving.
    """
    needed = service_obj.VPMEM_LIVE_MIGRATION_VERSION
    if service.version >= needed:
        return None
    what = 'live migration with vpmem' if has_vpmem else 'live migration'
    return ('compute host %s runs service version %d; %s needs version %d '
            'on both source and destination'
            % (service.host, service.version, what, needed))


class LiveMigrationTask(move.MoveTask):
    """Choose and prepare the destination of a live migration, then start it.

    ``destination`` is the host the user asked for (or None); with
    ``force`` it is used without the scheduler, otherwise the scheduler
    still validates it. ``migration`` is the row the API created
    ('accepted').
    """

    KIND = 'live migration'
    VERB = 'live-migrate'
    TASK_STATE = task_states.MIGRATING
    OWNED_STATUSES = (fields.MigrationStatus.ACCEPTED,
                      fields.MigrationStatus.QUEUED)

    def __init__(self, context, instance, destination, force,
                 block_migration, migration, compute_rpcapi, reportclient):
        super().__init__(context, instance, destination, migration,
                         compute_rpcapi, reportclient)
        self.force = force
        self.block_migration = block_migration

    def _check_instance(self):
        instance = self.instance
        if instance.vm_state not in vm_states.ALLOW_LIVE_MIGRATION:
            raise exception.InstanceInvalidState(
                instance_uuid=instance.uuid, attr='vm_state',
                state=instance.vm_state, method='live migrate')
        if instance.power_state not in _MIGRATABLE_POWER_STATES:
            raise exception.InstanceInvalidState(
                instance_uuid=instance.uuid, attr='power_state',
                state=power_state.STATE_MAP.get(instance.power_state,
                                                instance.power_state),
                method='live migrate')

    def _version_problem(self, service):
        return _version_problem(service, self.has_vpmem)

    def _choose(self, source_node, dest_node):
        if not (self.destination and self.force):
            return super()._choose(source_node, dest_node)
        chosen = selection.Selection(
            host=dest_node.host, nodename=dest_node.hypervisor_hostname,
            compute_node_uuid=dest_node.uuid,
            allocations={dest_node.uuid: move.summed(
                alloc['resources'] for alloc in
                self._source_doc['allocations'].values())})
        return chosen, self._try_destination(chosen)

    def _prepare_destination(self, chosen):
        return self.compute_rpcapi.check_can_live_migrate_destination(
            self.context, self.instance, chosen.host, self.migration,
            self.block_migration, allocations=chosen.allocations)

    def _start(self, chosen, migrate_data):
        # A compare-and-swap: a source that rolled the migration back as
        # stuck, or an abort, makes this fail (and the task undo its own
        # claim) instead of starting a migration that ended.
        self.migration.status = fields.MigrationStatus.QUEUED
        self.migration.save(expected_status=[fields.MigrationStatus.ACCEPTED])
        LOG.info('Live migration of instance %(uuid)s from %(source)s to '
                 '%(dest)s queued (migration %(migration)s)',
                 {'uuid': self.instance.uuid, 'source': self.source,
                  'dest': chosen.host, 'migration': self.migration.uuid})
        self.compute_rpcapi.live_migration(
            self.context, self.instance, chosen.host, self.migration,
            migrate_data, host=self.source)
