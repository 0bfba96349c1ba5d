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

"""The conductor manager: orchestration of multi-host operations.

It is the server side of :mod:`nova.conductor.rpcapi`. Operations such as
live migration run here as tasks (``nova/conductor/tasks/``, later).
"""

from oslo_log import log as logging
import oslo_messaging as messaging

from nova import manager

LOG = logging.getLogger(__name__)


class ConductorManager(manager.Manager):
    """Runs operations that span several compute hosts."""

    target = messaging.Target(version='1.0')

    def __init__(self, host=None):
        super().__init__(host=host, service_name='conductor')

    # RPC API (see nova.conductor.rpcapi for the version history).

    def ping(self, context, arg):
        """Answer with this conductor's host and ``arg`` unchanged."""
        return {'host': self.host, 'arg': arg}
