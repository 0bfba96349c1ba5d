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

"""doc/source/admin/api.rst lists exactly the calls the router serves.

The table of calls (method, path, microversions, notes) is compared with
``build_router().routes()``, so a call added, removed or re-ranged without
its line in the reference fails here.
"""

import os
import re

from nova.api import microversion
from nova.api import routes
from nova import test

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                   'doc', 'source', 'admin', 'api.rst')
TABLE_MARK = '.. list-table:: Calls served'
PREFIX = '/v2.1'
_RANGE_RE = re.compile(r'^(\d+\.\d+)-(\d+\.\d+)?$')


def _version(text):
    major, minor = text.split('.')
    return int(major), int(minor)


def parse_ranges(text):
    """``'2.53-'`` -> ((2, 53), None); ``'2.1-2.87'`` -> ((2, 1), (2, 87))."""
    found = _RANGE_RE.match(text.strip())
    if not found:
        raise ValueError('Microversions %r: write FIRST- or FIRST-LAST, '
                         'e.g. 2.53- or 2.1-2.87.' % text)
    first, last = found.groups()
    return _version(first), last and _version(last)


def parse_table(text):
    """The rows of the calls table: lists of cell texts."""
    lines = text.splitlines()
    try:
        start = lines.index(TABLE_MARK)
    except ValueError:
        raise AssertionError('api.rst has no %r table' % TABLE_MARK)
    rows = []
    for line in lines[start + 1:]:
        if line and not line.startswith(' '):
            break  # the end of the directive
        stripped = line.strip()
        if stripped.startswith('* - '):
            rows.append([stripped[4:]])
        elif stripped.startswith('- ') and rows:
            rows[-1].append(stripped[2:])
        elif stripped and rows and not stripped.startswith(':'):
            rows[-1][-1] += ' ' + stripped  # a cell's continuation line
    return rows[1:]  # the header row


def documented_calls(text):
    """(method, path, first, last) of each row, in the table's order."""
    calls = []
    for row in parse_table(text):
        if len(row) != 4:
            raise AssertionError('row %r: want method, path, microversions'
                                 ', notes' % (row,))
        method, path, versions = row[0], row[1].strip('`'), row[2]
        first, last = parse_ranges(versions)
        calls.append((method, path, first, last))
    return calls


def served_calls():
    """(method, path, first, last) of each route the router serves."""
    calls = []
    for method, template, first, last in routes.build_router().routes():
        path = template[len(PREFIX):] if template.startswith(
            PREFIX + '/') else template
        calls.append((method, path, first or microversion.MIN_VERSION,
                      last))
    return calls


class TestParsing(test.NoDBTestCase):

    def test_ranges(self):
        self.assertEqual(((2, 53), None), parse_ranges('2.53-'))
        self.assertEqual(((2, 1), (2, 87)), parse_ranges('2.1-2.87'))
        self.assertRaises(ValueError, parse_ranges, '2.53+')
        self.assertRaises(ValueError, parse_ranges, 'all')

    def test_table(self):
        text = '\n'.join([
            'Intro', '', TABLE_MARK, '   :header-rows: 1', '',
            '   * - Method', '     - Path', '     - Microversions',
            '     - Notes',
            '   * - GET', '     - ``/os-services``', '     - 2.1-',
            '     - Every service,', '       up or down.',
            '   * - PUT', '     - ``/os-services/{service_id}``',
            '     - 2.53-', '     - Enable.', '', 'After the table.',
            '   * - GET', '     - ``/not/in/table``', '     - 2.1-',
            '     - no'])
        self.assertEqual(
            [['GET', '``/os-services``', '2.1-', 'Every service, up or '
              'down.'],
             ['PUT', '``/os-services/{service_id}``', '2.53-', 'Enable.']],
            parse_table(text))
        self.assertEqual(
            [('GET', '/os-services', (2, 1), None),
             ('PUT', '/os-services/{service_id}', (2, 53), None)],
            documented_calls(text))


class TestAPIReference(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        with open(DOC) as f:
            self.text = f.read()

    def test_every_served_call_is_documented_with_its_range(self):
        documented = documented_calls(self.text)
        served = served_calls()
        missing = [c for c in served if c not in documented]
        extra = [c for c in documented if c not in served]
        self.assertEqual(
            ([], []), (missing, extra),
            'doc/source/admin/api.rst is out of date: (served but not '
            'documented, documented but not served) -- fix its "Calls '
            'served" table')

    def test_no_call_is_documented_twice(self):
        documented = documented_calls(self.text)
        self.assertEqual(len(documented), len(set(documented)))

    def test_advertised_range(self):
        found = re.search(r'microversions (\d+\.\d+) \(the minimum',
                          self.text)
        self.assertIsNotNone(found, 'api.rst must state the minimum')
        self.assertEqual(microversion.MIN_VERSION, _version(found.group(1)))
        found = re.search(r'to (\d+\.\d+) \(the maximum', self.text)
        self.assertIsNotNone(found, 'api.rst must state the maximum')
        self.assertEqual(microversion.MAX_VERSION, _version(found.group(1)))
