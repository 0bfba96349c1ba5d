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

"""Flavor access: which projects may use a private flavor.

``GET /flavors/{flavor_id}/os-flavor-access`` lists them; the flavor
actions ``addTenantAccess`` and ``removeTenantAccess`` change them and
answer with the new list, as Nova (administrators only). A public flavor
is everyone's: it has no list (404) and takes no additions (409).
"""

from nova.api.handlers import flavors
from nova.api import http
from nova.api import validation
from nova import exception

POLICY = 'os_compute_api:os-flavor-access'


def _tenant_schema(action):
    return {
        'type': 'object',
        'properties': {action: {
            'type': 'object',
            'properties': {'tenant': {'type': 'string', 'minLength': 1,
                                      'maxLength': 255}},
            'required': ['tenant'],
            'additionalProperties': False,
        }},
        'required': [action],
        'additionalProperties': False,
    }


ACTIONS = ('addTenantAccess', 'removeTenantAccess')
SCHEMAS = {action: [(None, None, _tenant_schema(action))]
           for action in ACTIONS}


def access_view(flavor, projects):
    return {'flavor_access': [{'flavor_id': flavor.flavorid,
                               'tenant_id': project_id}
                              for project_id in projects]}


def index(req, flavor_id):
    http.authorize(req, POLICY)
    flavor = flavors.get_flavor(req, flavor_id)
    if flavor.is_public:
        raise http.HTTPError(404, 'Access list not available for public '
                                  'flavors: flavor %s is public.'
                             % flavor_id)
    return 200, access_view(flavor, flavor.access_projects())


def _add(req, flavor, project_id):
    if flavor.is_public:
        raise http.HTTPError(409, 'Can not add access to a public flavor: '
                                  'flavor %s is public, every project may '
                                  'use it.' % flavor.flavorid)
    flavor.add_access(project_id)


def _remove(req, flavor, project_id):
    flavor.remove_access(project_id)


_HANDLERS = {'addTenantAccess': ('add_tenant_access', _add),
             'removeTenantAccess': ('remove_tenant_access', _remove)}


def action(req, flavor_id):
    body = http.json_body(req)
    names = [name for name in ACTIONS if name in body]
    if len(names) != 1:
        raise http.HTTPError(400, 'A flavor action is one of %s, with '
                                  '{"tenant": "<project id>"}.'
                             % ', '.join(ACTIONS))
    name = names[0]
    rule, handler = _HANDLERS[name]
    http.authorize(req, '%s:%s' % (POLICY, rule))
    validation.validate(SCHEMAS[name], req, body)
    flavor = flavors.get_flavor(req, flavor_id)
    try:
        handler(req, flavor, body[name]['tenant'])
    except exception.FlavorAccessExists as e:
        raise http.HTTPError(409, e.format_message())
    except exception.FlavorAccessNotFound as e:
        raise http.HTTPError(404, e.format_message())
    return 200, access_view(flavor, flavor.access_projects())


ROUTES = [
    ('GET', '/flavors/{flavor_id}/os-flavor-access', index),
    ('POST', '/flavors/{flavor_id}/action', action),
]
