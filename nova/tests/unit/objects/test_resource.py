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

"""Resource, ResourceList and the vpmem device metadata."""

from nova import objects
from nova import test
from nova.tests.unit.objects import fake_objects


class TestVPMEMDevice(test.NoDBTestCase):

    def test_equal_on_fields(self):
        self.assertEqual(fake_objects.vpmem_device('ns0'),
                         fake_objects.vpmem_device('ns0'))
        self.assertNotEqual(fake_objects.vpmem_device('ns0'),
                            fake_objects.vpmem_device('ns1'))
        self.assertNotEqual(
            fake_objects.vpmem_device('ns0', devpath='/dev/dax0.0'),
            fake_objects.vpmem_device('ns0', devpath='/dev/dax9.9'))
        self.assertNotEqual(fake_objects.vpmem_device('ns0', size=1),
                            fake_objects.vpmem_device('ns0', size=2))

    def test_hashable(self):
        devices = {fake_objects.vpmem_device('ns0'),
                   fake_objects.vpmem_device('ns0'),
                   fake_objects.vpmem_device('ns1')}
        self.assertEqual(2, len(devices))
        self.assertIn(fake_objects.vpmem_device('ns1'), devices)

    def test_not_equal_to_other_metadata_class(self):
        self.assertNotEqual(objects.ResourceMetadata(),
                            fake_objects.vpmem_device())
        self.assertNotEqual(fake_objects.vpmem_device(), 'ns0')


class TestResource(test.NoDBTestCase):

    def test_equal_on_four_fields(self):
        one = fake_objects.vpmem_resource('ns0')
        same = fake_objects.vpmem_resource('ns0')
        self.assertEqual(one, same)
        self.assertEqual(hash(one), hash(same))
        self.assertIsNot(one.metadata, same.metadata)

    def test_each_field_counts(self):
        base = fake_objects.vpmem_resource('ns0')
        others = [
            fake_objects.vpmem_resource(
                'ns0', provider_uuid=fake_objects.DEST_PROVIDER_UUID),
            fake_objects.vpmem_resource('ns0', label='8GB'),
            fake_objects.vpmem_resource('ns1'),
            fake_objects.vpmem_resource('ns0', devpath='/dev/dax7.7'),
        ]
        for other in others:
            self.assertNotEqual(base, other)
        # Only the identifier differs from base here.
        renamed = fake_objects.vpmem_resource('ns0')
        renamed.identifier = 'other'
        self.assertNotEqual(base, renamed)

    def test_set_semantics(self):
        # The resource tracker keeps assignments in sets: the same
        # namespace read twice (e.g. from the DB) must not count twice.
        assigned = {fake_objects.vpmem_resource('ns0'),
                    fake_objects.vpmem_resource('ns1')}
        assigned.add(fake_objects.vpmem_resource('ns0'))
        self.assertEqual(2, len(assigned))
        assigned.discard(fake_objects.vpmem_resource('ns1'))
        self.assertEqual({fake_objects.vpmem_resource('ns0')}, assigned)

    def test_without_metadata(self):
        plain = objects.Resource(provider_uuid=fake_objects.PROVIDER_UUID,
                                 resource_class='CUSTOM_GPU',
                                 identifier='gpu0')
        with_none = objects.Resource(
            provider_uuid=fake_objects.PROVIDER_UUID,
            resource_class='CUSTOM_GPU', identifier='gpu0', metadata=None)
        self.assertEqual(plain, with_none)
        self.assertEqual(hash(plain), hash(with_none))

    def test_resource_class_validated(self):
        resource = objects.Resource()
        self.assertRaises(ValueError, setattr, resource, 'resource_class',
                          'custom_lower')
        self.assertRaises(ValueError, setattr, resource, 'resource_class',
                          'CUSTOM-DASH')
        resource.resource_class = 'CUSTOM_PMEM_NAMESPACE_4GB'
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_4GB', resource.resource_class)

    def test_metadata_accepts_subclasses_only(self):
        resource = objects.Resource()
        resource.metadata = fake_objects.vpmem_device()
        self.assertRaises(ValueError, setattr, resource, 'metadata',
                          objects.Destination(host='h'))


class TestResourceList(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        gpu = objects.Resource(provider_uuid=fake_objects.PROVIDER_UUID,
                               resource_class='CUSTOM_GPU',
                               identifier='gpu0', metadata=None)
        self.gpu = gpu
        self.resources = fake_objects.resource_list(
            fake_objects.vpmem_resource('ns0'), gpu,
            fake_objects.vpmem_resource(
                'ns4', provider_uuid=fake_objects.DEST_PROVIDER_UUID,
                label='8GB'))

    def test_filter_by_metadata_type(self):
        vpmems = self.resources.filter_by_metadata_type(
            objects.LibvirtVPMEMDevice)
        self.assertIsInstance(vpmems, objects.ResourceList)
        self.assertEqual(['ns0', 'ns4'], [r.identifier for r in vpmems])
        self.assertEqual(3, len(self.resources))

    def test_filter_by_resource_class(self):
        found = self.resources.filter_by_resource_class(
            'CUSTOM_PMEM_NAMESPACE_8GB')
        self.assertEqual(['ns4'], [r.identifier for r in found])

    def test_filter_by_provider(self):
        found = self.resources.filter_by_provider(fake_objects.PROVIDER_UUID)
        self.assertEqual(['ns0', 'gpu0'], [r.identifier for r in found])

    def test_contains_uses_equality(self):
        self.assertIn(fake_objects.vpmem_resource('ns0'), self.resources)
        self.assertNotIn(fake_objects.vpmem_resource('ns9'), self.resources)
