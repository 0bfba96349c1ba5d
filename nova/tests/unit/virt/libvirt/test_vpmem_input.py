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

"""Strict input: ``ndctl list -X`` output and ``[libvirt]pmem_namespaces``.

Each documented case has a test of its own; property-based tests then
throw generated input at both parsers and check that the answer is either
a parse obeying every rule or the documented exception, never another
exception and never a device path outside /dev.
"""

import copy
import json
import os
import re

import fixtures
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from nova import exception
from nova import test
import nova.privsep
from nova.virt import hardware
from nova.virt.libvirt import vpmem
from nova.virt.libvirt import vpmem_backends

# Repeatable and quick: the same examples on every run, nothing stored.
PROPERTIES = settings(max_examples=150, deadline=None, database=None,
                      derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow])

GOOD_RECORD = {
    'dev': 'namespace0.1', 'mode': 'devdax', 'map': 'dev',
    'size': 4225761280, 'uuid': '987c7adc-9c3e-4edf-8d9d-e402fd194282',
    'daxregion': {'id': 0, 'size': 4225761280, 'align': 2097152,
                  'devices': [{'chardev': 'dax0.1', 'size': 4225761280,
                               'align': 2097152, 'mode': 'devdax'}]},
    'align': 2097152, 'name': 'ns0', 'numa_node': 0,
}
_DEVPATH = re.compile(r'/dev/dax[0-9]+\.[0-9]+')


def _record(**changes):
    """GOOD_RECORD with fields changed; a value of ``...`` removes it.

    ``chardev`` and ``align`` are the fields of the dax region.
    """
    record = copy.deepcopy(GOOD_RECORD)
    for field, value in changes.items():
        if field == 'chardev':
            target, key = record['daxregion']['devices'][0], 'chardev'
        elif field == 'align':
            target, key = record['daxregion'], 'align'
        else:
            target, key = record, field
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
    return record


def _text(*records):
    return json.dumps(list(records))


def _devpath_is_under_dev(devpath):
    """Decided on the string alone: no filesystem is looked at."""
    normalised = os.path.normpath(devpath)
    return (normalised == devpath and os.path.isabs(devpath) and
            os.path.dirname(normalised) == '/dev' and
            os.path.basename(normalised) not in ('', '.', '..'))


def _assert_valid_device(case, device):
    case.assertTrue(_devpath_is_under_dev(device.devpath), device.devpath)
    case.assertRegex(device.devpath, _DEVPATH)
    case.assertIs(type(device.size), int)
    case.assertGreater(device.size, 0)
    case.assertLessEqual(device.size, vpmem_backends.MAX_BYTES)
    case.assertIs(type(device.align), int)
    case.assertGreater(device.align, 0)
    case.assertEqual(0, device.align & (device.align - 1), device.align)
    case.assertTrue(hardware.is_valid_pmem_namespace_name(device.name),
                    device.name)


