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

"""``/os-services``: the services and whether they are up (admin only).

Each row carries the service's ``version`` (see
nova.objects.service.SERVICE_VERSION_HISTORY) and, for computes,
``vpmem_live_migration``, so an operator sees which hosts can take part in
live migration of instances with vpmem before trying one.
"""

from nova.api import wsgi
from nova import objects
from nova.objects import service as service_obj
from nova import servicegroup


def _time(value):
    return value.strftime('%Y-%m-%dT%H:%M:%S.%f') if value else None


def service_view(service):
    body = {
        'id': service.uuid,
        'binary': service.binary,
        'host': service.host,
        'zone': 'nova' if service.binary == 'nova-compute' else 'internal',
        'status': 'disabled' if service.disabled else 'enabled',
        'state': 'up' if servicegroup.service_is_up(service) else 'down',
        'disabled_reason': service.disabled_reason,
        'forced_down': service.forced_down,
        'updated_at': _time(service.updated_at),
        'version': service.version,
    }
    if service.binary == service_obj.COMPUTE_BINARY:
        body['vpmem_live_migration'] = (
            service.version >= service_obj.VPMEM_LIVE_MIGRATION_VERSION)
    return body


def index(req):
    wsgi.authorize(req, 'os_compute_api:os-services:list')
    services = objects.ServiceList.get_all(req.context)
    host = req.params.get('host')
    binary = req.params.get('binary')
    return 200, {'services': [
        service_view(s) for s in services
        if (not host or s.host == host) and (not binary or
                                             s.binary == binary)]}


ROUTES = [('GET', '/os-services', index)]
