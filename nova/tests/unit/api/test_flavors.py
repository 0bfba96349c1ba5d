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

"""``/flavors`` per microversion: views (checked with tempest's schemas),
request bodies, the 2.55 description update and the list's query."""

from unittest import mock

from nova.api.handlers import flavor_views
from nova import objects
from nova.tests.unit.api import tempest_check
from nova.tests.unit.api import test_wsgi

SCHEMAS = [((2, 1), 'v2_1'), ((2, 55), 'v2_55'), ((2, 61), 'v2_61')]
VERSIONS = ['2.1', '2.54', '2.55', '2.60', '2.61', '2.75', '2.100']


def _flavor(index, flavorid, name, **values):
    fields = dict(id=index, flavorid=flavorid, name=name, memory_mb=16,
                  vcpus=1, root_gb=0, ephemeral_gb=0, swap=0,
                  disabled=False, is_public=True, description=None,
                  extra_specs={})
    fields.update(values)
    return objects.Flavor(**fields)


def _version(text):
    major, minor = text.split('.')
    return int(major), int(minor)


class FlavorsTestCase(test_wsgi.FlavorAPITestCase):

    def setUp(self):
        super().setUp()
        self.flavor.extra_specs = {'hw:pmem': 'SMALL'}
        self.flavor.description = 'tiny'
        self.all = [
            self.flavor,
            _flavor(2, 'f2', 'big', memory_mb=4096, root_gb=20, swap=512),
            _flavor(3, 'f3', 'private', is_public=False, memory_mb=64),
            _flavor(4, 'f0', 'off', disabled=True, memory_mb=32)]
        self.useFixture_patch('nova.objects.FlavorList.get_all',
                              side_effect=lambda context: list(self.all))
        # Project "p" was given the private flavor f3.
        self.access = {'f3': ['p']}
        self.useFixture_patch(
            'nova.objects.Flavor.access_projects', autospec=True,
            side_effect=lambda flavor: self.access.get(flavor.flavorid, []))

    def assertTempestValid(self, name, version, resp, status=200):
        self.assertEqual(status, resp.status_int, resp.body)
        directory = tempest_check.pick(SCHEMAS, _version(version))
        tempest_check.validate(
            self, tempest_check.schema(directory, 'flavors', name),
            resp.status_int, resp.json)

    def ids(self, query='', token='admin', version='2.61'):
        resp = self.request('/v2.1/flavors?' + query, token=token,
                            version=version)
        self.assertEqual(200, resp.status_int, resp.body)
        return [f['id'] for f in resp.json['flavors']]


class TestFlavorViews(FlavorsTestCase):

    def test_every_view_at_every_version_is_valid_for_tempest(self):
        for version in VERSIONS:
            self.assertTempestValid(
                'list_flavors', version,
                self.request('/v2.1/flavors', version=version))
            self.assertTempestValid(
                'list_flavors_details', version,
                self.request('/v2.1/flavors/detail', version=version))
            self.assertTempestValid(
                'create_update_get_flavor_details', version,
                self.request('/v2.1/flavors/f1', version=version))

    def test_description_from_2_55(self):
        self.assertNotIn('description', self.request(
            '/v2.1/flavors/f1', version='2.54').json['flavor'])
        self.assertEqual('tiny', self.request(
            '/v2.1/flavors/f1', version='2.55').json['flavor']['description'])
        listed = self.request('/v2.1/flavors', version='2.55').json
        self.assertEqual({'f0': None, 'f1': 'tiny', 'f2': None},
                         {f['id']: f['description']
                          for f in listed['flavors']})

    def test_extra_specs_from_2_61_for_readers(self):
        self.assertNotIn('extra_specs', self.request(
            '/v2.1/flavors/f1', version='2.60').json['flavor'])
        shown = self.request('/v2.1/flavors/f1', version='2.61').json
        self.assertEqual({'hw:pmem': 'SMALL'},
                         shown['flavor']['extra_specs'])
        self.assertIn('extra_specs', self.request(
            '/v2.1/flavors/f1', version='2.61',
            token='alice:p').json['flavor'])
        self.assertNotIn('extra_specs', self.request(
            '/v2.1/flavors', version='2.61').json['flavors'][0])

    def test_extra_specs_hidden_when_policy_says_so(self):
        with mock.patch('nova.api.policy.authorize', return_value=False):
            shown = self.request('/v2.1/flavors/f1', version='2.61').json
        self.assertNotIn('extra_specs', shown['flavor'])

    def test_nova_values(self):
        shown = self.request('/v2.1/flavors/f2', version='2.1')
        # get_by_flavor_id is mocked: f1's values under any id.
        flavor = shown.json['flavor']
        self.assertEqual(('', 1.0, True, False, 0),
                         (flavor['swap'], flavor['rxtx_factor'],
                          flavor['os-flavor-access:is_public'],
                          flavor['OS-FLV-DISABLED:disabled'],
                          flavor['OS-FLV-EXT-DATA:ephemeral']))
        self.assertEqual(
            [{'rel': 'self', 'href': 'http://localhost/v2.1/flavors/f1'},
             {'rel': 'bookmark', 'href': 'http://localhost/flavors/f1'}],
            flavor['links'])


