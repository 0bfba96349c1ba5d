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


class PMEMLabelRuleTestCase(test.NoDBTestCase):
    """One rule for hw:pmem and [libvirt]pmem_namespaces labels."""

    def test_limit_follows_placement(self):
        # Placement: ^CUSTOM_[A-Z0-9_]+$, at most 255 characters.
        self.assertEqual(255, hardware.RESOURCE_CLASS_MAX_LENGTH)
        self.assertEqual(255 - len('CUSTOM_PMEM_NAMESPACE_'),
                         hardware.PMEM_LABEL_MAX_LENGTH)
        self.assertEqual(233, hardware.PMEM_LABEL_MAX_LENGTH)

    def test_label_at_the_limit(self):
        label = 'a' * 233
        self.assertTrue(hardware.is_valid_pmem_label(label))
        self.assertEqual([label], hardware.validate_pmem_extra_spec(label))
        resource_class = hardware.pmem_resource_class(label)
        self.assertEqual(255, len(resource_class))
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_' + 'A' * 233,
                         resource_class)

    def test_label_over_the_limit(self):
        exc = self.assertRaises(exception.InvalidPMEMExtraSpec,
                                hardware.validate_pmem_extra_spec,
                                'SMALL,' + 'a' * 234)
        self.assertIn('(234 characters) is too long', str(exc))
        self.assertIn('1 to 233 characters', str(exc))
        self.assertFalse(hardware.is_valid_pmem_label('a' * 240))

    def test_label_characters(self):
        for label in ('a-b', 'a.b', 'a b', 'a:b', 'a|b', 'é', 'a\n',
                      '\u0660', 'K\u212a'):
            self.assertFalse(hardware.is_valid_pmem_label(label), label)
            problem = hardware.pmem_label_problem(label)
            self.assertIn('holds', problem)
            self.assertIn("A-Z, a-z, 0-9 and '_'", problem)
        for label in ('a', '_', '0', 'Small_4G'):
            self.assertTrue(hardware.is_valid_pmem_label(label), label)

    def test_label_not_a_string(self):
        self.assertIn('not a string', hardware.pmem_label_problem(4))
        self.assertIn('empty', hardware.pmem_label_problem(''))

    def test_namespace_names(self):
        limit = hardware.PMEM_NAMESPACE_NAME_MAX_LENGTH
        self.assertEqual(63, limit)
        for name in ('ns0', 'n' * limit, '0.a-b_c', '_x'):
            self.assertTrue(hardware.is_valid_pmem_namespace_name(name))
        for name in ('', 'n' * (limit + 1), '.x', '-x', 'a/b', 'a:b',
                     'a|b', 'a,b', 'a b', 'a\n', '..', 'é', None, 3):
            self.assertFalse(hardware.is_valid_pmem_namespace_name(name),
                             name)
