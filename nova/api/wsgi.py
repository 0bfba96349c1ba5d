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

"""The compute API as a WSGI application.

For now it answers version discovery only (``/``, ``/v2.1``, ``/v2.1/``);
the resources of the API are routed here as they are added.
"""

import json
from wsgiref import util as wsgi_util

from nova.api import versions

JSON_TYPE = 'application/json'


def _respond(start_response, status, body, method='GET', headers=()):
    payload = json.dumps(body).encode('utf-8')
    start_response(status, [('Content-Type', JSON_TYPE),
                            ('Content-Length', str(len(payload)))] +
                   list(headers))
    # HEAD gets the headers of GET and no body.
    return [b''] if method == 'HEAD' else [payload]


def _error(start_response, status, kind, message, method, headers=()):
    code = int(status.split()[0])
    return _respond(start_response, status,
                    {kind: {'code': code, 'message': message}},
                    method, headers)


class APIApplication:
    """WSGI entry point of the compute API."""

    def __init__(self):
        # path -> document builder taking the base URL of the service.
        self._documents = {
            '/': versions.versions_document,
            '/%s' % versions.API_VERSION_ID: versions.version_document,
            '/%s/' % versions.API_VERSION_ID: versions.version_document,
        }

    def __call__(self, environ, start_response):
        method = environ.get('REQUEST_METHOD', 'GET')
        path = environ.get('PATH_INFO', '') or '/'
        build = self._documents.get(path)
        if build is None:
            return _error(start_response, '404 Not Found', 'itemNotFound',
                          'No resource at %s.' % path, method)
        if method not in ('GET', 'HEAD'):
            return _error(start_response, '405 Method Not Allowed',
                          'badMethod', 'Method %s is not allowed on %s.'
                          % (method, path), method,
                          headers=[('Allow', 'GET, HEAD')])
        base_url = wsgi_util.application_uri(environ)
        return _respond(start_response, '200 OK', build(base_url), method)


def make_app():
    """Build the WSGI application (called by nova-api and WSGI servers)."""
    return APIApplication()