class TestFlavorBodies(FlavorsTestCase):

    def setUp(self):
        super().setUp()
        self.created = []
        self.useFixture_patch(
            'nova.objects.Flavor.create',
            autospec=True, side_effect=lambda f: (
                self.created.append(f), setattr(f, 'id', 9)))

    def _create(self, version='2.61', **values):
        body = {'name': 'new', 'ram': 16, 'vcpus': 1, 'disk': 0}
        body.update(values)
        return self.request('/v2.1/flavors', 'POST', {'flavor': body},
                            version=version)

    def test_is_public_as_a_string(self):
        for text, expected in (('True', True), ('false', False),
                               ('yes', True), ('0', False), (False, False)):
            resp = self._create(**{'os-flavor-access:is_public': text})
            self.assertEqual(200, resp.status_int, resp.body)
            self.assertIs(expected, self.created[-1].is_public, text)
            self.assertIs(expected, resp.json['flavor'][
                'os-flavor-access:is_public'])

    def test_bad_is_public_is_400(self):
        resp = self._create(**{'os-flavor-access:is_public': 'maybe'})
        self.assertEqual(400, resp.status_int)
        self.assertEqual([], self.created)

    def test_created_view_is_valid_for_tempest(self):
        for version in ('2.1', '2.55', '2.61'):
            self.assertTempestValid('create_update_get_flavor_details',
                                    version, self._create(version=version))

    def test_description_only_from_2_55(self):
        self.assertEqual(400, self._create(version='2.54',
                                           description='d').status_int)
        resp = self._create(version='2.55', description='d')
        self.assertEqual('d', resp.json['flavor']['description'])

    def test_counts_as_strings_and_refusals(self):
        resp = self._create(ram='32', vcpus='2', disk='1', id=7)
        self.assertEqual(200, resp.status_int, resp.body)
        self.assertEqual((32, 2, 1, '7'), (
            self.created[-1].memory_mb, self.created[-1].vcpus,
            self.created[-1].root_gb, self.created[-1].flavorid))
        for bad in ({'ram': 0}, {'ram': '0'}, {'vcpus': -1},
                    {'name': ' padded'}, {'rxtx_factor': 0},
                    {'colour': 'red'}, {'id': 'a/b'}):
            self.assertEqual(400, self._create(**bad).status_int, bad)

    def test_create_needs_admin(self):
        resp = self.request('/v2.1/flavors', 'POST', {'flavor': {
            'name': 'n', 'ram': 1, 'vcpus': 1, 'disk': 0}},
            token='alice:p')
        self.assertEqual(403, resp.status_int)


class TestFlavorUpdate(FlavorsTestCase):

    def setUp(self):
        super().setUp()
        self.save = mock.patch('nova.objects.Flavor.save').start()
        self.addCleanup(mock.patch.stopall)

    def _update(self, body, version='2.55', token='admin'):
        return self.request('/v2.1/flavors/f1', 'PUT', body,
                            version=version, token=token)

    def test_description_update(self):
        resp = self._update({'flavor': {'description': 'new words'}})
        self.assertTempestValid('create_update_get_flavor_details', '2.55',
                                resp)
        self.assertEqual('new words', resp.json['flavor']['description'])
        self.assertEqual('new words', self.flavor.description)
        self.save.assert_called_once_with()

    def test_only_from_2_55(self):
        resp = self._update({'flavor': {'description': 'x'}},
                            version='2.54')
        # As Nova: the call does not exist at that version.
        self.assertEqual(404, resp.status_int)
        self.save.assert_not_called()

    def test_only_the_description(self):
        resp = self._update({'flavor': {'description': 'x', 'ram': 5}})
        self.assertEqual(400, resp.status_int)
        resp = self._update({'flavor': {}})
        self.assertEqual(400, resp.status_int)
        resp = self._update({'flavor': {'description': 'x'}},
                            token='alice:p')
        self.assertEqual(403, resp.status_int)
        self.save.assert_not_called()


