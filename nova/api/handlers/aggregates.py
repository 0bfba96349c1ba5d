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

"""``GET /os-aggregates``: host aggregates (admin only).

This deployment has no host aggregates (hosts are grouped by their vpmem
labels, in placement), so the list is always empty. It is served because
``openstack hypervisor show`` reads it to name a hypervisor's aggregates.
"""

from nova.api import http


def index(req):
    http.authorize(req, 'os_compute_api:os-aggregates:index')
    return 200, {'aggregates': []}


ROUTES = [('GET', '/os-aggregates', index)]
