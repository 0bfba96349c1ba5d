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

"""lower-constraints.txt keeps up with both requirements files."""

import os
import re

import nova
from nova import test

TOP = os.path.dirname(os.path.dirname(os.path.abspath(nova.__file__)))

# name[extras]>=version, then an optional "# licence" comment.
_REQUIREMENT = re.compile(
    r'^(?P<name>[A-Za-z0-9._-]+)(\[[^\]]*\])?>=(?P<bound>[0-9][0-9.]*)\s*'
    r'(#.*)?$')
_PIN = re.compile(r'^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[0-9][0-9.]*)$')


def _canonical(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def _lines(name):
    with open(os.path.join(TOP, name)) as f:
        return [line.strip() for line in f
                if line.strip() and not line.startswith('#')]


class LowerConstraintsTestCase(test.NoDBTestCase):

    def test_every_direct_requirement_is_pinned_at_its_bound(self):
        bounds = {}
        for filename in ('requirements.txt', 'test-requirements.txt'):
            for line in _lines(filename):
                match = _REQUIREMENT.match(line)
                self.assertIsNotNone(
                    match, '%s: %r is not "name>=version"; the lower '
                           'constraints need a lower bound' % (filename, line))
                bounds[_canonical(match['name'])] = match['bound']
        pins = {}
        for line in _lines('lower-constraints.txt'):
            match = _PIN.match(line)
            self.assertIsNotNone(match, 'lower-constraints.txt: %r' % line)
            pins[_canonical(match['name'])] = match['version']
        self.assertEqual(bounds, pins)