class NdctlCasesTestCase(test.NoDBTestCase):
    """Each malformed field of a configured namespace, one by one."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=10))

    def _refused(self, text, *fragments, wanted=('ns0',)):
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                vpmem_backends.parse_ndctl_namespaces,
                                text, wanted=wanted)
        message = exc.format_message()
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def _field_refused(self, field, value, *fragments):
        message = self._refused(_text(_record(**{field: value})),
                                'devdax namespace ns0 (namespace0.1)',
                                *fragments)
        # The same record for a namespace nobody configured only warns.
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces(
            _text(_record(**{field: value})), wanted=['other']))
        self.assertIn('Ignoring devdax namespace ns0', self.log.output)
        return message

    def test_good_record(self):
        [device] = vpmem_backends.parse_ndctl_namespaces(
            _text(GOOD_RECORD), wanted=['ns0'])
        self.assertEqual(('ns0', '/dev/dax0.1', 4225761280, 2097152),
                         (device.name, device.devpath, device.size,
                          device.align))

    def test_chardev_null(self):
        self._field_refused('chardev', None,
                            'daxregion.devices[0].chardev is null')

    def test_chardev_number(self):
        self._field_refused('chardev', 7,
                            'daxregion.devices[0].chardev is 7')

    def test_chardev_list(self):
        self._field_refused('chardev', ['dax0.1'],
                            'daxregion.devices[0].chardev is a list')

    def test_chardev_path_traversal(self):
        message = self._field_refused(
            'chardev', '../../etc/passwd',
            "chardev is the string '../../etc/passwd'",
            'dax<region>.<number>')
        self.assertNotIn('/dev/../', message)

    def test_chardev_other_paths(self):
        for chardev in ('/dev/dax0.1', 'dax0.1/../../sda', 'dax0.1/',
                        'sda', 'dax0.1\n', 'dax0.1 ', '..', '', 'dax0',
                        'dax0.1\x00', 'dax٠.١'):
            self._field_refused('chardev', chardev, 'chardev')

    def test_chardev_missing(self):
        self._field_refused('chardev', ..., 'no daxregion.devices[0]'
                                            '.chardev')

    def test_name_dict(self):
        # The name itself is bad: the record is named by position and dev.
        text = _text(_record(name={'a': 1}))
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces(
            text, wanted=['ns0']))
        self.assertIn('the devdax namespace of record 1 (namespace0.1)',
                      self.log.output)
        self.assertIn('type dict, not a string', self.log.output)

    def test_configured_name_breaking_the_rule(self):
        message = self._refused(_text(_record(name='ns 0')),
                                'the devdax namespace of record 1 '
                                '(namespace0.1)', "'ns 0' holds ' '",
                                wanted=['ns 0'])
        self.assertIn('1 to %d characters'
                      % hardware.PMEM_NAMESPACE_NAME_MAX_LENGTH, message)

    def test_size_infinity(self):
        text = '[%s]' % json.dumps(GOOD_RECORD).replace(
            '"size": 4225761280, "uuid"', '"size": Infinity, "uuid"')
        self.assertIn('Infinity', text)
        self._refused(text, 'its size is the non-integer number inf')

    def test_size_nan(self):
        self._field_refused('size', float('nan'), 'its size is the '
                                                  'non-integer number nan')

    def test_size_negative(self):
        self._field_refused('size', -1, 'its size is -1',
                            'whole number of bytes, 1 to 2**63-1')

    def test_size_zero(self):
        self._field_refused('size', 0, 'its size is 0')

    def test_size_true(self):
        self._field_refused('size', True, 'its size is the boolean true')

    def test_size_float(self):
        self._field_refused('size', 4096.0, 'non-integer number 4096.0')

    def test_size_string_of_digits(self):
        # ndctl prints numbers as JSON numbers; a string is another
        # format, not guessed at.
        self._field_refused('size', '4096', "its size is the string "
                                            "'4096'", 'as a JSON number')

    def test_size_huge(self):
        self._field_refused('size', 2 ** 63, 'its size is %d' % 2 ** 63)
        self._field_refused('size', 10 ** 100, 'more than 30 digits')

    def test_size_largest_accepted(self):
        [device] = vpmem_backends.parse_ndctl_namespaces(
            _text(_record(size=2 ** 63 - 1)))
        self.assertEqual(2 ** 63 - 1, device.size)

    def test_size_missing(self):
        self._field_refused('size', ..., 'it has no size')

    def test_align_zero(self):
        self._field_refused('align', 0, 'daxregion.align is 0',
                            'power of two')

    def test_align_negative(self):
        self._field_refused('align', -4096, 'daxregion.align is -4096')

    def test_align_not_power_of_two(self):
        self._field_refused('align', 3, 'daxregion.align is 3')
        self._field_refused('align', 4096 * 3, 'daxregion.align is 12288')

    def test_align_bool(self):
        self._field_refused('align', True, 'daxregion.align is the boolean')

    def test_daxregion_not_object(self):
        self._field_refused('daxregion', [], 'its daxregion is a list, '
                                             'not an object')

    def test_devices_not_exactly_one(self):
        region = copy.deepcopy(GOOD_RECORD['daxregion'])
        region['devices'] = []
        self._field_refused('daxregion', region, 'daxregion.devices is 0 '
                                                 'devices')
        region['devices'] = [{'chardev': 'dax0.1'}, {'chardev': 'dax0.2'}]
        self._field_refused('daxregion', region, 'is 2 devices')
        region['devices'] = 'dax0.1'
        self._field_refused('daxregion', region, 'devices is the string')
        region['devices'] = [None]
        self._field_refused('daxregion', region, 'devices[0] is null')

    def test_not_json(self):
        message = self._refused('libndctl: error: no bus', 'not JSON')
        self.assertIn('libndctl', message)

    def test_nested_too_deeply(self):
        for text in ('[' * 100000 + ']' * 100000,
                     '{"a":' * 100000 + '1' + '}' * 100000):
            self._refused(text, 'nested too deeply')

    def test_number_too_long_for_python(self):
        # Python refuses to read integers of more than 4300 digits.
        self._refused('[{"size": %s}]' % ('9' * 5000), 'not JSON')

    def test_neither_list_nor_object(self):
        for text in ('"x"', '3', 'null', 'true'):
            self._refused(text, 'neither a list nor an object')

    def test_bytes_that_are_not_utf8(self):
        self._refused(b'\xff\xfe[]', 'not JSON')

    def test_not_text(self):
        self._refused(None, 'instead of text')

    def test_other_modes_and_unnamed_are_left_out_quietly(self):
        text = _text(_record(mode='fsdax', chardev=None),
                     _record(name=None, chardev=None),
                     _record(name='', size='junk'), _record(mode=...),
                     _record(name='ns1', dev='namespace0.2',
                             chardev='dax0.2'))
        devices = vpmem_backends.parse_ndctl_namespaces(
            text, wanted=['ns0', 'ns1'])
        self.assertEqual(['ns1'], [d.name for d in devices])
        self.assertNotIn('Ignoring', self.log.output)

    def test_record_that_is_not_an_object_is_skipped(self):
        text = json.dumps([3, GOOD_RECORD])
        self.assertEqual(['ns0'], [d.name for d in
                                   vpmem_backends.parse_ndctl_namespaces(
                                       text, wanted=['ns0'])])
        self.assertIn('Ignoring record 1', self.log.output)

    def test_problems_are_returned_per_record(self):
        text = _text(_record(name='a', chardev='../x'),
                     _record(name='b', dev='namespace0.2',
                             chardev='dax0.2'),
                     _record(name=5, dev='namespace0.3', size=0))
        devices, problems = vpmem_backends.read_ndctl_namespaces(text)
        self.assertEqual(['b'], [d.name for d in devices])
        self.assertEqual(['a', None], [p.name for p in problems])
        self.assertEqual(['devdax namespace a (namespace0.1)',
                          'the devdax namespace of record 3 '
                          '(namespace0.3)'], [p.where for p in problems])
        self.assertIn('chardev', problems[0].reason)

    def test_dev_field_is_only_shown_when_it_looks_like_one(self):
        text = _text(_record(dev='../../x\n', chardev=None))
        self._refused(text, 'devdax namespace ns0 in ndctl list -X')


class NdctlDiscoverTestCase(test.NoDBTestCase):
    """NdctlBackend.discover stops only for a configured namespace."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=10))
        self.useFixture(fixtures.MockPatchObject(
            nova.privsep.sys_admin_pctxt, 'client_mode', False))
        self.execute = self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute')).mock
        self.backend = vpmem_backends.NdctlBackend()

    def _ndctl_prints(self, *records):
        self.execute.return_value = (_text(*records), '')

    def test_broken_configured_namespace_stops_discovery(self):
        self._ndctl_prints(_record(chardev='../../etc/passwd'),
                           _record(name='ns1', chardev='dax0.2'))
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                self.backend.discover, ['ns1', 'ns0'])
        self.assertIn('devdax namespace ns0 (namespace0.1)', str(exc))
        self.assertIn('chardev', str(exc))

    def test_broken_unconfigured_namespace_is_skipped(self):
        self._ndctl_prints(_record(chardev='../../etc/passwd'),
                           _record(name='ns1', chardev='dax0.2'))
        found = self.backend.discover(['ns1'])
        self.assertEqual(['ns1'], list(found))
        self.assertEqual('/dev/dax0.2', found['ns1'].devpath)
        self.assertIn('Ignoring devdax namespace ns0 (namespace0.1)',
                      self.log.output)

    def test_duplicate_names_still_refused(self):
        self._ndctl_prints(_record(), _record(chardev='dax0.2'))
        self.assertRaises(exception.PMEMNamespaceUnusable,
                          self.backend.discover, ['ns0'])

    def test_host_namespaces_name_the_field(self):
        self._ndctl_prints(_record(size=0))
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                vpmem.HostNamespaces, ['SMALL:ns0'],
                                self.backend)
        self.assertIn('its size is 0', str(exc))


