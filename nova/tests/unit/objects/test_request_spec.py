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

"""RequestSpec, Destination, NUMA topology and live migration data."""

from nova import objects
from nova import test
from nova.tests.unit.objects import fake_objects


class TestRequestSpec(test.NoDBTestCase):

    def test_from_instance(self):
        instance = fake_objects.instance()
        spec = objects.RequestSpec.from_instance(
            self.context, instance, ignore_hosts=[instance.host],
            requested_destination=objects.Destination(host='dst'))
        self.assertEqual(instance.uuid, spec.instance_uuid)
        self.assertEqual('project', spec.project_id)
        self.assertEqual('user', spec.user_id)
        self.assertIs(instance.flavor, spec.flavor)
        self.assertEqual(1, spec.num_instances)
        self.assertEqual(['src'], spec.ignore_hosts)
        self.assertIsNone(spec.force_hosts)
        self.assertEqual('dst', spec.requested_destination.host)
        self.assertIs(self.context, spec._context)

    def test_scheduler_hints(self):
        spec = fake_objects.request_spec(
            scheduler_hints={'group': ['g1'], 'near': ['a', 'b']})
        self.assertEqual('g1', spec.get_scheduler_hint('group'))
        self.assertEqual(['a', 'b'], spec.get_scheduler_hint('near'))
        self.assertEqual('x', spec.get_scheduler_hint('missing', 'x'))
        spec.scheduler_hints = None
        self.assertIsNone(spec.get_scheduler_hint('group'))


class TestNUMATopology(test.NoDBTestCase):

    def test_memory_sums_cells(self):
        self.assertEqual(2048, fake_objects.numa_topology().memory)


class TestLibvirtLiveMigrateData(test.NoDBTestCase):

    def test_has_vpmems(self):
        self.assertTrue(fake_objects.libvirt_migrate_data().has_vpmems)
        self.assertFalse(fake_objects.libvirt_migrate_data(
            dst_vpmems=[]).has_vpmems)
        self.assertFalse(fake_objects.libvirt_migrate_data(
            dst_vpmems=None).has_vpmems)
        self.assertFalse(objects.LibvirtLiveMigrateData().has_vpmems)

    def test_shared_storage(self):
        data = fake_objects.libvirt_migrate_data()
        self.assertFalse(data.is_on_shared_storage())
        data.is_shared_instance_path = True
        self.assertTrue(data.is_on_shared_storage())

    def test_is_a_live_migrate_data(self):
        # Code that accepts any LiveMigrateData accepts the libvirt one.
        self.assertIsInstance(fake_objects.libvirt_migrate_data(),
                              objects.LiveMigrateData)
