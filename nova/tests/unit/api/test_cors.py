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

"""CORS in make_app(): only when [cors]allowed_origin is set."""

import webob

from nova.api import wsgi
from nova.conf import cors as cors_conf
from nova import test

ALLOWED = 'https://dashboard.example'


class TestCORS(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(auth_strategy='noauth2', group='api')

    def _preflight(self, origin, method='POST', headers=None):
        req = webob.Request.blank('/v2.1/servers', method='OPTIONS',
                                  headers={
            'Origin': origin,
            'Access-Control-Request-Method': method,
            'Access-Control-Request-Headers': ','.join(
                headers or ['X-Auth-Token', 'OpenStack-API-Version'])})
        return req.get_response(wsgi.make_app())

    def _get(self, origin):
        req = webob.Request.blank('/v2.1/os-aggregates', headers={
            'Origin': origin, 'X-Auth-Token': 'admin'})
        return req.get_response(wsgi.make_app())

    def test_preflight_from_an_allowed_origin(self):
        self.flags(allowed_origin=[ALLOWED], group='cors')
        resp = self._preflight(ALLOWED)
        self.assertEqual(200, resp.status_int)
        self.assertEqual(ALLOWED, resp.headers['Access-Control-Allow-Origin'])
        self.assertEqual('POST', resp.headers['Access-Control-Allow-Methods'])
        self.assertEqual('X-Auth-Token,OpenStack-API-Version',
                         resp.headers['Access-Control-Allow-Headers'])

    def test_every_header_clients_send_is_allowed(self):
        self.flags(allowed_origin=[ALLOWED], group='cors')
        resp = self._preflight(ALLOWED, method='DELETE',
                               headers=cors_conf.ALLOW_HEADERS)
        self.assertEqual(ALLOWED, resp.headers['Access-Control-Allow-Origin'])
        self.assertEqual('DELETE',
                         resp.headers['Access-Control-Allow-Methods'])

    def test_preflight_for_a_method_not_allowed(self):
        self.flags(allowed_origin=[ALLOWED], group='cors')
        resp = self._preflight(ALLOWED, method='TRACE')
        self.assertNotIn('Access-Control-Allow-Origin', resp.headers)

    def test_preflight_from_a_disallowed_origin(self):
        self.flags(allowed_origin=[ALLOWED], group='cors')
        resp = self._preflight('https://elsewhere.example')
        self.assertNotIn('Access-Control-Allow-Origin', resp.headers)
        self.assertNotIn('Access-Control-Allow-Methods', resp.headers)

    def test_response_exposes_request_ids_and_microversion(self):
        self.flags(allowed_origin=[ALLOWED], group='cors')
        resp = self._get(ALLOWED)
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertEqual(ALLOWED, resp.headers['Access-Control-Allow-Origin'])
        exposed = resp.headers['Access-Control-Expose-Headers'].split(',')
        self.assertEqual(sorted(h.lower() for h in cors_conf.EXPOSE_HEADERS),
                         sorted(h.strip().lower() for h in exposed))
        # The headers it exposes are the ones the API sends.
        for header in cors_conf.EXPOSE_HEADERS:
            self.assertIn(header, resp.headers)

    def test_unconfigured_means_no_cors_headers(self):
        preflight = self._preflight(ALLOWED)
        self.assertNotIn('Access-Control-Allow-Origin', preflight.headers)
        resp = self._get(ALLOWED)
        self.assertEqual(200, resp.status_int, resp.text)
        self.assertFalse([h for h in resp.headers
                          if h.lower().startswith('access-control-')])

    def test_defaults_name_our_headers(self):
        self.assertEqual(cors_conf.EXPOSE_HEADERS,
                         self.conf.cors.expose_headers)
        self.assertEqual(cors_conf.ALLOW_HEADERS,
                         self.conf.cors.allow_headers)
