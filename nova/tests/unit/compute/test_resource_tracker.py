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

"""Unit tests of the resource tracker's namespace assignments."""

from unittest import mock
import uuid

from nova.compute import resource_tracker
from nova import exception
from nova import objects
from nova import test

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'
NODE = 'node-a'


class FakeDriver:
    """Offers three SMALL namespaces on one node."""

    def __init__(self, names=('ns0', 'ns1', 'ns2')):
        self.names = list(names)

    def get_available_resource(self, nodename):
        return {'vcpus': 8, 'memory_mb': 4096, 'local_gb': 10,
                'hypervisor_type': 'QEMU', 'hypervisor_version': 7002000,
                'cpu_info': '{}'}

    def get_inventory(self, nodename):
        return {RC: {'total': len(self.names)}} if self.names else {}

    def get_vpmem_resources(self, nodename, rp_uuid):
        return objects.ResourceList(objects=[
            objects.Resource(
                provider_uuid=rp_uuid, resource_class=RC, identifier=name,
                metadata=objects.LibvirtVPMEMDevice(
                    label='SMALL', name=name, size=4 << 20,
                    devpath='/pmem/%s' % name, align=2 << 20))
            for name in self.names])


class TestResourceTracker(test.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = FakeDriver()
        self.report = mock.Mock()
        self.rt = resource_tracker.ResourceTracker('host-a', self.driver,
                                                   self.report)
        self.node = self.rt.update_available_resource(self.context, NODE,
                                                      startup=True)
        self.flavor = objects.Flavor(
            self.context, name='f', flavorid='f', memory_mb=128, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()

    def _instance(self, host='host-a', node=NODE):
        instance = objects.Instance(
            self.context, uuid=str(uuid.uuid4()), user_id='u',
            project_id='p', flavor=self.flavor, vm_state='building',
            host=None, node=None)
        instance.create()
        return instance

    def _incoming(self, status):
        """An instance on host-b live-migrating here, and its migration."""
        incoming = self._instance()
        incoming.host = 'host-b'
        incoming.save()
        migration = objects.Migration(
            self.context, instance_uuid=incoming.uuid,
            source_compute='host-b', source_node='node-b',
            dest_compute='host-a', dest_node=NODE,
            migration_type='live-migration', status=status)
        migration.create()
        return incoming, migration

    def _allocs(self, amount, rp=None):
        return {rp or self.node.uuid: {'resources': {RC: amount,
                                                     'VCPU': 1}}}

    def test_inventory_reported_for_the_node(self):
        self.report.set_inventory.assert_called_once_with(
            self.context, self.node.uuid, NODE, {RC: {'total': 3}})

    def test_claim_assigns_exactly_the_allocated_amount(self):
        instance = self._instance()
        claimed = self.rt.instance_claim(self.context, instance, NODE,
                                         self._allocs(2))
        self.assertEqual(['ns0', 'ns1'],
                         sorted(r.identifier for r in claimed))
        saved = objects.Instance.get_by_uuid(self.context, instance.uuid,
                                             expected_attrs=['resources'])
        self.assertEqual(['ns0', 'ns1'],
                         sorted(r.identifier for r in saved.resources))
        self.assertEqual('host-a', saved.host)
        self.assertEqual({RC: ['ns0', 'ns1']},
                         self.rt.assigned_identifiers(NODE))

    def test_claims_never_share_and_exhaustion_keeps_nothing(self):
        first = self.rt.instance_claim(self.context, self._instance(), NODE,
                                       self._allocs(2))
        second = self._instance()
        err = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.rt.instance_claim, self.context,
                                second, NODE, self._allocs(2))
        self.assertIn('1 of 3 free', str(err))
        self.assertEqual(sorted(r.identifier for r in first),
                         self.rt.assigned_identifiers(NODE)[RC])
        third = self.rt.instance_claim(self.context, self._instance(), NODE,
                                       self._allocs(1))
        self.assertEqual(['ns2'], [r.identifier for r in third])

    def test_other_providers_allocations_are_ignored(self):
        claimed = self.rt.instance_claim(
            self.context, self._instance(), NODE,
            self._allocs(3, rp=str(uuid.uuid4())))
        self.assertEqual([], list(claimed))

    def test_release_frees_namespaces(self):
        instance = self._instance()
        claimed = self.rt.instance_claim(self.context, instance, NODE,
                                         self._allocs(3))
        self.rt.release_resources(claimed)
        self.assertEqual(3, len(self.rt.free_resources(NODE, RC)))

    def test_rebuild_from_database_includes_migrations(self):
        here = self._instance()
        self.rt.instance_claim(self.context, here, NODE, self._allocs(1))
        incoming, migration = self._incoming('running')
        self.rt.move_claim(self.context, incoming, NODE,
                                     migration, self._allocs(1))
        expected = self.rt.assigned_identifiers(NODE)

        # A new tracker (a restarted service) finds the same assignments.
        fresh = resource_tracker.ResourceTracker('host-a', self.driver,
                                                 mock.Mock())
        fresh.update_available_resource(self.context, NODE, startup=True)
        self.assertEqual(expected, fresh.assigned_identifiers(NODE))
        self.assertEqual(2, len(expected[RC]))

        # A finished migration no longer holds anything here.
        migration.status = 'failed'
        migration.save()
        fresh.update_available_resource(self.context, NODE)
        self.assertEqual(1, len(fresh.assigned_identifiers(NODE)[RC]))

    def test_error_migration_keeps_namespaces_reserved(self):
        incoming, migration = self._incoming('error')
        self.rt.move_claim(self.context, incoming, NODE,
                                     migration, self._allocs(2))
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual(2, len(self.rt.assigned_identifiers(NODE)[RC]))

    def test_drop_move_claim(self):
        incoming = self._instance()
        migration = objects.Migration(
            self.context, instance_uuid=incoming.uuid,
            source_compute='host-b', dest_compute='host-a',
            dest_node=NODE, migration_type='live-migration',
            status='preparing')
        migration.create()
        self.rt.move_claim(self.context, incoming, NODE,
                                     migration, self._allocs(2))
        released = self.rt.drop_move_claim(self.context, incoming,
                                           migration)
        self.assertEqual(2, len(released))
        self.assertEqual({}, self.rt.assigned_identifiers(NODE))
        reloaded = objects.Instance.get_by_uuid(
            self.context, incoming.uuid,
            expected_attrs=['migration_context'])
        self.assertIsNone(reloaded.migration_context)

    def test_startup_refuses_when_held_namespace_disappears(self):
        instance = self._instance()
        self.rt.instance_claim(self.context, instance, NODE,
                               self._allocs(3))
        shrunk = resource_tracker.ResourceTracker(
            'host-a', FakeDriver(names=('ns0', 'ns1')), mock.Mock())
        err = self.assertRaises(exception.AssignedResourceNotFound,
                                shrunk.update_available_resource,
                                self.context, NODE, startup=True)
        self.assertIn('ns2', str(err))
        self.assertIn(instance.uuid, str(err))
        # After startup the periodic only logs, so a running service
        # keeps serving while the operator fixes the configuration.
        shrunk2 = resource_tracker.ResourceTracker(
            'host-a', FakeDriver(names=('ns0', 'ns1')), mock.Mock())
        shrunk2.update_available_resource(self.context, NODE)
