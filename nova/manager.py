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

"""Base class of the managers: the objects that do a service's work.

A :class:`nova.service.Service` owns one manager. The manager is the RPC
endpoint of the service (its public methods are the RPC API, versioned by
``target``) and holds the periodic tasks the service runs in the
background.
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_service import periodic_task

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


class Manager(periodic_task.PeriodicTasks):
    """Work of one service on one host.

    Subclasses set ``target`` to the RPC API version they serve and
    decorate periodic work with ``oslo_service.periodic_task.periodic_task``.
    """

    # The RPC API version this manager serves; the dispatcher refuses
    # messages for a newer minor or another major version.
    target = messaging.Target(version='1.0')

    def __init__(self, host=None, service_name='undefined'):
        self.host = host or CONF.host
        self.service_name = service_name
        super().__init__(CONF)

    def init_host(self):
        """Prepare the host before the service takes RPC requests."""

    def post_start_hook(self):
        """Run once the service takes RPC requests (after ``init_host``)."""

    def cleanup_host(self):
        """Release what ``init_host`` set up, when the service stops."""

    def periodic_tasks(self, context, raise_on_error=False):
        """Run the periodic tasks that are due.

        Returns the seconds until the next one is due, so the caller can
        sleep exactly that long.
        """
        return self.run_periodic_tasks(context, raise_on_error=raise_on_error)


# Everything the base class defines is plumbing for the service, not RPC
# API; nova.rpc.ManagerAccessPolicy refuses these names from the wire.
Manager.RPC_HIDDEN = frozenset(
    name for name in dir(Manager) if not name.startswith('_'))
