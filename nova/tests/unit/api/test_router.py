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

"""The router: path templates, methods and microversion ranges."""

from nova.api import http
from nova.api import routes
from nova import test


def _handler(name):
    def handler(req, **params):
        return name, params
    return handler


class TestRouter(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.router = routes.Router()
        # Nova's pattern: a legacy call and a newer one on the same path.
        self.router.add('PUT', '/os-services/disable', _handler('legacy'),
                        (None, (2, 52)))
        self.router.add('PUT', '/os-services/{service_id}', _handler('new'),
                        ((2, 53), None))
        self.router.add('GET', '/os-services', _handler('list'))

    def _call(self, method, path, version):
        handler, params = self.router.match(method, path, version)
        return handler(None, **params)

    def test_the_route_of_the_version_serves(self):
        self.assertEqual(('legacy', {}),
                         self._call('PUT', '/os-services/disable', (2, 52)))
        self.assertEqual(('new', {'service_id': 'disable'}),
                         self._call('PUT', '/os-services/disable', (2, 53)))

    def test_outside_its_range_a_route_does_not_exist(self):
        err = self.assertRaises(http.HTTPError, self.router.match, 'PUT',
                                '/os-services/abc', (2, 52))
        self.assertEqual(404, err.code)

    def test_other_method_is_405_naming_the_allowed_ones(self):
        err = self.assertRaises(http.HTTPError, self.router.match, 'DELETE',
                                '/os-services', (2, 1))
        self.assertEqual(405, err.code)
        self.assertEqual([('Allow', 'GET')], err.headers)

    def test_head_is_served_by_get(self):
        self.assertEqual(('list', {}), self._call('HEAD', '/os-services/',
                                                  (2, 1)))

    def test_routes_lists_templates_and_ranges(self):
        self.assertEqual(
            [('PUT', '/os-services/disable', None, (2, 52)),
             ('PUT', '/os-services/{service_id}', (2, 53), None),
             ('GET', '/os-services', None, None)],
            self.router.routes())
