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

"""Flavor and FlavorList against the real database."""

from nova import exception
from nova import objects
from nova import test


class TestFlavor(test.TestCase):

    def _create(self, name='vpmem.small', flavorid='vs', **values):
        flavor = objects.Flavor(self.context, name=name, flavorid=flavorid,
                                memory_mb=2048, vcpus=2, root_gb=10,
                                **values)
        flavor.create()
        return flavor

    def test_create_with_extra_specs(self):
        flavor = self._create(extra_specs={'hw:pmem': '4GB,4GB'})
        self.assertTrue(flavor.obj_attr_is_set('id'))
        self.assertTrue(flavor.is_public)
        self.assertEqual(0, flavor.swap)
        for loaded in (
                objects.Flavor.get_by_id(self.context, flavor.id),
                objects.Flavor.get_by_flavor_id(self.context, 'vs'),
                objects.Flavor.get_by_name(self.context, 'vpmem.small')):
            self.assertEqual(flavor.id, loaded.id)
            self.assertEqual({'hw:pmem': '4GB,4GB'}, loaded.extra_specs)
            self.assertEqual(set(), loaded.obj_what_changed())

    def test_create_generates_flavorid(self):
        flavor = objects.Flavor(self.context, name='auto', memory_mb=1,
                                vcpus=1)
        flavor.create()
        self.assertEqual(flavor.id, objects.Flavor.get_by_flavor_id(
            self.context, flavor.flavorid).id)

    def test_duplicates(self):
        self._create()
        self.assertRaises(exception.FlavorExists, self._create,
                          flavorid='other')
        self.assertRaises(exception.FlavorIdExists, self._create,
                          name='other')

    def test_save_extra_specs(self):
        flavor = self._create(extra_specs={'hw:pmem': '4GB', 'a': '1'})
        flavor.save_extra_specs(to_add={'hw:pmem': '4GB,8GB', 'b': '2'},
                                to_delete=['a'])
        expected = {'hw:pmem': '4GB,8GB', 'b': '2'}
        self.assertEqual(expected, flavor.extra_specs)
        self.assertEqual(expected, objects.Flavor.get_by_id(
            self.context, flavor.id).extra_specs)

    def test_save_sends_the_difference(self):
        flavor = self._create(extra_specs={'keep': '1', 'drop': '2'})
        flavor.extra_specs = {'keep': '1', 'new': '3'}
        flavor.save()
        self.assertEqual({'keep': '1', 'new': '3'}, objects.Flavor.get_by_id(
            self.context, flavor.id).extra_specs)
        self.assertEqual(set(), flavor.obj_what_changed())

    def test_save_of_copy_compares_with_db(self):
        flavor = self._create(extra_specs={'keep': '1', 'drop': '2'})
        copy = flavor.obj_clone()
        copy.extra_specs = {'keep': '1'}
        copy.save()
        self.assertEqual({'keep': '1'}, objects.Flavor.get_by_id(
            self.context, flavor.id).extra_specs)

    def test_save_refuses_other_fields(self):
        flavor = self._create()
        flavor.memory_mb = 4096
        self.assertRaises(exception.ObjectActionError, flavor.save)

    def test_delete_missing_spec(self):
        flavor = self._create()
        self.assertRaises(exception.FlavorExtraSpecsNotFound,
                          flavor.save_extra_specs, to_delete=['nope'])

    def test_destroy(self):
        flavor = self._create(extra_specs={'x': 'y'})
        flavor.destroy()
        self.assertRaises(exception.FlavorNotFound,
                          objects.Flavor.get_by_flavor_id, self.context,
                          'vs')

    def test_list(self):
        self._create()
        self._create(name='big', flavorid='big')
        self.assertEqual(['big', 'vpmem.small'], sorted(
            f.name for f in objects.FlavorList.get_all(self.context)))
