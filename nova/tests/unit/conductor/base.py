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

"""What the conductor live migration tests share: hosts, an instance.

Real database, real placement (in-process); only the compute hosts are
stand-ins, answering the compute RPC API the way the contract says a
destination does (its check stores a migration context naming the
namespaces it assigned; dropping the claim removes it).
"""

import datetime
from unittest import mock

from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor import rpcapi as conductor_rpcapi
from nova import context as nova_context
from nova import objects
from nova.objects import fields
from nova.scheduler.client import report
from nova import test

PMEM = 'CUSTOM_PMEM_NAMESPACE_SMALL'
MiB = 1 << 20
HV_TYPE = 'QEMU'
HV_VERSION = 8002000
# What the instance holds on its source in placement.
SOURCE_AMOUNTS = {'VCPU': 1, 'MEMORY_MB': 128, PMEM: 1}


def inventory(total):
    return {'total': total, 'reserved': 0, 'min_unit': 1,
            'max_unit': total, 'step_size': 1, 'allocation_ratio': 1.0}


def vpmem(provider_uuid, name):
    return objects.Resource(
        provider_uuid=provider_uuid, resource_class=PMEM, identifier=name,
        metadata=objects.LibvirtVPMEMDevice(
            label='SMALL', name=name, size=4 * MiB, align=2 * MiB,
            devpath='/pmem/%s' % name))


class FakeDestinations:
    """The compute hosts' side of the RPC API the conductor calls.

    ``refuse`` maps a host to the exception its check raises; hosts in
    ``forgetful`` pass the check but store no migration context.
    ``on_check`` (host -> None) runs first, to look at placement and the
    database at the moment the destination is asked.
    """

    def __init__(self, test_case):
        self.test = test_case
        self.refuse = {}
        self.forgetful = set()
        self.on_check = None
        # host -> the allocations the conductor handed it.
        self.allocations_handed = {}
        self.rpc = mock.Mock()
        self.rpc.check_can_live_migrate_destination.side_effect = self.check
        self.rpc.drop_move_claim_at_destination.side_effect = self.drop

    def check(self, context, instance, destination, migration,
              block_migration, allocations=None):
        # The conductor hands over the claim it wrote: it must be what
        # placement holds for the instance now, all on this destination.
        # (Read with a client of its own: tests count the conductor's.)
        own_client = report.SchedulerReportClient(
            adapter=self.test.client.adapter)
        self.test.assertEqual(
            {rp: a['resources'] for rp, a in own_client.
             get_allocations_for_consumer(context, instance.uuid)[
                 'allocations'].items()},
            allocations)
        self.test.assertEqual([self.test.nodes[destination].uuid],
                              list(allocations))
        self.allocations_handed[destination] = allocations
        if self.on_check:
            self.on_check(destination)
        if destination in self.refuse:
            raise self.refuse[destination]
        if destination not in self.forgetful:
            stored = objects.Instance.get_by_uuid(
                context, instance.uuid, expected_attrs=['resources'])
            node = self.test.nodes[destination]
            new = [vpmem(node.uuid, 'ns%d' % i)
                   for i, _r in enumerate(stored.resources or ())]
            stored.migration_context = objects.MigrationContext(
                instance_uuid=instance.uuid, migration_id=migration.id,
                old_resources=stored.resources,
                new_resources=objects.ResourceList(objects=new))
            stored.save()
        return objects.LibvirtLiveMigrateData(
            filename='instance-%s' % instance.uuid, block_migration=False,
            is_shared_instance_path=False, is_shared_block_storage=False,
            supported_perf_events=[],
            target_libvirt_uri='emulated://%s' % destination)

    def drop(self, context, instance, migration, host):
        stored = objects.Instance.get_by_uuid(
            context, instance.uuid, expected_attrs=['migration_context'])
        if stored.migration_context is not None:
            stored.drop_migration_context()
            stored.save()