class PmemConfigCasesTestCase(test.NoDBTestCase):
    """[libvirt]pmem_namespaces labels and names, case by case."""

    def _refused(self, entry, *fragments, entries=None):
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                vpmem.parse_pmem_config,
                                entries or [entry])
        self.assertEqual(entry, exc.kwargs['entry'])
        message = exc.format_message()
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_second_colon(self):
        message = self._refused('AIO:ns0:ns1', "namespace name 'ns0:ns1' "
                                               "holds ':'")
        self.assertIn("separate namespaces with '|'", message)

    def test_label_of_300_characters(self):
        self._refused('A' * 300 + ':ns0', '(300 characters) is too long',
                      'a label is 1 to 233 characters')

    def test_label_length_boundary(self):
        self.assertEqual(233, hardware.PMEM_LABEL_MAX_LENGTH)
        longest = 'L' * 233
        [item] = vpmem.parse_pmem_config([longest + ':ns0'])
        self.assertEqual(longest, item.label)
        self.assertEqual(hardware.RESOURCE_CLASS_MAX_LENGTH,
                         len(vpmem.resource_class_for_label(longest)))
        self._refused('L' * 234 + ':ns0', '(234 characters) is too long')

    def test_bad_names(self):
        for name, shown in (('ns/0', "'/'"), ('a,b', "','"),
                            ('a b', "' '"), ('ns\t0', r"'\t'"),
                            ('ns0;rm', "';'"), ('n\u00e9', "'\u00e9'"),
                            ('.hidden', "starts with '.'"),
                            ('-x', "starts with '-'")):
            self._refused('SMALL:ns1|%s' % name, shown,
                          'a namespace name is 1 to 63 characters')
        self._refused('SMALL:ns0|ns1,ns2', "separate namespaces with '|' "
                                           "and entries with ','")

    def test_name_length_boundary(self):
        longest = 'n' * hardware.PMEM_NAMESPACE_NAME_MAX_LENGTH
        [item] = vpmem.parse_pmem_config(['SMALL:' + longest])
        self.assertEqual([longest], item.names)
        self._refused('SMALL:' + longest + 'n', 'is too long')

    def test_allowed_names(self):
        [item] = vpmem.parse_pmem_config(['SMALL: ns-0.a_b | 0ns | _x '])
        self.assertEqual(['ns-0.a_b', '0ns', '_x'], item.names)

    def test_labels_sharing_a_class_through_underscores(self):
        self._refused('A_B:ns1', 'CUSTOM_PMEM_NAMESPACE_A_B',
                      entries=['a__b:ns0', 'A_B:ns1'])

    def test_entry_not_a_string(self):
        self._refused(None, 'must be a string')


