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

"""A small JSON client for the compute API and placement.

The demo drives the cloud as a user would, over HTTP; with ``noauth2``
any token is accepted (``admin`` is an administrator).
"""

import json
import urllib.error
import urllib.request

COMPUTE_VERSION = '2.100'
PLACEMENT_VERSION = '1.39'


class APIError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__('%s %s -> %s: %s' % (method, url, status,
                                               body.strip()[:300]))
        self.status = status


class JSONClient:
    """Requests against ``endpoint`` with fixed headers."""

    def __init__(self, endpoint, headers, timeout=30):
        self.endpoint = endpoint.rstrip('/')
        self.headers = dict(headers)
        self.timeout = timeout

    def request(self, method, path, body=None, headers=None):
        url = self.endpoint + path
        data = None if body is None else json.dumps(body).encode()
        all_headers = dict(self.headers, **(headers or {}))
        if data is not None:
            all_headers['Content-Type'] = 'application/json'
        req = urllib.request.Request(url, data=data, method=method,
                                     headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise APIError(method, url, exc.code,
                           exc.read().decode(errors='replace')) from None
        return json.loads(raw) if raw else None

    def get(self, path):
        return self.request('GET', path)

    def post(self, path, body, headers=None):
        return self.request('POST', path, body, headers)


def compute_client(endpoint, version=COMPUTE_VERSION):
    """Client of the compute API at ``endpoint`` (``.../v2.1``)."""
    return JSONClient(endpoint, {
        'X-Auth-Token': 'admin',
        'OpenStack-API-Version': 'compute %s' % version,
        'X-OpenStack-Nova-API-Version': version})


def placement_client(endpoint, token='admin'):
    return JSONClient(endpoint, {
        'X-Auth-Token': token,
        'OpenStack-API-Version': 'placement %s' % PLACEMENT_VERSION})
