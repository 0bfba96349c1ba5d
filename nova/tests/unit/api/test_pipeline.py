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

"""The API pipeline of make_app(): oslo.middleware around the API."""

import json
from unittest import mock
import uuid

import webob

from nova.api import wsgi
from nova import test


class TestPipeline(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(auth_strategy='noauth2', group='api')

    def _get(self, path, **headers):
        req = webob.Request.blank(path, headers=dict(
            {'X-Auth-Token': 'admin'}, **headers))
        return req.get_response(wsgi.make_app())

    def test_request_id_in_both_headers(self):
        resp = self._get('/v2.1/os-aggregates')
        self.assertEqual(200, resp.status_int, resp.text)
        request_id = resp.headers['x-openstack-request-id']
        self.assertTrue(request_id.startswith('req-'))
        self.assertEqual(request_id, resp.headers['x-compute-request-id'])

    def test_incoming_request_id_is_the_global_one(self):
        caller = 'req-%s' % uuid.uuid4()
        contexts = []
        real = wsgi.noauth_context

        def recording(req):
            contexts.append(real(req))
            return contexts[-1]

        with mock.patch.object(wsgi, 'noauth_context', recording):
            resp = self._get('/v2.1/os-aggregates',
                             **{'X-OpenStack-Request-ID': caller})
        self.assertEqual(200, resp.status_int, resp.text)
        # This request gets its own id; the caller's is the global one.
        [context] = contexts
        self.assertEqual(caller, context.global_request_id)
        self.assertEqual(resp.headers['x-openstack-request-id'],
                         context.request_id)
        self.assertNotEqual(caller, context.request_id)

    def test_oversize_body_is_413(self):
        app = wsgi.make_app()  # registers [oslo_middleware] options
        self.flags(max_request_body_size=128, group='oslo_middleware')
        req = webob.Request.blank('/v2.1/servers', method='POST',
                                  headers={'X-Auth-Token': 'admin'})
        req.body = json.dumps({'server': {'name': 'x' * 512}}).encode()
        req.content_type = 'application/json'
        self.assertEqual(413, req.get_response(app).status_int)

    def test_links_follow_a_tls_proxy(self):
        app = wsgi.make_app()  # registers [oslo_middleware] options
        self.flags(enable_proxy_headers_parsing=True,
                   group='oslo_middleware')
        req = webob.Request.blank('/v2.1', headers={
            'X-Forwarded-Proto': 'https', 'Host': 'api.example'})
        resp = req.get_response(app)
        self.assertEqual('https://api.example/v2.1/',
                         resp.json['version']['links'][0]['href'])