# -- generated input --------------------------------------------------------

_json_scalars = (st.none() | st.booleans() | st.integers() |
                 st.floats(allow_nan=True, allow_infinity=True) | st.text())
json_values = st.recursive(
    _json_scalars,
    lambda children: (st.lists(children, max_size=4) |
                      st.dictionaries(st.text(max_size=8), children,
                                      max_size=4)),
    max_leaves=12)

valid_names = st.from_regex(r'\A[A-Za-z0-9_][A-Za-z0-9._-]{0,20}\Z')
path_like = st.sampled_from([
    '../../etc/passwd', '/dev/sda', 'dax0.1/../../sda', 'dax0.1/', '.',
    '..', '', './dax0.1', 'dax0.1\x00', '/', 'dax0.1/..', '\\..\\x',
    'dax0.1\n', ' dax0.1', 'dax0.1/../dax0.2', '%2e%2e/x'])
byte_count_junk = (st.integers(-2 ** 64, 0) | st.integers(2 ** 63, 2 ** 70) |
                   st.integers(3, 2 ** 40).filter(lambda n: n & (n - 1)) |
                   st.booleans() | st.floats() |
                   st.integers(0, 2 ** 40).map(str) | json_values)

# Per field: (a value ndctl could print, values it must not be trusted
# with). Each field is wrong in about one record out of four, so that
# both usable and broken records are common.
RECORD_FIELDS = {
    'mode': (st.just('devdax'),
             st.sampled_from(['fsdax', 'raw', 'sector']) | json_values),
    'name': (valid_names, st.text(max_size=70) | json_values),
    'dev': (st.sampled_from(['namespace0.1', 'namespace1.3']),
            st.text(max_size=12) | json_values),
    'size': (st.integers(1, 2 ** 63 - 1), byte_count_junk),
    'chardev': (st.builds('dax{}.{}'.format, st.integers(0, 999),
                          st.integers(0, 999)),
                path_like | st.text(max_size=12) | json_values),
    'align': (st.integers(0, 62).map(lambda exp: 2 ** exp),
              byte_count_junk),
}


