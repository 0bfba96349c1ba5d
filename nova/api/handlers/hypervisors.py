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

"""``/os-hypervisors``: the compute nodes (admin only)."""

from nova.api import wsgi
from nova import objects
from nova import servicegroup


def _view(node, services, detail):
    service = services.get(node.host)
    up = service is not None and servicegroup.service_is_up(service)
    body = {'id': node.uuid, 'hypervisor_hostname': node.hypervisor_hostname,
            'state': 'up' if up else 'down',
            'status': ('disabled' if service is not None and
                       service.disabled else 'enabled')}
    if detail:
        body.update({
            'host_ip': node.host, 'hypervisor_type': node.hypervisor_type,
            'hypervisor_version': node.hypervisor_version,
            'service': {'host': node.host,
                        'id': service.uuid if service else None,
                        'disabled_reason': (service.disabled_reason
                                            if service else None)},
            'uptime': None,
            # The inventory itself is placement's (2.88 dropped the rest).
        })
    return body


def _list(req, detail):
    wsgi.authorize(req, 'os_compute_api:os-hypervisors:%s'
                   % ('list-detail' if detail else 'list'))
    services = {s.host: s for s in objects.ServiceList.get_all(req.context)
                if s.binary == 'nova-compute'}
    return 200, {'hypervisors': [
        _view(n, services, detail)
        for n in objects.ComputeNodeList.get_all(req.context)]}


def index(req):
    return _list(req, False)


def detail(req):
    return _list(req, True)


ROUTES = [('GET', '/os-hypervisors', index),
          ('GET', '/os-hypervisors/detail', detail)]
