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

"""Tests of the flavor helpers in nova.virt.hardware."""

from nova import exception
from nova import objects
from nova import test
from nova.virt import hardware


def _flavor(**extra_specs):
    return objects.Flavor(extra_specs=extra_specs)


class PMEMExtraSpecTestCase(test.NoDBTestCase):

    def test_labels_absent(self):
        self.assertEqual([], hardware.get_vpmem_labels(_flavor()))
        self.assertEqual([], hardware.get_vpmem_labels(
            _flavor(**{'hw:cpu_policy': 'dedicated'})))

    def test_labels_stripped_in_order_with_repeats(self):
        flavor = _flavor(**{'hw:pmem': ' SMALL, 4G ,SMALL,big_1'})
        self.assertEqual(['SMALL', '4G', 'SMALL', 'big_1'],
                         hardware.get_vpmem_labels(flavor))

    def test_single_label(self):
        self.assertEqual(['4GB'], hardware.validate_pmem_extra_spec('4GB'))

    def _assert_invalid(self, value, fragment):
        exc = self.assertRaises(exception.InvalidPMEMExtraSpec,
                                hardware.validate_pmem_extra_spec, value)
        self.assertIsInstance(exc, exception.Invalid)
        self.assertEqual(400, exc.code)
        self.assertEqual(value, exc.kwargs['value'])
        self.assertIn(fragment, exc.format_message())
        return exc

    def test_empty_string(self):
        self._assert_invalid('', 'names no label')
        self._assert_invalid('  ', 'names no label')

    def test_empty_items(self):
        self._assert_invalid('SMALL,,BIG', 'item 2 is empty')
        self._assert_invalid('SMALL,', 'item 2 is empty')
        self._assert_invalid(',SMALL', 'item 1 is empty')
        self._assert_invalid('SMALL, ,BIG', 'item 2 is empty')

    def test_bad_characters(self):
        self._assert_invalid('SMALL,4-G', "'4-G'")
        self._assert_invalid('SMALL BIG', "'SMALL BIG'")
        self._assert_invalid('ns:0', "'ns:0'")
        self._assert_invalid('SMALL|BIG', "'SMALL|BIG'")

    def test_not_a_string(self):
        self._assert_invalid(['SMALL'], 'string')

    def test_invalid_flavor_spec_raises_on_read(self):
        self.assertRaises(exception.InvalidPMEMExtraSpec,
                          hardware.get_vpmem_labels,
                          _flavor(**{'hw:pmem': 'A,,B'}))

    def test_resource_amounts(self):
        flavor = _flavor(**{'hw:pmem': 'SMALL,4G,SMALL'})
        self.assertEqual({'CUSTOM_PMEM_NAMESPACE_SMALL': 2,
                          'CUSTOM_PMEM_NAMESPACE_4G': 1},
                         hardware.get_vpmem_resource_amounts(flavor))

    def test_resource_amounts_none(self):
        self.assertEqual({}, hardware.get_vpmem_resource_amounts(_flavor()))

    def test_resource_class_is_upper_case(self):
        # Labels differing in case land in one class, as placement's
        # normalization upper-cases.
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_SMALL_1',
                         hardware.pmem_resource_class('small_1'))