@st.composite
def records(draw):
    """ndctl-shaped records whose every field may be wrong or missing."""
    changes = {}
    for field, (good, bad) in RECORD_FIELDS.items():
        # Hypothesis favours small integers: the common case is at 0.
        odds = draw(st.integers(0, 15))
        if odds == 15:
            changes[field] = ...
        elif odds >= 12:
            changes[field] = draw(bad)
        else:
            changes[field] = draw(good)
    record = _record(**changes)
    region = record['daxregion']
    shape = draw(st.integers(0, 15))
    if shape == 15:
        record['daxregion'] = draw(json_values)
    elif shape == 14:
        region['devices'] = draw(json_values)
    elif shape == 13:
        region['devices'].append({'chardev': 'dax9.9'})
    return record


ndctl_documents = (
    st.lists(records(), max_size=5) |
    st.lists(records() | json_values, max_size=4) |
    records() | json_values)


def _requested(document):
    """The string names of a generated document, as configured names."""
    items = document if isinstance(document, list) else [document]
    return {item.get('name') for item in items
            if isinstance(item, dict) and isinstance(item.get('name'), str)}


class NdctlPropertiesTestCase(test.NoDBTestCase):

    def _check(self, text, wanted=()):
        try:
            devices = vpmem_backends.parse_ndctl_namespaces(text,
                                                            wanted=wanted)
        except exception.GetPMEMNamespacesFailed as exc:
            self.assertIn('ndctl list -X', exc.format_message())
            return None
        for device in devices:
            _assert_valid_device(self, device)
        return devices

    @PROPERTIES
    @given(st.text(max_size=200) | st.binary(max_size=200))
    def test_any_text(self, text):
        self._check(text)

    @PROPERTIES
    @given(ndctl_documents, st.booleans())
    def test_generated_documents(self, document, configured):
        text = json.dumps(document)
        wanted = _requested(document) if configured else ()
        devices = self._check(text, wanted)
        if devices is None:
            return
        # What was not refused is exactly what read_ndctl_namespaces
        # found usable, and no configured record was broken.
        usable, problems = vpmem_backends.read_ndctl_namespaces(text)
        self.assertEqual([d.name for d in usable], [d.name for d in devices])
        self.assertFalse([p for p in problems if p.name in wanted])

    @PROPERTIES
    @given(st.lists(records(), min_size=1, max_size=4))
    def test_configured_records_are_used_or_refused(self, document):
        # With every name configured, each named devdax record either
        # gives a device or stops the discovery.
        try:
            devices = vpmem_backends.parse_ndctl_namespaces(
                json.dumps(document), wanted=_requested(document))
        except exception.GetPMEMNamespacesFailed:
            return
        named_devdax = [r for r in document
                        if r.get('mode') == 'devdax' and
                        isinstance(r.get('name'), str) and r['name']]
        self.assertEqual(len(named_devdax), len(devices))

    @PROPERTIES
    @given(valid_names, st.integers(0, 99), st.integers(0, 99),
           st.integers(1, 2 ** 40), st.integers(0, 40))
    def test_valid_records_parse_exactly(self, name, region, number, size,
                                         align_exp):
        record = _record(name=name, chardev='dax%d.%d' % (region, number),
                         size=size, align=2 ** align_exp)
        [device] = vpmem_backends.parse_ndctl_namespaces(_text(record),
                                                         wanted=[name])
        self.assertEqual((name, '/dev/dax%d.%d' % (region, number), size,
                          2 ** align_exp),
                         (device.name, device.devpath, device.size,
                          device.align))

    @PROPERTIES
    @given(st.integers(1, 3000), st.sampled_from(['[', '{"a":', '[{"b":']))
    def test_nesting(self, depth, opener):
        closer = ''.join({'[': ']', '{': '}'}[c] for c in opener
                         if c in '[{')[::-1]
        self._check(opener * depth + '1' + closer * depth)


