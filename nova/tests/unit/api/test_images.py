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

"""``/images``: Glance's JSON for image clients (the CLI), Nova's image
proxy views for compute clients (checked with tempest's schemas)."""

import json

import fixtures
import webob

from nova.api.handlers import images
from nova.tests.unit.api import tempest_check
from nova.tests.unit.api import test_wsgi

CIRROS = images.BUILTIN[0]['id']
STAMP = '3d4c1c2e-7b4a-4a8e-9f00-000000000001'
SDK_AGENT = ('openstacksdk/4.22.0 keystoneauth1/5.18.1 '
             'python-requests/2.34.2 CPython/3.11.7')


class ImagesTestCase(test_wsgi.APITestCase):

    def setUp(self):
        super().setUp()
        path = self.useFixture(fixtures.TempDir()).path + '/images.json'
        with open(path, 'w') as f:
            json.dump([{'id': STAMP, 'name': 'stamp', 'min_ram': 16,
                        'properties': {'kernel': '/k.elf'}}], f)
        self.flags(images_file=path, group='api')

    def glance(self, query='', agent=SDK_AGENT, **kwargs):
        # What openstacksdk's image proxy sends: no compute microversion.
        req = webob.Request.blank('/v2.1/images' + query)
        req.headers.update({'X-Auth-Token': 'notused', 'User-Agent': agent},
                           **kwargs)
        resp = req.get_response(self.app)
        self.assertEqual(200, resp.status_int, resp.body)
        return resp.json

    def assertTempestValid(self, name, resp):
        self.assertEqual(200, resp.status_int, resp.body)
        tempest_check.validate(
            self, tempest_check.schema('v2_1', 'images', name),
            resp.status_int, resp.json)


class TestGlanceShape(ImagesTestCase):

    def test_list_and_in_filters(self):
        listed = self.glance()
        self.assertEqual({'cirros', 'stamp'},
                         {i['name'] for i in listed['images']})
        self.assertEqual('active', listed['images'][0]['status'])
        # The CLI's server list asks this way for its Image column.
        self.assertEqual(['stamp'], [i['name'] for i in self.glance(
            '?id=in:%s,%s' % (STAMP, 'no-such-id'))['images']])
        self.assertEqual(['cirros', 'stamp'], [i['name'] for i in self.glance(
            '?id=in:%s,%s' % (CIRROS, STAMP))['images']])
        self.assertEqual(['stamp'], [i['name'] for i in self.glance(
            '?name=stamp')['images']])
        self.assertEqual([], self.glance('?name=in:other')['images'])

    def test_show_is_unwrapped(self):
        shown = self.glance('/' + STAMP)
        self.assertEqual(('stamp', 'active', 16),
                         (shown['name'], shown['status'], shown['min_ram']))

    def test_who_is_an_image_client(self):
        self.assertIn('first', self.glance())
        self.assertIn('first', self.glance(agent='python-glanceclient'))
        # A compute microversion or another agent: Nova's views.
        self.assertNotIn('first', self.glance(
            **{'OpenStack-API-Version': 'compute 2.1'}))
        self.assertNotIn('first', self.glance(agent='python-urllib3/2.0'))
        self.assertNotIn('first', self.glance(agent=''))

    def test_in_values(self):
        self.assertEqual(['a', 'b,c', 'd'],
                         images.glance_values('in:a,"b,c",d'))
        self.assertEqual(['in'], images.glance_values('in'))
        self.assertEqual([], images.glance_values('in:'))


class TestNovaShape(ImagesTestCase):

    def test_without_microversion_as_tempest_asks(self):
        resp = self.request('/v2.1/images/%s' % STAMP, version=None)
        self.assertTempestValid('get_image', resp)
        self.assertTempestValid('list_images', self.request(
            '/v2.1/images', version=None))

    def test_list_is_valid_for_tempest(self):
        resp = self.request('/v2.1/images', version='2.1')
        self.assertTempestValid('list_images', resp)
        self.assertEqual(
            'http://localhost/v2.1/images/%s' % STAMP,
            resp.json['images'][1]['links'][0]['href'])

    def test_detail_and_show_are_valid_for_tempest(self):
        resp = self.request('/v2.1/images/detail', version='2.35')
        self.assertTempestValid('list_images_details', resp)
        resp = self.request('/v2.1/images/%s' % STAMP, version='2.30')
        self.assertTempestValid('get_image', resp)
        image = resp.json['image']
        self.assertEqual(('ACTIVE', 100, 16, 0, {'kernel': '/k.elf'}),
                         (image['status'], image['progress'],
                          image['minRam'], image['minDisk'],
                          image['metadata']))

    def test_metadata(self):
        path = '/v2.1/images/%s/metadata' % STAMP
        resp = self.request(path, version='2.1')
        self.assertTempestValid('image_metadata', resp)
        resp = self.request(path + '/kernel', version='2.1')
        self.assertTempestValid('image_meta_item', resp)
        self.assertEqual({'kernel': '/k.elf'}, resp.json['meta'])
        self.assertEqual(404, self.request(path + '/nope',
                                           version='2.1').status_int)

    def test_filters(self):
        def names(query):
            resp = self.request('/v2.1/images/detail?' + query,
                                version='2.1')
            return [i['name'] for i in resp.json['images']]
        self.assertEqual(['stamp'], names('minRam=8'))
        self.assertEqual(['cirros'], names('name=cirros'))
        self.assertEqual(['cirros', 'stamp'], names('status=ACTIVE'))
        self.assertEqual(400, self.request('/v2.1/images?minDisk=x',
                                           version='2.1').status_int)

    def test_gone_from_2_36(self):
        for path in ('/v2.1/images', '/v2.1/images/detail',
                     '/v2.1/images/%s' % STAMP):
            self.assertEqual(404, self.request(path,
                                               version='2.36').status_int)
