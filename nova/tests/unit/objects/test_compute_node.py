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

"""ComputeNode and ComputeNodeList against the real database."""

from nova import exception
from nova import objects
from nova import test


class TestComputeNode(test.TestCase):

    def _create(self, host='h1', node='h1-node', **values):
        compute = objects.ComputeNode(
            self.context, host=host, hypervisor_hostname=node,
            hypervisor_type='QEMU', hypervisor_version=8002000, vcpus=8,
            memory_mb=16384, local_gb=100, **values)
        compute.create()
        return compute

    def test_create_and_get(self):
        compute = self._create()
        self.assertTrue(compute.obj_attr_is_set('uuid'))
        self.assertEqual(0, compute.vcpus_used)
        for loaded in (
                objects.ComputeNode.get_by_id(self.context, compute.id),
                objects.ComputeNode.get_by_uuid(self.context, compute.uuid),
                objects.ComputeNode.get_by_host_and_nodename(
                    self.context, 'h1', 'h1-node')):
            self.assertEqual(compute.id, loaded.id)
            self.assertEqual(16384, loaded.memory_mb)

    def test_get_missing(self):
        self.assertRaises(exception.ComputeHostNodeNotFound,
                          objects.ComputeNode.get_by_host_and_nodename,
                          self.context, 'h1', 'nope')

    def test_save(self):
        compute = self._create()
        compute.vcpus_used = 3
        compute.memory_mb_used = 4096
        compute.save()
        self.assertEqual(set(), compute.obj_what_changed())
        loaded = objects.ComputeNode.get_by_id(self.context, compute.id)
        self.assertEqual(3, loaded.vcpus_used)
        self.assertEqual(4096, loaded.memory_mb_used)

    def test_destroy(self):
        compute = self._create()
        compute.destroy()
        self.assertRaises(exception.ComputeNodeNotFound,
                          objects.ComputeNode.get_by_id, self.context,
                          compute.id)

    def test_lists(self):
        self._create('h1', 'n1')
        self._create('h1', 'n2')
        self._create('h2', 'n3')
        self.assertEqual(['n1', 'n2'], sorted(
            c.hypervisor_hostname for c in
            objects.ComputeNodeList.get_all_by_host(self.context, 'h1')))
        self.assertEqual(3, len(objects.ComputeNodeList.get_all(
            self.context)))

    def test_host_ip(self):
        compute = self._create(host_ip='192.0.2.7')
        loaded = objects.ComputeNode.get_by_id(self.context, compute.id)
        self.assertEqual('192.0.2.7', str(loaded.host_ip))
        loaded.host_ip = '2001:db8::7'
        loaded.save()
        self.assertEqual('2001:db8::7', str(objects.ComputeNode.get_by_id(
            self.context, compute.id).host_ip))
        self.assertIsNone(self._create('h2', 'n2').host_ip)

    def test_host_ip_dropped_for_a_1_0_peer(self):
        compute = self._create(host_ip='192.0.2.7')
        primitive = compute.obj_to_primitive(target_version='1.0')
        self.assertNotIn('host_ip', primitive['nova_object.data'])
        self.assertIn('host_ip', compute.obj_to_primitive()[
            'nova_object.data'])
