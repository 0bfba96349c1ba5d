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

"""What each owner of state says about a host, gathered for the report.

Placement (how many, over HTTP), the resource tracker of the host's
compute service (which namespace), the database (``instance.resources``)
and the namespace bytes themselves.
"""

import os

from nova.aio import checks
from nova.aio import cloud as aio_cloud
from nova.aio import guest_data
from nova import objects


def placement_usage(placement, host, resource_class):
    found = placement.get('/resource_providers?name=%s' % host)
    providers = found['resource_providers']
    if not providers:
        return 0
    usages = placement.get('/resource_providers/%s/usages' %
                           providers[0]['uuid'])['usages']
    return usages.get(resource_class, 0)


def db_assigned(ctxt, host, resource_class):
    instances = objects.InstanceList.get_by_host(
        ctxt, host, expected_attrs=['resources'])
    return sorted(r.identifier for i in instances
                  for r in (i.resources or [])
                  if r.resource_class == resource_class)


def namespace_path(cloud, host, name):
    return os.path.join(cloud.namespace_dir(host), name)


def host_state(cloud, placement, host, check_zero=(),
               resource_class=aio_cloud.RESOURCE_CLASS):
    """A HostState; ``check_zero`` names namespaces to read back."""
    ctxt = cloud.admin_context()
    rt = cloud.manager(host).rt.assigned_identifiers(host)
    return checks.HostState(
        name=host,
        rt_assigned=list(rt.get(resource_class, [])),
        db_assigned=db_assigned(ctxt, host, resource_class),
        placement_usage=placement_usage(placement, host, resource_class),
        zeroed={name: guest_data.reads_as_zeros(
            namespace_path(cloud, host, name)) for name in check_zero})
