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

"""The services of an all-in-one cloud, in one process.

The embedded default of every real part (see the design): the
openstack-placement app served on a free 127.0.0.1 port with SQLite, the
database on SQLite, ``fake://`` messaging, the compute API with
``noauth2``, the conductor (which schedules) and one nova-compute per
host. Hosts are emulated libvirt hosts whose namespaces are files, or
real local libvirt hosts (``real_hosts``). Everything lives in one state
directory; starting again on the same directory resumes the cloud.
"""

import dataclasses
import os

from oslo_log import log as logging

import nova.conf
from nova import context as nova_context
from nova.db import migration as db_migration
from nova.embedded import placement as embedded_placement
from nova import objects
from nova import rpc
from nova.scheduler.client import report
from nova import service

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

HOSTS = ('compute-a', 'compute-b')
CONTROLLER = 'aio-controller'
# hw:pmem label of the namespaces and its placement resource class.
LABEL = 'AIO'
RESOURCE_CLASS = 'CUSTOM_PMEM_NAMESPACE_%s' % LABEL
LOG_FILE = 'nova-aio.log'
STOP_TIMEOUT = 20


@dataclasses.dataclass
class CloudOptions:
    state_dir: str
    namespace_mib: int = 64
    namespaces_per_host: int = 2
    bandwidth_mib: int = 0          # 0: the hypervisor's own limit
    # [libvirt]live_migration_completion_timeout (s per GiB); None: its
    # default.
    completion_timeout: int = None
    api_port: int = 0               # 0: a free port
    hosts: tuple = HOSTS


def namespace_names(count):
    return ['ns%d' % i for i in range(count)]


def emulated_overrides(options, host):
    """[libvirt] options of an emulated host with file namespaces."""
    state = os.path.abspath(options.state_dir)
    return {
        ('libvirt', 'connection_uri'): 'emulated://%s?state_dir=%s' % (
            host, os.path.join(state, 'hypervisor')),
        ('libvirt', 'virt_type'): 'qemu',
        ('libvirt', 'pmem_backend'): 'file',
        ('libvirt', 'pmem_file_dir'): os.path.join(state, 'pmem', host),
    }


def compute_overrides(options, host, hypervisor_overrides):
    """Every option that differs between the compute services."""
    overrides = {
        (None, 'host'): host,
        (None, 'state_path'): os.path.join(
            os.path.abspath(options.state_dir), host),
        ('libvirt', 'pmem_file_size_mb'): options.namespace_mib,
        ('libvirt', 'pmem_namespaces'): ['%s:%s' % (
            LABEL, '|'.join(namespace_names(options.namespaces_per_host)))],
        ('libvirt', 'live_migration_bandwidth'): options.bandwidth_mib,
        ('compute', 'reserved_host_memory_mb'): 0,
        # The CLI and the demo show a migration's progress each second.
        ('compute', 'live_migration_progress_interval'): 1,
    }
    if options.completion_timeout is not None:
        overrides[('libvirt', 'live_migration_completion_timeout')] = \
            options.completion_timeout
    overrides.update(hypervisor_overrides)
    return overrides


def _apply(overrides):
    for (group, name), value in overrides.items():
        CONF.set_override(name, value, group=group)


def init_process(state_dir, debug=False):
    """Configure this process: no config files, logs into the state dir."""
    os.makedirs(state_dir, exist_ok=True)
    logging.register_options(CONF)
    logging.set_defaults(default_log_levels=(
        logging.get_default_log_levels() + ['alembic=WARN']))
    CONF([], project='nova', prog='nova-aio', default_config_files=[],
         default_config_dirs=[])
    CONF.set_override('log_file', os.path.join(state_dir, LOG_FILE))
    CONF.set_override('debug', debug)
    logging.setup(CONF, 'nova')


class Cloud:
    """Placement, database, messaging, API, conductor and computes.

    ``hypervisor_overrides`` maps a host name to its [libvirt] options
    (default: emulated hosts in the state directory).
    """

    def __init__(self, options, hypervisor_overrides=None):
        self.options = options
        self.state_dir = os.path.abspath(options.state_dir)
        self.hypervisor_overrides = hypervisor_overrides or {
            host: emulated_overrides(options, host)
            for host in options.hosts}
        self.placement = None
        self.api = None
        self.conductor = None
        self.computes = {}
        self._started = []

    # -- where things are ------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    @property
    def api_endpoint(self):
        return 'http://127.0.0.1:%s/v2.1' % self.api.port

    @property
    def placement_endpoint(self):
        return embedded_placement.endpoint(self.placement)

    def connection_uri(self, host):
        return self.hypervisor_overrides[host][('libvirt', 'connection_uri')]

    def namespace_dir(self, host):
        return self.hypervisor_overrides[host][('libvirt', 'pmem_file_dir')]

    def manager(self, host):
        return self.computes[host].manager

    # -- start and stop ------------------------------------------------------

    def start(self, on_step=None):
        """Start everything; ``on_step(text)`` narrates each part."""
        step = on_step or (lambda text: None)
        _apply({
            (None, 'transport_url'): 'fake://',
            (None, 'state_path'): self.state_dir,
            (None, 'graceful_shutdown_timeout'): STOP_TIMEOUT,
            ('database', 'connection'): 'sqlite:///%s' % self.path(
                'nova.sqlite'),
            ('api', 'auth_strategy'): 'noauth2',
            ('api', 'listen'): '127.0.0.1',
            ('api', 'port'): self.options.api_port,
        })
        try:
            self._start(step)
        except BaseException:
            self.stop()
            raise

    def _start(self, step):
        rpc.init(CONF)
        objects.register_all()
        db_migration.db_sync()
        step('database %s at schema %s' % (
            CONF.database.connection, db_migration.db_version()))

        self.placement = service.WSGIService(
            'placement', embedded_placement.make_app(
                'sqlite:///%s' % self.path('placement.sqlite')),
            '127.0.0.1', 0)
        self._launch(self.placement)
        report.configure_token_auth(CONF, self.placement_endpoint,
                                    embedded_placement.ADMIN_TOKEN)
        step('placement %s' % self.placement_endpoint)

        CONF.set_override('host', CONTROLLER)
        self.conductor = service.Service.create('nova-conductor',
                                                host=CONTROLLER)
        self._launch(self.conductor)
        step('nova-conductor (and scheduler) on fake:// messaging')

        for host in self.options.hosts:
            _apply(compute_overrides(self.options, host,
                                     self.hypervisor_overrides[host]))
            compute = service.Service.create('nova-compute', host=host)
            self._launch(compute)
            self.computes[host] = compute
            step('nova-compute %s: %s, %d x %d MiB namespaces' % (
                host, self.connection_uri(host).split('?')[0],
                self.options.namespaces_per_host,
                self.options.namespace_mib))
        CONF.set_override('host', CONTROLLER)

        from nova.api import wsgi
        self.api = service.WSGIService('nova-api', wsgi.make_app(),
                                       '127.0.0.1', self.options.api_port)
        self._launch(self.api)
        step('nova-api %s' % self.api_endpoint)

    def _launch(self, svc):
        svc.start()
        self._started.append(svc)

    def stop(self):
        """Stop in reverse order of start; True if all stopped in time."""
        clean = True
        while self._started:
            svc = self._started.pop()
            try:
                svc.stop()
                clean = svc.wait(timeout=STOP_TIMEOUT) and clean
            except Exception:
                LOG.exception('Error while stopping %r', svc)
                clean = False
        if rpc.initialized():
            rpc.cleanup()
        return clean

    # -- what the owners of state say ----------------------------------------

    def admin_context(self):
        return nova_context.get_admin_context()
