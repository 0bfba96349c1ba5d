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

"""Version discovery documents of the compute API.

Clients (openstacksdk, novaclient) read these before anything else: the
root lists the API versions, ``/v2.1`` describes the one we serve with the
range of microversions a request may ask for.
"""

API_VERSION_ID = 'v2.1'

# The microversion range. The maximum moves up as microversions are added.
MIN_MICROVERSION = '2.1'
MAX_MICROVERSION = '2.100'

# When the set of microversions last changed.
UPDATED = '2025-01-01T00:00:00Z'

MEDIA_TYPE = 'application/vnd.openstack.compute+json;version=2.1'


def _self_link(base_url):
    return {'rel': 'self',
            'href': '%s/%s/' % (base_url.rstrip('/'), API_VERSION_ID)}


def _summary(base_url):
    return {
        'id': API_VERSION_ID,
        'status': 'CURRENT',
        'version': MAX_MICROVERSION,
        'min_version': MIN_MICROVERSION,
        'updated': UPDATED,
        'links': [_self_link(base_url)],
    }


# Nova still lists the v2.0 API first; clients and tempest's version
# tests expect it there, with no microversions and its own self link.
LEGACY_VERSION_ID = 'v2.0'
LEGACY_PATH = 'v2'
LEGACY_UPDATED = '2011-01-21T11:33:21Z'


def _legacy_summary(base_url):
    return {
        'id': LEGACY_VERSION_ID,
        'status': 'SUPPORTED',
        'version': '',
        'min_version': '',
        'updated': LEGACY_UPDATED,
        'links': [{'rel': 'self', 'href': '%s/%s/' % (
            base_url.rstrip('/'), LEGACY_PATH)}],
    }


def versions_document(base_url):
    """The ``GET /`` answer: every API version served at ``base_url``."""
    return {'versions': [_legacy_summary(base_url), _summary(base_url)]}


def legacy_version_document(base_url):
    """The ``GET /v2`` answer: the v2.0 API, described only."""
    doc = _legacy_summary(base_url)
    doc['media-types'] = [{'base': 'application/json',
                           'type': 'application/vnd.openstack.compute+json;'
                                   'version=2'}]
    return {'version': doc}


def version_document(base_url):
    """The ``GET /v2.1`` answer: the v2.1 API and its microversions."""
    doc = _summary(base_url)
    doc['media-types'] = [{'base': 'application/json',
                           'type': MEDIA_TYPE}]
    return {'version': doc}
