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

"""Flavor access (os-flavor-access) through the API down to the database,
checked with tempest's schema when tempest is installed."""

import webob

from nova.api import wsgi
from nova.db import api as db
from nova import exception
from nova import objects
from nova.tests.unit.api import tempest_check
from nova.tests.unit.db import base


class _PrivateFlavorTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flavor = objects.Flavor(self.context, name='priv',
                                     flavorid='priv', memory_mb=16, vcpus=1,
                                     is_public=False, extra_specs={})
        self.flavor.create()


class FlavorAccessDBTestCase(_PrivateFlavorTestCase):

    def test_add_list_remove(self):
        self.assertEqual([], self.flavor.access_projects())
        self.flavor.add_access('p2')
        self.flavor.add_access('p1')
        self.assertEqual(['p1', 'p2'], self.flavor.access_projects())
        self.assertRaises(exception.FlavorAccessExists,
                          self.flavor.add_access, 'p1')
        self.flavor.remove_access('p1')
        self.assertEqual(['p2'], self.flavor.access_projects())
        self.assertRaises(exception.FlavorAccessNotFound,
                          self.flavor.remove_access, 'p1')

    def test_unknown_flavor(self):
        for call in (db.flavor_access_get_by_flavor_id,
                     lambda c, f: db.flavor_access_add(c, f, 'p'),
                     lambda c, f: db.flavor_access_remove(c, f, 'p')):
            self.assertRaises(exception.FlavorNotFound, call, self.context,
                              'nope')

    def test_destroy_removes_the_access(self):
        self.flavor.add_access('p1')
        self.flavor.destroy()
        again = objects.Flavor(self.context, name='priv', flavorid='priv',
                               memory_mb=16, vcpus=1, is_public=False,
                               extra_specs={})
        again.create()
        self.assertEqual([], again.access_projects())


class FlavorAccessAPITestCase(_PrivateFlavorTestCase):
    """The calls against a real database (flavors are API data)."""

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.public = objects.Flavor(self.context, name='pub',
                                     flavorid='pub', memory_mb=16, vcpus=1,
                                     extra_specs={})
        self.public.create()

    def call(self, path, method='GET', body=None, token='admin',
             version='2.61'):
        req = webob.Request.blank('/v2.1/flavors/' + path, method=method)
        req.headers.update({'X-Auth-Token': token,
                            'OpenStack-API-Version': 'compute ' + version})
        if body is not None:
            req.json_body = body
        return req.get_response(self.app)

    def assertValid(self, resp):
        self.assertEqual(200, resp.status_int, resp.body)
        tempest_check.validate(self, tempest_check.schema(
            'v2_1', 'flavors_access', 'add_remove_list_flavor_access'),
            resp.status_int, resp.json)
        return resp.json['flavor_access']

    def test_add_list_remove(self):
        added = self.assertValid(self.call(
            'priv/action', 'POST', {'addTenantAccess': {'tenant': 'p1'}}))
        self.assertEqual([{'flavor_id': 'priv', 'tenant_id': 'p1'}], added)
        self.assertEqual(added, self.assertValid(
            self.call('priv/os-flavor-access')))
        self.assertEqual(409, self.call(
            'priv/action', 'POST',
            {'addTenantAccess': {'tenant': 'p1'}}).status_int)
        self.assertEqual([], self.assertValid(self.call(
            'priv/action', 'POST',
            {'removeTenantAccess': {'tenant': 'p1'}})))
        self.assertEqual(404, self.call(
            'priv/action', 'POST',
            {'removeTenantAccess': {'tenant': 'p1'}}).status_int)

    def test_the_project_then_sees_the_flavor(self):
        def names(token):
            resp = self.call('', token=token)
            return [f['name'] for f in resp.json['flavors']]
        self.assertEqual(['pub'], names('alice:p1'))
        self.call('priv/action', 'POST',
                  {'addTenantAccess': {'tenant': 'p1'}})
        self.assertEqual(['priv', 'pub'], names('alice:p1'))
        self.assertEqual(['pub'], names('bob:p2'))

    def test_public_flavors(self):
        self.assertEqual(404, self.call('pub/os-flavor-access').status_int)
        resp = self.call('pub/action', 'POST',
                         {'addTenantAccess': {'tenant': 'p1'}})
        self.assertEqual(409, resp.status_int)
        self.assertIn('public', resp.json['conflictingRequest']['message'])

    def test_refusals(self):
        for body in ({}, {'addTenantAccess': {}},
                     {'addTenantAccess': {'tenant': 'p', 'x': 1}},
                     {'addTenantAccess': {'tenant': 'p'},
                      'removeTenantAccess': {'tenant': 'p'}}):
            self.assertEqual(400, self.call('priv/action', 'POST',
                                            body).status_int, body)
        self.assertEqual(403, self.call('priv/os-flavor-access',
                                        token='alice:p1').status_int)
        self.assertEqual(403, self.call(
            'priv/action', 'POST', {'addTenantAccess': {'tenant': 'p1'}},
            token='alice:p1').status_int)
        self.assertEqual(404, self.call('nope/os-flavor-access').status_int)
