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

"""The compute manager: the work nova-compute does on its host.

It is the server side of :mod:`nova.compute.rpcapi`; every RPC method
here has a counterpart there, and the version history lives in that
module. The virt driver and the resource tracker plug in here (later).
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import periodic_task

import nova.conf
from nova import manager

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


class ComputeManager(manager.Manager):
    """Manages the instances of one compute host."""

    target = messaging.Target(version='1.0')

    def __init__(self, host=None):
        super().__init__(host=host, service_name='compute')
        # The spacing of the resource update comes from the configuration,
        # which is only parsed after this module is imported, so it is set
        # per manager rather than in the decorator. 0 means "every tick".
        self._periodic_spacing = dict(self._periodic_spacing)
        self._periodic_spacing['update_available_resource'] = (
            CONF.compute.update_resources_interval or CONF.periodic_interval)

    def init_host(self):
        """Bring the host to a known state before taking requests.

        The virt driver's host initialisation and the recovery of
        migrations that were in flight when the service stopped belong
        here once the driver exists.
        """
        LOG.info('Compute service on host %s starting.', self.host)

    def cleanup_host(self):
        LOG.info('Compute service on host %s stopping.', self.host)

    # RPC API (see nova.compute.rpcapi for the version history).

    def ping(self, context, arg):
        """Answer with this host's name and ``arg`` unchanged.

        Lets a caller check that this host's service is reachable and that
        its arguments (objects included) survive the round trip.
        """
        return {'host': self.host, 'arg': arg}

    # Periodic tasks.

    @periodic_task.periodic_task(run_immediately=True)
    def update_available_resource(self, context):
        """Refresh this host's resource view.

        The resource tracker hooks in here, once per node of the driver:
        ``ResourceTracker.update_available_resource(context, nodename)``
        rebuilds the vpmem namespace assignments from the database and
        reports the inventory to placement. Until the manager owns a
        tracker and a driver there is nothing to refresh.
        """
        LOG.debug('update_available_resource on %s: no resource tracker '
                  'yet.', self.host)
