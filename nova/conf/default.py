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

"""Options of the [DEFAULT] group: identity of this service and its loops."""

import os
import socket

from oslo_config import cfg
from oslo_utils import netutils

service_opts = [
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<current_hostname>',
               help="""
Name of this node. Used as the compute host name in the database, in
placement (the compute node resource provider is named after it), and as
the RPC server name other services use to reach this one. Must be unique
among the services of a deployment.
"""),
    cfg.IPOpt('my_ip',
              default=netutils.get_my_ipv4(),
              sample_default='<host_ipv4>',
              help="""
IP address of this host. The compute service records it in its compute node,
and the hypervisor API shows it as ``host_ip``.
"""),
    cfg.StrOpt('state_path',
               default=os.path.join(os.path.expanduser('~'), '.nova-vpmem'),
               sample_default='$HOME/.nova-vpmem',
               help="""
Top-level directory for the state this service keeps on disk: the embedded
SQLite database, file-backed vpmem namespaces in development and the
emulated hypervisor's records. Other path options default below it.
"""),
    cfg.IntOpt('report_interval',
               default=10,
               min=1,
               help="""
Seconds between two heartbeats a service writes into its service record.
Must be lower than ``service_down_time``.
"""),
    cfg.IntOpt('service_down_time',
               default=60,
               min=1,
               help="""
Seconds after the last heartbeat at which a service is considered down.
A compute service that is down is never picked as a live migration
destination, and a live migration from it is refused.
"""),
    cfg.IntOpt('periodic_interval',
               default=60,
               min=1,
               help="""
Seconds between two runs of a service's periodic tasks loop (each task may
have its own, longer spacing).
"""),
    cfg.IntOpt('periodic_fuzzy_delay',
               default=0,
               min=0,
               help="""
Up to this many seconds of random delay before a service starts its
periodic tasks, so that services started together do not hit the database
and placement at the same moment. 0 disables the delay.
"""),
    cfg.IntOpt('graceful_shutdown_timeout',
               default=60,
               min=0,
               help="""
Seconds a service waits on SIGTERM for in-flight RPC requests to finish
before it stops anyway. 0 waits forever.
"""),
    cfg.IntOpt('migrate_max_retries',
               default=-1,
               min=-1,
               help="""
How many other destinations the conductor tries for a scheduled live
migration after the first one fails its checks. -1 tries every candidate
the scheduler returned, 0 tries only the first. A forced host is never
retried.
"""),
    cfg.IntOpt('max_concurrent_live_migrations',
               default=1,
               min=0,
               help="""
How many outgoing live migrations a compute service runs at once. Further
requests wait in the queue. 0 means no limit, which can saturate the
migration network when vpmem namespaces are large.
"""),
]


def register_opts(conf):
    conf.register_opts(service_opts)


def list_opts():
    return {'DEFAULT': service_opts}
