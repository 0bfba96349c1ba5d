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

"""Is a service up? Decided from its heartbeats in the database.

Each service writes ``last_seen_up`` into its record every
``report_interval`` seconds (:mod:`nova.service`). A service whose last
heartbeat is older than ``service_down_time`` is down, and so is one an
operator forced down, whatever its heartbeats say.
"""

from oslo_log import log as logging
from oslo_utils import timeutils

import nova.conf

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# Newest first: a record that never sent a heartbeat still has the time it
# was written.
_HEARTBEAT_FIELDS = ('last_seen_up', 'updated_at', 'created_at')


def last_heartbeat(service):
    """The latest time ``service`` (a Service object) is known alive."""
    for field in _HEARTBEAT_FIELDS:
        if service.obj_attr_is_set(field):
            value = getattr(service, field)
            if value is not None:
                return value
    return None


def service_is_up(service):
    """True if ``service`` sent a heartbeat recently and is not forced down."""
    if service.forced_down:
        return False
    heartbeat = last_heartbeat(service)
    if heartbeat is None:
        return False
    elapsed = timeutils.delta_seconds(timeutils.normalize_time(heartbeat),
                                      timeutils.utcnow())
    # abs(): a heartbeat "in the future" means clocks differ between hosts,
    # which is not a sign the service is dead.
    is_up = abs(elapsed) <= CONF.service_down_time
    if not is_up:
        LOG.debug('%(binary)s on %(host)s is down: last heartbeat %(hb)s, '
                  '%(elapsed).0f s ago.',
                  {'binary': service.binary, 'host': service.host,
                   'hb': heartbeat, 'elapsed': elapsed})
    return is_up
