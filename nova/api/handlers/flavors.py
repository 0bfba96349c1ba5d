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

"""``/flavors`` and their ``os-extra_specs``.

Creating, deleting flavors and changing extra specs is for operators.
``hw:pmem`` is checked when set, so a bad value is refused here (400)
rather than failing every boot later.
"""

from oslo_utils import uuidutils

from nova.api import validation
from nova.api import wsgi
from nova import exception
from nova import objects
from nova.virt import hardware

SPECS = 'os_compute_api:os-flavor-extra-specs:%s'

CREATE_SCHEMAS = [(None, None, {
    'type': 'object',
    'properties': {'flavor': {
        'type': 'object',
        'properties': {
            'name': validation.NAME,
            'id': {'type': ['string', 'null'], 'maxLength': 255},
            'ram': {'type': ['integer', 'string'], 'minimum': 1},
            'vcpus': {'type': ['integer', 'string'], 'minimum': 1},
            'disk': {'type': ['integer', 'string'], 'minimum': 0},
            'OS-FLV-EXT-DATA:ephemeral': {'type': ['integer', 'string'],
                                          'minimum': 0},
            'swap': {'type': ['integer', 'string'], 'minimum': 0},
            'rxtx_factor': {'type': ['number', 'string']},
            'os-flavor-access:is_public': {'type': 'boolean'},
            'description': {'type': ['string', 'null']},
        },
        'required': ['name', 'ram', 'vcpus', 'disk'],
        'additionalProperties': False,
    }},
    'required': ['flavor'],
    'additionalProperties': False,
})]

SPECS_SCHEMAS = [(None, None, {
    'type': 'object',
    'properties': {'extra_specs': {
        'type': 'object',
        'additionalProperties': {'type': 'string', 'maxLength': 255}}},
    'required': ['extra_specs'],
    'additionalProperties': False,
})]


def flavor_view(req, flavor, detail=True):
    base = req.host_url + req.script_name
    body = {'id': flavor.flavorid, 'name': flavor.name,
            'links': [{'rel': 'self',
                       'href': '%s/v2.1/flavors/%s' % (base,
                                                       flavor.flavorid)}]}
    if detail:
        body.update({
            'ram': flavor.memory_mb, 'vcpus': flavor.vcpus,
            'disk': flavor.root_gb, 'swap': flavor.swap or '',
            'OS-FLV-EXT-DATA:ephemeral': flavor.ephemeral_gb,
            'OS-FLV-DISABLED:disabled': flavor.disabled,
            'os-flavor-access:is_public': flavor.is_public,
            'rxtx_factor': 1.0, 'description': flavor.description,
            'extra_specs': dict(flavor.extra_specs),
        })
    return body


def get_flavor(req, flavor_id):
    try:
        return objects.Flavor.get_by_flavor_id(req.context, flavor_id)
    except exception.FlavorNotFound:
        raise wsgi.HTTPError(404, 'Flavor %s could not be found.'
                             % flavor_id)


def _check_specs(specs):
    pmem = specs.get(hardware.PMEM_EXTRA_SPEC)
    if pmem is not None:
        try:
            hardware.validate_pmem_extra_spec(pmem)
        except exception.Invalid as e:
            raise wsgi.HTTPError(400, e.format_message())


def _int(value, name):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise wsgi.HTTPError(400, '%s must be an integer.' % name)


def index(req):
    return 200, {'flavors': [flavor_view(req, f, detail=False)
                             for f in objects.FlavorList.get_all(req.context)]}


def detail(req):
    return 200, {'flavors': [flavor_view(req, f)
                             for f in objects.FlavorList.get_all(req.context)]}


def show(req, flavor_id):
    return 200, {'flavor': flavor_view(req, get_flavor(req, flavor_id))}


def create(req):
    wsgi.authorize(req, 'os_compute_api:os-flavor-manage:create')
    body = validation.validate(CREATE_SCHEMAS, req, wsgi.json_body(req))
    spec = body['flavor']
    flavor = objects.Flavor(
        req.context, name=spec['name'],
        flavorid=spec.get('id') or uuidutils.generate_uuid(),
        memory_mb=_int(spec['ram'], 'ram'),
        vcpus=_int(spec['vcpus'], 'vcpus'),
        root_gb=_int(spec['disk'], 'disk'),
        ephemeral_gb=_int(spec.get('OS-FLV-EXT-DATA:ephemeral', 0),
                          'ephemeral'),
        swap=_int(spec.get('swap') or 0, 'swap'),
        is_public=spec.get('os-flavor-access:is_public', True),
        description=spec.get('description'), disabled=False,
        extra_specs={})
    flavor.create()
    return 200, {'flavor': flavor_view(req, flavor)}


def delete(req, flavor_id):
    wsgi.authorize(req, 'os_compute_api:os-flavor-manage:delete')
    get_flavor(req, flavor_id).destroy()
    return 202, None


def specs_index(req, flavor_id):
    return 200, {'extra_specs': dict(get_flavor(req, flavor_id).extra_specs)}


def specs_create(req, flavor_id):
    wsgi.authorize(req, SPECS % 'create')
    body = validation.validate(SPECS_SCHEMAS, req, wsgi.json_body(req))
    flavor = get_flavor(req, flavor_id)
    _check_specs(body['extra_specs'])
    flavor.save_extra_specs(to_add=body['extra_specs'])
    return 200, {'extra_specs': body['extra_specs']}


def spec_show(req, flavor_id, key):
    flavor = get_flavor(req, flavor_id)
    if key not in flavor.extra_specs:
        raise wsgi.HTTPError(404, 'Flavor %s has no extra spec %s.'
                             % (flavor_id, key))
    return 200, {key: flavor.extra_specs[key]}


def spec_update(req, flavor_id, key):
    wsgi.authorize(req, SPECS % 'update')
    body = wsgi.json_body(req)
    if set(body) != {key} or not isinstance(body[key], str):
        raise wsgi.HTTPError(400, 'The body must be {"%s": "<value>"}.'
                             % key)
    flavor = get_flavor(req, flavor_id)
    _check_specs(body)
    flavor.save_extra_specs(to_add=body)
    return 200, body


def spec_delete(req, flavor_id, key):
    wsgi.authorize(req, SPECS % 'delete')
    flavor = get_flavor(req, flavor_id)
    if key not in flavor.extra_specs:
        raise wsgi.HTTPError(404, 'Flavor %s has no extra spec %s.'
                             % (flavor_id, key))
    flavor.save_extra_specs(to_delete=[key])
    return 202, None


ROUTES = [
    ('GET', '/flavors', index),
    ('POST', '/flavors', create),
    ('GET', '/flavors/detail', detail),
    ('GET', '/flavors/{flavor_id}', show),
    ('DELETE', '/flavors/{flavor_id}', delete),
    ('GET', '/flavors/{flavor_id}/os-extra_specs', specs_index),
    ('POST', '/flavors/{flavor_id}/os-extra_specs', specs_create),
    ('GET', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_show),
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_update),
    ('DELETE', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_delete),
]
