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

"""Version discovery: what clients read before their first request."""

import json
from wsgiref import util as wsgi_util

from nova.api import versions
from nova.api import wsgi
from nova import test


class TestVersionDocuments(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.app = wsgi.make_app()

    def _request(self, path, method='GET', host='api.example:8774',
                 script_name=''):
        environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
                   'HTTP_HOST': host, 'SCRIPT_NAME': script_name}
        wsgi_util.setup_testing_defaults(environ)
        captured = {}

        def start_response(status, headers):
            captured['status'] = status
            captured['headers'] = dict(headers)

        body = b''.join(self.app(environ, start_response))
        return captured['status'], captured['headers'], body

    def _json(self, path, **kwargs):
        status, headers, body = self._request(path, **kwargs)
        self.assertEqual('200 OK', status)
        self.assertEqual('application/json', headers['Content-Type'])
        self.assertEqual(str(len(body)), headers['Content-Length'])
        return json.loads(body)

    def test_v21_document(self):
        for path in ('/v2.1', '/v2.1/'):
            doc = self._json(path)['version']
            self.assertEqual('v2.1', doc['id'])
            self.assertEqual('CURRENT', doc['status'])
            self.assertEqual(versions.MAX_MICROVERSION, doc['version'])
            self.assertEqual('2.1', doc['min_version'])
            self.assertEqual(versions.UPDATED, doc['updated'])
            self.assertEqual([{'rel': 'self',
                               'href': 'http://api.example:8774/v2.1/'}],
                             doc['links'])
            self.assertEqual('application/json',
                             doc['media-types'][0]['base'])

    def test_root_lists_versions(self):
        listing = self._json('/')['versions']
        # Nova's order: the v2.0 API (no microversions), then v2.1.
        self.assertEqual(['v2.0', 'v2.1'], [v['id'] for v in listing])
        self.assertEqual(('SUPPORTED', '', ''), (
            listing[0]['status'], listing[0]['version'],
            listing[0]['min_version']))
        self.assertEqual('http://api.example:8774/v2/',
                         listing[0]['links'][0]['href'])
        entry = listing[1]
        self.assertEqual(('v2.1', 'CURRENT', versions.MAX_MICROVERSION,
                          '2.1'),
                         (entry['id'], entry['status'], entry['version'],
                          entry['min_version']))
        self.assertEqual('http://api.example:8774/v2.1/',
                         entry['links'][0]['href'])

    def test_v2_document_describes_the_legacy_api(self):
        for path in ('/v2', '/v2/'):
            doc = self._json(path)['version']
            self.assertEqual(('v2.0', 'SUPPORTED'),
                             (doc['id'], doc['status']))
            self.assertEqual('http://api.example:8774/v2/',
                             doc['links'][0]['href'])

    def test_links_follow_mount_point(self):
        doc = self._json('/v2.1', host='10.0.0.5', script_name='/compute')
        self.assertEqual('http://10.0.0.5/compute/v2.1/',
                         doc['version']['links'][0]['href'])

    def test_max_not_below_min(self):
        def as_tuple(version):
            return tuple(int(part) for part in version.split('.'))
        self.assertGreaterEqual(as_tuple(versions.MAX_MICROVERSION),
                                as_tuple(versions.MIN_MICROVERSION))

    def test_unknown_path_is_404_json(self):
        status, headers, body = self._request('/v2.1/nothing-here')
        self.assertEqual('404 Not Found', status)
        self.assertEqual(404, json.loads(body)['itemNotFound']['code'])

    def test_wrong_method_is_405(self):
        status, headers, body = self._request('/v2.1', method='POST')
        self.assertEqual('405 Method Not Allowed', status)
        self.assertEqual('GET, HEAD', headers['Allow'])
        self.assertEqual(405, json.loads(body)['badMethod']['code'])

    def test_head_has_headers_only(self):
        status, headers, body = self._request('/v2.1', method='HEAD')
        self.assertEqual('200 OK', status)
        self.assertEqual(b'', body)
        self.assertNotEqual('0', headers['Content-Length'])
