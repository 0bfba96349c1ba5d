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

Creating, deleting flavors, changing their description (2.55) and their
extra specs is for operators. ``hw:pmem`` is checked when set, so a bad
value is refused here (400) rather than failing every boot later. The
views are in :mod:`nova.api.handlers.flavor_views`.
"""

from urllib import parse as urlparse

from oslo_utils import strutils
from oslo_utils import uuidutils

import nova.conf
from nova.api.handlers import flavor_views as views
from nova.api import http
from nova.api import validation
from nova import exception
from nova import objects
from nova.virt import hardware

CONF = nova.conf.CONF

SPECS = 'os_compute_api:os-flavor-extra-specs:%s'
MAX_INT = 2147483647

# Nova's boolean: JSON booleans and their usual spellings as strings.
BOOLEAN = {'type': ['boolean', 'string'],
           'enum': [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on',
                    'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false',
                    '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']}
_COUNT = {'type': ['integer', 'string'], 'pattern': '^[0-9]*$',
          'maximum': MAX_INT}
POSITIVE = dict(_COUNT, minimum=1)
NON_NEGATIVE = dict(_COUNT, minimum=0)
DESCRIPTION = {'type': ['string', 'null'], 'minLength': 0,
               'maxLength': 65535}

_FLAVOR_PROPERTIES = {
    # No blank at either end of a name.
    'name': dict(validation.NAME, pattern=r'^\S(.*\S)?$'),
    'id': {'type': ['string', 'number', 'null'], 'minLength': 1,
           'maxLength': 255, 'pattern': r'^(?! )[a-zA-Z0-9. _-]+(?<! )$'},
    'ram': POSITIVE,
    'vcpus': POSITIVE,
    'disk': NON_NEGATIVE,
    'OS-FLV-EXT-DATA:ephemeral': NON_NEGATIVE,
    'swap': NON_NEGATIVE,
    'rxtx_factor': {'type': ['number', 'string'],
                    'pattern': r'^[0-9]+(\.[0-9]+)?$',
                    'exclusiveMinimum': 0, 'maximum': 3.40282e+38},
    'os-flavor-access:is_public': BOOLEAN,
}


def _create_schema(properties):
    return {
        'type': 'object',
        'properties': {'flavor': {
            'type': 'object',
            'properties': properties,
            'required': ['name', 'ram', 'vcpus', 'disk'],
            'additionalProperties': False,
        }},
        'required': ['flavor'],
        'additionalProperties': False,
    }


CREATE_SCHEMAS = [
    (None, (2, 54), _create_schema(_FLAVOR_PROPERTIES)),
    ((2, 55), None, _create_schema(dict(_FLAVOR_PROPERTIES,
                                        description=DESCRIPTION))),
]

UPDATE_SCHEMAS = [((2, 55), None, {
    'type': 'object',
    'properties': {'flavor': {
        'type': 'object',
        'properties': {'description': DESCRIPTION},
        'required': ['description'],
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

# The list's query parameters; unknown ones are refused from 2.75.
LIST_PARAMS = ('limit', 'marker', 'is_public', 'minRam', 'minDisk',
               'sort_key', 'sort_dir')
STRICT_PARAMS_VERSION = (2, 75)


def _may_read_specs(req):
    from nova.api import policy
    return policy.authorize(req.context, SPECS % 'index')


def flavor_view(req, flavor, detail=True):
    return views.flavor(req, flavor, detail=detail,
                        extra_specs_allowed=detail and _may_read_specs(req))


def get_flavor(req, flavor_id):
    try:
        return objects.Flavor.get_by_flavor_id(req.context, flavor_id)
    except exception.FlavorNotFound:
        raise http.HTTPError(404, 'Flavor %s could not be found.'
                             % flavor_id)


def _check_specs(specs):
    pmem = specs.get(hardware.PMEM_EXTRA_SPEC)
    if pmem is not None:
        try:
            hardware.validate_pmem_extra_spec(pmem)
        except exception.Invalid as e:
            raise http.HTTPError(400, e.format_message())


def _int(value, name, minimum=0):
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < minimum:
        raise http.HTTPError(400, '%s must be an integer >= %d, not %r.'
                             % (name, minimum, value))
    return number


def _bool(value, name):
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise http.HTTPError(400, 'Invalid %s value %r: give true or false.'
                             % (name, value))


def _is_public_filter(req):
    """Only administrators choose: None (all), True or False."""
    if not req.context.is_admin:
        return True
    value = req.params.get('is_public')
    if value is None:
        return True
    if value.strip().lower() == 'none':
        return None
    try:
        return strutils.bool_from_string(value, strict=True)
    except ValueError:
        raise http.HTTPError(400, 'Invalid is_public filter [%s]: give '
                                  'true, false or none.' % value)


def _min_param(req, name):
    value = req.params.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise http.HTTPError(400, 'Invalid %s filter [%s]: give a whole '
                                  'number.' % (name, value))


def _choice(req, name, allowed, default):
    value = req.params.get(name) or default
    if value not in allowed:
        raise http.HTTPError(400, 'Invalid %s %r: one of %s.'
                             % (name, value, ', '.join(allowed)))
    return value


def _accessible(req, flavors):
    """The flavorids of the private flavors the caller's project may use."""
    project_id = req.context.project_id
    return {f.flavorid for f in flavors
            if not f.is_public and project_id in f.access_projects()}


