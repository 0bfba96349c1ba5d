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

"""``/images``: a read-only image catalog.

Guests here have no disk, so an image is only a name: the catalog is the
built-in ``cirros`` image plus the entries of the JSON file
``[api]images_file`` (a list of {"id", "name", ...}).

Two kinds of client read it, on the same paths:

* compute clients (tempest, novaclient, curl) get Nova's image proxy
  views (``{"image": {...}}``, ``minRam``, ``ACTIVE``...), which exist up
  to microversion 2.35, as in Nova (404 from 2.36);
* image clients -- the openstack CLI looks images up on the compute
  endpoint when there is no image service -- get Glance v2's unwrapped
  JSON, with its ``in:`` list filters (``server list`` asks
  ``?id=in:a,b`` for its Image column, ``server show`` the image by id).

An image client is one that names no compute microversion (a Glance client
has no reason to) and whose User-Agent is a Glance client library's
(openstacksdk, python-glanceclient): nothing else in the request tells
the two apart, and tempest sends no microversion either.
"""

import csv
import json

import nova.conf
from nova.api import http
from nova.api import microversion

CONF = nova.conf.CONF

BUILTIN = [{'id': '155d900f-4e14-4e4c-a73d-069cbf4541e6', 'name': 'cirros'}]

LAST_VERSION = (2, 35)
# Glance's list filters, each an exact value or "in:a,b,...".
GLANCE_FILTERS = ('id', 'name', 'status', 'visibility', 'disk_format',
                  'container_format')
# Nova's image progress by Glance status.
_PROGRESS = {'queued': 25, 'saving': 50, 'active': 100}


def _full(entry):
    image = {'status': 'active', 'visibility': 'public',
             'disk_format': 'raw', 'container_format': 'bare',
             'min_disk': 0, 'min_ram': 0, 'size': 0, 'protected': False,
             'tags': [], 'created_at': '2025-01-01T00:00:00Z',
             'updated_at': '2025-01-01T00:00:00Z', 'properties': {}}
    image.update(entry)
    image['self'] = '/v2/images/%s' % image['id']
    return image


def catalog():
    entries = list(BUILTIN)
    if CONF.api.images_file:
        with open(CONF.api.images_file) as f:
            entries.extend(json.load(f))
    return [_full(e) for e in entries]


def find(ref):
    for image in catalog():
        if ref in (image['id'], image['name']):
            return image
    return None


# User-Agent words of the libraries that speak Glance's API.
IMAGE_CLIENT_AGENTS = ('openstacksdk/', 'python-glanceclient')


def image_client(req):
    """True when the request is an image (Glance v2) client's."""
    if microversion.requested(req.headers) is not None:
        return False
    agent = req.headers.get('User-Agent', '')
    return any(word in agent for word in IMAGE_CLIENT_AGENTS)


# -- Nova's views (compute clients) ------------------------------------------

def _links(req, image):
    return http.links(req, 'images', image['id'])


def summary_view(req, image):
    return {'id': image['id'], 'name': image['name'],
            'links': _links(req, image)}


def detail_view(req, image):
    status = image['status']
    return {
        'id': image['id'], 'name': image['name'],
        'links': _links(req, image),
        'status': status.upper(),
        'progress': _PROGRESS.get(status, 0),
        'minRam': image['min_ram'], 'minDisk': image['min_disk'],
        'created': image['created_at'], 'updated': image['updated_at'],
        'metadata': {k: str(v) for k, v in image['properties'].items()},
        'OS-EXT-IMG-SIZE:size': image['size'],
    }


def _nova_filtered(req, images):
    wanted = {'name': 'name', 'status': 'status'}
    for param, key in wanted.items():
        value = req.params.get(param)
        if value:
            images = [i for i in images
                      if str(i.get(key)).lower() == value.lower()]
    for param, key in (('minRam', 'min_ram'), ('minDisk', 'min_disk')):
        value = req.params.get(param)
        if value:
            try:
                least = int(value)
            except ValueError:
                raise http.HTTPError(400, 'Invalid %s filter [%s]: give a '
                                          'whole number.' % (param, value))
            images = [i for i in images if i[key] >= least]
    return images


# -- Glance's views (image clients) ------------------------------------------

def glance_values(text):
    """``'in:a,"b,c"'`` -> ['a', 'b,c']; a plain value -> [value]."""
    if not text.startswith('in:'):
        return [text]
    return next(csv.reader([text[3:]], skipinitialspace=True), [])


def glance_filtered(params, images):
    for key in GLANCE_FILTERS:
        if params.get(key):
            values = set(glance_values(params[key]))
            images = [i for i in images if str(i.get(key)) in values]
    return images


# -- handlers -----------------------------------------------------------------

def index(req):
    images = catalog()
    if image_client(req):
        return 200, {'images': glance_filtered(req.params, images),
                     'first': '/v2/images', 'schema': '/v2/schemas/images'}
    return 200, {'images': [summary_view(req, i)
                            for i in _nova_filtered(req, images)]}


def detail(req):
    return 200, {'images': [detail_view(req, i)
                            for i in _nova_filtered(req, catalog())]}


def _get(image_id):
    for image in catalog():
        if image['id'] == image_id:
            return image
    raise http.HTTPError(404, 'Image %s could not be found.' % image_id)


def show(req, image_id):
    image = _get(image_id)
    if image_client(req):
        return 200, image
    return 200, {'image': detail_view(req, image)}


def metadata(req, image_id):
    return 200, {'metadata': detail_view(req, _get(image_id))['metadata']}


def metadata_item(req, image_id, key):
    values = detail_view(req, _get(image_id))['metadata']
    if key not in values:
        raise http.HTTPError(404, 'Image %s has no metadata item %s.'
                             % (image_id, key))
    return 200, {'meta': {key: values[key]}}


_RANGE = (None, LAST_VERSION)

ROUTES = [('GET', '/images', index, _RANGE),
          ('GET', '/images/detail', detail, _RANGE),
          ('GET', '/images/{image_id}', show, _RANGE),
          ('GET', '/images/{image_id}/metadata', metadata, _RANGE),
          ('GET', '/images/{image_id}/metadata/{key}', metadata_item,
           _RANGE)]