good_labels = st.from_regex(r'\A[A-Za-z0-9_]{1,12}\Z')
bad_labels = (st.text(max_size=12) |
              st.integers(225, 240).map(lambda n: 'L' * n))
bad_names = (st.text(max_size=10) | path_like |
             st.integers(60, 70).map(lambda n: 'n' * n))
separators = st.sampled_from([' : ', '', '::', ':|', '|'])


def _mostly(draw, good, bad):
    """A draw of ``good``, or of ``bad`` now and then.

    Hypothesis favours small integers, so the common case is at 0.
    """
    return draw(bad if draw(st.integers(0, 9)) >= 7 else good)


@st.composite
def config_entries(draw):
    """LABEL:NS|NS entries with, now and then, a wrong part."""
    label = _mostly(draw, good_labels, bad_labels)
    separator = _mostly(draw, st.just(':'), separators)
    count = _mostly(draw, st.integers(1, 3), st.just(0))
    names = [_mostly(draw, valid_names, bad_names) for _ in range(count)]
    return label + separator + '|'.join(names)


class PmemConfigPropertiesTestCase(test.NoDBTestCase):

    @PROPERTIES
    @given(st.lists(config_entries(), max_size=3))
    def test_generated_entries(self, config):
        self._check(config)

    @PROPERTIES
    @given(st.lists(st.text(max_size=40), max_size=3))
    def test_any_text(self, config):
        self._check(config)

    def _check(self, config):
        """A parse that obeys every rule, or the documented error."""
        try:
            parsed = vpmem.parse_pmem_config(config)
        except exception.PMEMNamespaceConfigInvalid as exc:
            self.assertIn(exc.kwargs['entry'], config)
            return
        seen_names = set()
        seen_classes = set()
        for item in parsed:
            self.assertTrue(hardware.is_valid_pmem_label(item.label))
            resource_class = vpmem.resource_class_for_label(item.label)
            self.assertRegex(resource_class, r'\ACUSTOM_[A-Z0-9_]+\Z')
            self.assertLessEqual(len(resource_class),
                                 hardware.RESOURCE_CLASS_MAX_LENGTH)
            self.assertNotIn(resource_class, seen_classes)
            seen_classes.add(resource_class)
            self.assertTrue(item.names)
            for name in item.names:
                self.assertTrue(hardware.is_valid_pmem_namespace_name(name),
                                name)
                self.assertNotIn(name, seen_names)
                seen_names.add(name)

    @PROPERTIES
    @given(st.lists(st.tuples(st.from_regex(r'\A[A-Z0-9]{1,8}\Z'),
                              st.lists(valid_names, min_size=1,
                                       max_size=3, unique=True)),
                    max_size=4, unique_by=lambda item: item[0]))
    def test_valid_config_round_trips(self, items):
        all_names = [name for _label, names in items for name in names]
        if len(set(all_names)) != len(all_names):
            return  # a name under two labels is refused, tested above
        config = ['%s:%s' % (label, '|'.join(names))
                  for label, names in items]
        self.assertEqual(dict(items), vpmem.parse_pmem_namespaces(config))
