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

"""``/images``: a read-only image catalog, shaped like Glance v2.

``openstack server create --image`` looks the image up on the compute
endpoint when there is no image service, and reads Glance's unwrapped
JSON. Guests here have no disk, so an image is only a name: the catalog
is the built-in ``cirros`` image plus the entries of the JSON file
``[api]images_file`` (a list of {"id", "name", ...}).
"""

import json

import nova.conf
from nova.api import wsgi

CONF = nova.conf.CONF

BUILTIN = [{'id': '155d900f-4e14-4e4c-a73d-069cbf4541e6', 'name': 'cirros'}]


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


def index(req):
    images = catalog()
    for key in ('name', 'id', 'status', 'visibility'):
        if req.params.get(key):
            images = [i for i in images if i.get(key) == req.params[key]]
    return 200, {'images': images}


def show(req, image_id):
    for image in catalog():
        if image['id'] == image_id:
            return 200, image
    raise wsgi.HTTPError(404, 'Image %s could not be found.' % image_id)


ROUTES = [('GET', '/images', index),
          ('GET', '/images/{image_id}', show)]