class LiveMigrationTestBase(test.TestCase):
    """compute-a (the source), compute-b and compute-c, one vpmem guest."""

    USES_PLACEMENT = True
    SOURCE = 'compute-a'

    def start_conductor(self):
        """A conductor whose compute hosts are these stand-ins."""
        self.conductor = self.start_service('nova-conductor',
                                            host='conductor',
                                            periodic_enable=False)
        self.conductor.manager.compute_rpcapi = self.dests.rpc
        self.rpcapi = conductor_rpcapi.ConductorAPI()
        return self.conductor

    def setUp(self):
        super().setUp()
        # Placement records who owns each allocation.
        self.context = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True)
        self.client = self.placement.client
        self.nodes = {}
        self.services = {}
        self.add_host('compute-a', pmem=2)
        self.add_host('compute-b', pmem=3)
        self.add_host('compute-c', pmem=2)
        self.flavor = self.create_flavor()
        self.instance = self.create_instance(self.flavor)
        self.dests = FakeDestinations(self)

    # -- hosts ---------------------------------------------------------------

    def add_host(self, host, pmem=2, version=3, hv_type=HV_TYPE,
                 hv_version=HV_VERSION):
        service = objects.Service(
            self.context, host=host, binary='nova-compute', topic='compute',
            version=version, last_seen_up=timeutils.utcnow())
        service.create()
        node = objects.ComputeNode(
            self.context, uuid=uuidutils.generate_uuid(), host=host,
            hypervisor_hostname=host, hypervisor_type=hv_type,
            hypervisor_version=hv_version, vcpus=8, memory_mb=4096,
            service_id=service.id)
        node.create()
        self.client.set_inventory(
            self.context, node.uuid, host,
            {'VCPU': inventory(8), 'MEMORY_MB': inventory(4096),
             PMEM: inventory(pmem)})
        self.services[host] = service
        self.nodes[host] = node

    def set_service(self, host, **values):
        service = self.services[host]
        for name, value in values.items():
            setattr(service, name, value)
        service.save()

    def mark_down(self, host):
        self.set_service(host, last_seen_up=timeutils.utcnow() -
                         datetime.timedelta(hours=1))

    def fill_pmem(self, host):
        """Another guest takes every free namespace of ``host``."""
        node = self.nodes[host]
        free = (self.client.get_inventory(self.context, node.uuid)[1][PMEM]
                ['total'] - self.client.get_usages(
                    self.context, node.uuid).get(PMEM, 0))
        self.client.claim_resources(
            self.context, uuidutils.generate_uuid(), {node.uuid: {PMEM: free}},
            'other-project', 'other-user')

    # -- the guest -----------------------------------------------------------

    def create_flavor(self, name='pmem-small', pmem='SMALL'):
        flavor = objects.Flavor(
            self.context, name=name, flavorid=name, memory_mb=128, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': pmem} if pmem else {})
        flavor.create()
        return flavor

    def create_instance(self, flavor, with_vpmem=True):
        source = self.nodes[self.SOURCE]
        resources = (objects.ResourceList(
            objects=[vpmem(source.uuid, 'ns0')]) if with_vpmem else None)
        instance = objects.Instance(
            self.context, uuid=uuidutils.generate_uuid(),
            user_id=self.context.user_id, project_id=self.context.project_id,
            display_name='guest', flavor=flavor, host=self.SOURCE,
            node=self.SOURCE, vm_state=vm_states.ACTIVE,
            power_state=power_state.RUNNING,
            # What the API set before asking the conductor.
            task_state=task_states.MIGRATING, resources=resources)
        instance.create()
        amounts = dict(SOURCE_AMOUNTS)
        if not with_vpmem:
            del amounts[PMEM]
        self.client.claim_resources(
            self.context, instance.uuid, {source.uuid: amounts},
            instance.project_id, instance.user_id)
        return instance

    def create_migration(self, dest=None):
        migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type=fields.MigrationType.LIVE_MIGRATION,
            status=fields.MigrationStatus.ACCEPTED,
            source_compute=self.SOURCE, source_node=self.SOURCE,
            dest_compute=dest, user_id=self.context.user_id,
            project_id=self.context.project_id)
        migration.create()
        return migration

    # -- what the owners of state say ----------------------------------------

    def allocations(self, consumer):
        """``{host: {rc: amount}}`` the consumer holds in placement."""
        by_uuid = {node.uuid: host for host, node in self.nodes.items()}
        allocs = self.client.get_allocations_for_consumer(
            self.context, consumer)['allocations']
        return {by_uuid[rp]: alloc['resources']
                for rp, alloc in allocs.items()}

    def usage(self, host):
        return {rc: used for rc, used in self.client.get_usages(
            self.context, self.nodes[host].uuid).items() if used}

    def stored_instance(self):
        return objects.Instance.get_by_uuid(
            self.context, self.instance.uuid,
            expected_attrs=['migration_context', 'resources'])

    def assert_rolled_back(self, migration, source_amounts=None):
        """Placement, the instance and the migration as before the task."""
        self.assertEqual({self.SOURCE: source_amounts or SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        self.assertEqual({}, self.allocations(migration.uuid))
        stored = self.stored_instance()
        self.assertIsNone(stored.task_state)
        self.assertIsNone(stored.migration_context)
        self.assertEqual(self.SOURCE, stored.host)
        self.assertEqual(fields.MigrationStatus.ERROR,
                         objects.Migration.get_by_id(
                             self.context, migration.id).status)
        self.dests.rpc.live_migration.assert_not_called()

