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

"""hw:pmem labels are checked when a flavor's extra specs are set."""

from nova.tests.unit.api import test_wsgi


class TestPmemLabelsInExtraSpecs(test_wsgi.FlavorAPITestCase):

    def _post(self, value):
        return self.request('/v2.1/flavors/f1/os-extra_specs', 'POST',
                            {'extra_specs': {'hw:pmem': value}})

    def _put(self, value):
        return self.request('/v2.1/flavors/f1/os-extra_specs/hw:pmem', 'PUT',
                            {'hw:pmem': value})

    def _assert_refused(self, resp, *fragments):
        self.assertEqual(400, resp.status_int)
        message = resp.json['badRequest']['message']
        self.assertIn('hw:pmem', message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        self.assertEqual([], self.saved)

    def test_label_of_240_characters_refused(self):
        label = 'A' * 240
        for resp in (self._post(label), self._put(label)):
            self._assert_refused(resp, '(240 characters) is too long',
                                 'a label is 1 to 233 characters',
                                 'CUSTOM_PMEM_NAMESPACE_')

    def test_label_length_boundary(self):
        self._assert_refused(self._put('B' * 234), '(234 characters)')
        resp = self._put('B' * 233)
        self.assertEqual(200, resp.status_int)
        self.assertEqual([{'to_add': {'hw:pmem': 'B' * 233}}], self.saved)

    def test_bad_characters_refused_naming_them(self):
        for value, shown in (('SMALL,4-G', "label '4-G' holds '-'"),
                             ('ns:0', "holds ':'"),
                             ('SMALL|BIG', "holds '|'"),
                             ('gro\u00dfe', "holds '\u00df'")):
            self._assert_refused(self._post(value), shown)

    def test_good_labels_saved(self):
        resp = self._post(' SMALL , big_1 ')
        self.assertEqual(200, resp.status_int)
        self.assertEqual([{'to_add': {'hw:pmem': ' SMALL , big_1 '}}],
                         self.saved)