def _list(req):
    """(flavors of the page, the limit applied)."""
    if req.version >= STRICT_PARAMS_VERSION:
        unknown = sorted(set(req.params) - set(LIST_PARAMS))
        if unknown:
            raise http.HTTPError(400, 'Invalid query parameter(s) %s: the '
                                      'flavor list takes %s.'
                                 % (', '.join(unknown),
                                    ', '.join(LIST_PARAMS)))
    limit = req.params.get('limit')
    limit = CONF.api.max_limit if limit is None else min(
        _int(limit, 'limit'), CONF.api.max_limit)
    everything = list(objects.FlavorList.get_all(req.context))
    marker = req.params.get('marker')
    if marker:
        found = [f for f in everything if f.flavorid == marker]
        if not found:
            raise http.HTTPError(400, 'marker [%s] not found' % marker)
        marker = found[0]
    admin = req.context.is_admin
    is_public = _is_public_filter(req)
    return views.select(
        everything, is_public=is_public,
        accessible=_accessible(req, everything) if is_public else (),
        disabled=None if admin else False,
        min_ram=_min_param(req, 'minRam'),
        min_disk=_min_param(req, 'minDisk'),
        sort_key=_choice(req, 'sort_key', views.SORT_KEYS, 'flavorid'),
        sort_dir=_choice(req, 'sort_dir', views.SORT_DIRS, 'asc'),
        marker=marker or None, limit=limit), limit


def _list_body(req, collection, flavors, limit, detail):
    body = {'flavors': [flavor_view(req, f, detail=detail)
                        for f in flavors]}
    if limit and len(flavors) == limit:
        params = [(k, v) for k, v in req.params.items() if k != 'marker']
        params.append(('marker', flavors[-1].flavorid))
        body['flavors_links'] = [{
            'rel': 'next',
            'href': '%s/%s?%s' % (http.link_prefix(req), collection,
                                  urlparse.urlencode(params))}]
    return body


def index(req):
    flavors, limit = _list(req)
    return 200, _list_body(req, 'flavors', flavors, limit, detail=False)


def detail(req):
    flavors, limit = _list(req)
    return 200, _list_body(req, 'flavors/detail', flavors, limit,
                           detail=True)


def show(req, flavor_id):
    return 200, {'flavor': flavor_view(req, get_flavor(req, flavor_id))}