class TestFlavorListQuery(FlavorsTestCase):

    def test_default_public_enabled_by_flavorid(self):
        self.assertEqual(['f0', 'f1', 'f2'], self.ids())
        self.assertEqual(['f1', 'f2'], self.ids(token='alice:q'))

    def test_private_flavors_of_the_callers_project(self):
        self.assertEqual(['f1', 'f2', 'f3'], self.ids(token='alice:p'))
        self.assertEqual(['f0', 'f1', 'f2'], self.ids(token='admin'))
        self.access['f3'].append('admin')
        self.assertEqual(['f0', 'f1', 'f2', 'f3'], self.ids(token='admin'))

    def test_is_public_for_admins(self):
        self.assertEqual(['f3'], self.ids('is_public=false'))
        self.assertEqual(['f0', 'f1', 'f2', 'f3'], self.ids('is_public=none'))
        self.assertEqual(['f0', 'f1', 'f2'], self.ids('is_public=True'))
        # Users always see the public ones.
        self.assertEqual(['f1', 'f2'], self.ids('is_public=false',
                                                token='alice:q'))
        resp = self.request('/v2.1/flavors?is_public=maybe')
        self.assertEqual(400, resp.status_int)

    def test_min_ram_and_disk(self):
        self.assertEqual(['f0', 'f2'], self.ids('minRam=32'))
        self.assertEqual(['f2'], self.ids('minDisk=1'))
        self.assertEqual(400, self.request(
            '/v2.1/flavors?minRam=lots').status_int)

    def test_sort(self):
        self.assertEqual(['f2', 'f0', 'f1'], self.ids(
            'sort_key=memory_mb&sort_dir=desc'))
        self.assertEqual(['f2', 'f1', 'f0'], self.ids('sort_key=name'))
        for bad in ('sort_key=colour', 'sort_dir=up'):
            self.assertEqual(400, self.request(
                '/v2.1/flavors?' + bad).status_int, bad)

    def test_limit_marker_and_links(self):
        resp = self.request('/v2.1/flavors/detail?limit=2', version='2.61')
        body = resp.json
        self.assertEqual(['f0', 'f1'], [f['id'] for f in body['flavors']])
        [link] = body['flavors_links']
        self.assertEqual('next', link['rel'])
        self.assertIn('/v2.1/flavors/detail?', link['href'])
        self.assertIn('marker=f1', link['href'])
        self.assertTempestValid('list_flavors_details', '2.61', resp)
        self.assertEqual(['f2'], self.ids('marker=f1'))
        self.assertEqual(400, self.request(
            '/v2.1/flavors?marker=nope').status_int)

    def test_unknown_parameters_refused_from_2_75(self):
        self.assertEqual(['f0', 'f1', 'f2'], self.ids('colour=red',
                                                      version='2.74'))
        resp = self.request('/v2.1/flavors?colour=red', version='2.75')
        self.assertEqual(400, resp.status_int)
        self.assertIn('colour', resp.json['badRequest']['message'])

    def test_select_is_pure(self):
        chosen = flavor_views.select(self.all, is_public=None,
                                     sort_key='flavorid', sort_dir='desc',
                                     marker=self.all[1], limit=1)
        self.assertEqual(['f1'], [f.flavorid for f in chosen])


class TestExtraSpecs(FlavorsTestCase):

    def test_delete_is_200_without_body(self):
        resp = self.request('/v2.1/flavors/f1/os-extra_specs/hw:pmem',
                            'DELETE')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(b'', resp.body)
        self.assertEqual([{'to_delete': ['hw:pmem']}], self.saved)

    def test_reads_follow_the_index_and_show_policies(self):
        with mock.patch('nova.api.policy.authorize', return_value=False):
            for path in ('/v2.1/flavors/f1/os-extra_specs',
                         '/v2.1/flavors/f1/os-extra_specs/hw:pmem'):
                self.assertEqual(403, self.request(path).status_int, path)
        resp = self.request('/v2.1/flavors/f1/os-extra_specs',
                            token='alice:p')
        self.assertEqual({'extra_specs': {'hw:pmem': 'SMALL'}}, resp.json)