def create(req):
    http.authorize(req, 'os_compute_api:os-flavor-manage:create')
    body = validation.validate(CREATE_SCHEMAS, req, http.json_body(req))
    spec = body['flavor']
    flavorid = spec.get('id')
    flavor = objects.Flavor(
        req.context, name=spec['name'],
        flavorid=(str(flavorid) if flavorid is not None
                  else uuidutils.generate_uuid()),
        memory_mb=_int(spec['ram'], 'ram', minimum=1),
        vcpus=_int(spec['vcpus'], 'vcpus', minimum=1),
        root_gb=_int(spec['disk'], 'disk'),
        ephemeral_gb=_int(spec.get('OS-FLV-EXT-DATA:ephemeral', 0),
                          'OS-FLV-EXT-DATA:ephemeral'),
        swap=_int(spec.get('swap') or 0, 'swap'),
        is_public=_bool(spec.get('os-flavor-access:is_public', True),
                        'os-flavor-access:is_public'),
        description=spec.get('description'), disabled=False,
        extra_specs={})
    flavor.create()
    return 200, {'flavor': flavor_view(req, flavor)}


def update(req, flavor_id):
    """2.55: change the description, the only mutable part of a flavor."""
    http.authorize(req, 'os_compute_api:os-flavor-manage:update')
    body = validation.validate(UPDATE_SCHEMAS, req, http.json_body(req))
    flavor = get_flavor(req, flavor_id)
    flavor.description = body['flavor']['description']
    flavor.save()
    return 200, {'flavor': flavor_view(req, flavor)}


def delete(req, flavor_id):
    http.authorize(req, 'os_compute_api:os-flavor-manage:delete')
    get_flavor(req, flavor_id).destroy()
    return 202, None


def specs_index(req, flavor_id):
    http.authorize(req, SPECS % 'index')
    return 200, {'extra_specs': dict(get_flavor(req, flavor_id).extra_specs)}


def specs_create(req, flavor_id):
    http.authorize(req, SPECS % 'create')
    body = validation.validate(SPECS_SCHEMAS, req, http.json_body(req))
    flavor = get_flavor(req, flavor_id)
    _check_specs(body['extra_specs'])
    flavor.save_extra_specs(to_add=body['extra_specs'])
    return 200, {'extra_specs': body['extra_specs']}


def spec_show(req, flavor_id, key):
    http.authorize(req, SPECS % 'show')
    flavor = get_flavor(req, flavor_id)
    if key not in flavor.extra_specs:
        raise http.HTTPError(404, 'Flavor %s has no extra spec %s.'
                             % (flavor_id, key))
    return 200, {key: flavor.extra_specs[key]}


def spec_update(req, flavor_id, key):
    http.authorize(req, SPECS % 'update')
    body = http.json_body(req)
    if set(body) != {key} or not isinstance(body[key], str):
        raise http.HTTPError(400, 'The body must be {"%s": "<value>"}.'
                             % key)
    flavor = get_flavor(req, flavor_id)
    _check_specs(body)
    flavor.save_extra_specs(to_add=body)
    return 200, body


def spec_delete(req, flavor_id, key):
    http.authorize(req, SPECS % 'delete')
    flavor = get_flavor(req, flavor_id)
    if key not in flavor.extra_specs:
        raise http.HTTPError(404, 'Flavor %s has no extra spec %s.'
                             % (flavor_id, key))
    flavor.save_extra_specs(to_delete=[key])
    # Nova answers 200, with no body.
    return 200, None


ROUTES = [
    ('GET', '/flavors', index),
    ('POST', '/flavors', create),
    ('GET', '/flavors/detail', detail),
    ('GET', '/flavors/{flavor_id}', show),
    ('PUT', '/flavors/{flavor_id}', update, ((2, 55), None)),
    ('DELETE', '/flavors/{flavor_id}', delete),
    ('GET', '/flavors/{flavor_id}/os-extra_specs', specs_index),
    ('POST', '/flavors/{flavor_id}/os-extra_specs', specs_create),
    ('GET', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_show),
    ('PUT', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_update),
    ('DELETE', '/flavors/{flavor_id}/os-extra_specs/{key}', spec_delete),
]
