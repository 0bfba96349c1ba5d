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

"""A multinode deployment on one machine: every service its own process.

In the root network namespace, on 127.0.0.1 and the bridge's 10.77.0.1:
RabbitMQ, MariaDB or PostgreSQL (:mod:`~nova.tests.multinode.infra`),
placement and nova-api under gunicorn, nova-conductor. In each compute's
namespace ``nmn-cN`` (10.77.0.1N, :mod:`~nova.tests.multinode.network`):
a session-mode libvirtd (:mod:`~nova.tests.multinode.libvirt_hosts`) and
a nova-compute ``compute-N`` that reaches everything else across the
veth link. Every process is recorded in ``DIR/pids.json`` and stopped by
PID; ``down`` works from that record and from what exists, so it also
cleans up after a crashed ``up``. As root::

    python -m nova.tests.multinode.deployment up --base-dir DIR
    eval "$(python -m nova.tests.multinode.deployment env --base-dir DIR)"
    openstack compute service list
    python -m nova.tests.multinode.deployment down --base-dir DIR

``check`` (:mod:`~nova.tests.multinode.cli_check`) brings it up, boots
a vpmem server through the ``openstack`` CLI, live-migrates it
compute-1 -> compute-2 -> compute-1 and tears it all down again, one
line per step. Tests use :class:`Deployment`: ``up()``, ``env()`` for
the CLI, ``kill('nova-compute-2')`` (SIGKILL by default),
``restart('rabbitmq' | 'mariadb' | 'nova-compute-1' | ...)`` which
returns once everything serves again, ``down()``.
"""

import argparse
import configparser
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from nova.tests.multinode import infra
from nova.tests.multinode import keystone as ks
from nova.tests.multinode import network
from nova.tests.multinode import services

COMPUTES = 2
PORTS = {'rabbitmq': 5672, 'epmd': 4369, 'mariadb': 3306,
         'postgresql': 5432, 'placement': 8778, 'api': 8774,
         'keystone': ks.PORT}
DATABASES = ('mariadb', 'postgresql')
AUTHS = ('noauth2', 'keystone')
LABEL = 'SMALL'
NAMESPACES = ('ns0', 'ns1')
NAMESPACE_MIB = 16
FLAVOR = 'nmn-pmem'
FLAVOR_RAM_MB = 32
IMAGE_NAME = 'vpmem-stamp'
IMAGE_ID = 'a3b0d8a4-6d1e-4f57-9d43-8e3c2c1f0017'
# The same guest writing at most this many pages a second (its cmdline):
# a migration at a few MiB/s can then converge, seconds after it began.
PACED_IMAGE_NAME = 'vpmem-stamp-paced'
PACED_IMAGE_ID = 'a3b0d8a4-6d1e-4f57-9d43-8e3c2c1f0018'
PACED_PAGES_PER_SECOND = 128
SERVER = 'nmn-vm'
# What the tiers' computes need for the stamp guest: it has no ACPI, so a
# cold migration's power-off should not wait for it.
STAMP_GUEST_OPTIONS = {('compute', 'shutdown_timeout'): 1}
VHOST = 'nova'
TOKEN = 'admin'
UP_TIMEOUT = 90
CLI_TIMEOUT = 300
# QEMU's capability probe costs each new libvirtd seconds; the
# integration tier keeps the same cache.
CAPS_CACHE = os.path.join(tempfile.gettempdir(),
                          'nova-integration-qemu-capabilities')


class DeploymentError(RuntimeError):
    pass


def compute_name(index):
    return 'compute-%d' % index


class Steps:
    """One line per step: its own time and the time since the start."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.began = time.monotonic()

    def __call__(self, title, func, *args, **kwargs):
        started = time.monotonic()
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            self._line('FAIL', title, started, '%s: %s' % (
                type(exc).__name__, exc))
            raise
        detail = result[1] if isinstance(result, tuple) else result
        self._line('ok', title, started, detail)
        return result[0] if isinstance(result, tuple) else result

    def _line(self, status, title, started, detail):
        now = time.monotonic()
        self.out.write('%7.2f s %-4s %-44s (at %6.1f s)%s\n' % (
            now - started, status, title, now - self.began,
            '  %s' % detail if detail else ''))
        self.out.flush()


class Deployment:
    """The issue-17 topology under ``base_dir`` (etc/, log/, infra/,
    hosts/, state/, pids.json, deployment.json)."""

    def __init__(self, base_dir, db='mariadb', port_offset=0,
                 computes=COMPUTES, bin_dir=None, out=sys.stdout,
                 compute_options=None, auth='noauth2'):
        if db not in DATABASES:
            raise ValueError('db must be one of %s' % ', '.join(DATABASES))
        if auth not in AUTHS:
            raise ValueError('auth must be one of %s' % ', '.join(AUTHS))
        self.base_dir = os.path.abspath(base_dir)
        self.db = db
        self.auth = auth
        self._keystone_session = None
        self.port_offset = port_offset
        self.computes = computes
        # {(group, option): value} of every nova-compute's config.
        self.compute_options = dict(compute_options or {})
        # The console scripts of the Python running this (a virtualenv).
        self.bin_dir = bin_dir or os.path.dirname(sys.executable)
        self.out = out
        self.pids = services.PidBook(self.path('pids.json'))
        self.settings = {}
        self._popens = {}

    @classmethod
    def load(cls, base_dir, **kwargs):
        """The deployment ``up`` made in ``base_dir`` (its settings)."""
        path = os.path.join(os.path.abspath(base_dir), 'deployment.json')
        try:
            with open(path) as f:
                settings = json.load(f)
        except FileNotFoundError:
            return cls(base_dir, **kwargs)
        kwargs.update(db=settings['db'],
                      port_offset=settings['port_offset'],
                      computes=settings['computes'],
                      auth=settings.get('auth', 'noauth2'))
        deployment = cls(base_dir, **kwargs)
        deployment.settings = settings
        return deployment

    # -- names, ports, paths -----------------------------------------------

    def path(self, *parts):
        return os.path.join(self.base_dir, *parts)

    def port(self, name):
        return PORTS[name] + self.port_offset

    def bin(self, name):
        return os.path.join(self.bin_dir, name)

    @property
    def addresses(self):
        return (infra.LOOPBACK, network.BRIDGE_ADDRESS)

    @property
    def api_endpoint(self):
        return 'http://%s:%d/v2.1' % (network.BRIDGE_ADDRESS,
                                      self.port('api'))

    @property
    def placement_endpoint(self):
        return 'http://%s:%d' % (network.BRIDGE_ADDRESS,
                                 self.port('placement'))

    @property
    def keystone(self):
        """The Keystone of ``auth='keystone'`` (None with noauth2)."""
        if self.auth != 'keystone':
            return None
        return ks.Keystone(self.path('keystone'), self.bin_dir,
                           self.addresses, self.settings.get('password'),
                           self.path('log'), port=self.port('keystone'))

    def links(self):
        return [network.ComputeLink(i) for i in range(1, self.computes + 1)]

    def servers(self):
        """The infra servers (objects; they find their processes by pid
        file, so these work after a crash too)."""
        rabbit = infra.RabbitMQ(self.path('infra'), self.addresses,
                                port=self.port('rabbitmq'),
                                epmd_port=self.port('epmd'))
        sql_class = (infra.MariaDB if self.db == 'mariadb'
                     else infra.PostgreSQL)
        sql = sql_class(self.path('infra'), self.addresses,
                        port=self.port(self.db))
        return rabbit, sql

    def _save_settings(self):
        with open(os.open(self.path('deployment.json'),
                          os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                  'w') as f:
            json.dump(self.settings, f, indent=1, sort_keys=True)

    # -- configuration -----------------------------------------------------

    def _common(self, host, log_name, my_ip=network.BRIDGE_ADDRESS):
        common = services.nova_common(
            host, my_ip, self.settings['transport_url'],
            self.settings['nova_db'], self.placement_endpoint,
            self.path('log', '%s.log' % log_name), token=TOKEN)
        if self.keystone:
            # Placement from the catalog, as the nova service user.
            common = services.merge(common, {
                'placement': ks.placement_client_section(
                    self.keystone.auth_url, self.settings['password'])})
        return common

    def _authtoken(self, user):
        """[keystone_authtoken] of a service checking tokens as
        ``user`` (None with noauth2)."""
        if not self.keystone:
            return None
        return ks.authtoken_section(self.keystone.auth_url, user,
                                    self.settings['password'])

    def write_configs(self, hosts):
        """Every service's ini file under etc/; ``hosts``: {index:
        NamespaceHost}."""
        etc = lambda name: self.path('etc', name)  # noqa: E731
        services.write_ini(etc('placement/placement.conf'),
                           services.placement_sections(
                               self.settings['placement_db'],
                               self.path('log', 'placement.log'),
                               self._authtoken('placement')))
        services.write_ini(etc('nova-conductor.conf'), self._common(
            'controller-1', 'nova-conductor'))
        services.write_ini(etc('nova-api.conf'), services.api_sections(
            self._common('controller-1', 'nova-api'), network.BRIDGE_ADDRESS,
            self.port('api'), self.path('images.json'),
            self._authtoken('nova')))
        for index, host in hosts.items():
            name = compute_name(index)
            services.write_ini(etc('nova-%s.conf' % name),
                               services.compute_sections(
                                   self._common(name, 'nova-%s' % name,
                                                host.address),
                                   self.path('state', name),
                                   {**host.conf_overrides(
                                       tcp_control=True),
                                    **self.compute_options},
                                   ['%s:%s' % (LABEL, '|'.join(NAMESPACES))],
                                   NAMESPACE_MIB))

    def specs(self):
        """``{service: (argv, extra environment)}`` of the OpenStack
        services; a compute's argv enters its namespace."""
        def gunicorn(port, app, log):
            argv = [self.bin('gunicorn'), '--workers', '1', '--threads', '4',
                    '--graceful-timeout', '5', '--timeout', '120',
                    '--error-logfile', self.path('log', log)]
            for address in self.addresses:
                argv += ['--bind', '%s:%d' % (address, port)]
            return argv + [app]

        specs = {
            'placement': (gunicorn(self.port('placement'),
                                   'placement.wsgi.api:application',
                                   'placement-gunicorn.log'),
                          {'OS_PLACEMENT_CONFIG_DIR': self.path(
                              'etc', 'placement')}),
            'nova-conductor': ([self.bin('nova-conductor'), '--config-file',
                                self.path('etc', 'nova-conductor.conf')], {}),
            'nova-api': (gunicorn(self.port('api'),
                                  'nova.wsgi.osapi_compute:application',
                                  'nova-api-gunicorn.log'),
                         {'OS_NOVA_CONFIG_FILES': self.path(
                             'etc', 'nova-api.conf')}),
        }
        if self.keystone:
            specs['keystone'] = self.keystone.spec()
        for link in self.links():
            name = 'nova-%s' % compute_name(link.index)
            specs[name] = (network.exec_argv(link.namespace, [
                self.bin('nova-compute'), '--config-file',
                self.path('etc', '%s.conf' % name)]), {})
        return specs

    @property
    def marker(self):
        """Inherited by every service process (and its children), so
        down finds one that was started but not yet recorded."""
        return self.path('services')

    def _env(self, extra):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('OS_', 'XDG_', 'LIBVIRT_'))}
        env['PATH'] = '%s:%s' % (self.bin_dir, env.get('PATH', '/usr/bin'))
        env[infra.OWNER_ENV] = self.marker
        env.update(extra)
        return env

    def env(self, user=ks.ADMIN):
        """The ``openstack`` CLI's settings for this deployment: with
        Keystone as ``user`` (the admin, or a persona of
        ``keystone.PERSONAS`` in its project)."""
        if self.keystone:
            project = ks.PERSONAS[user][0] if user in ks.PERSONAS else user
            return ks.cli_env(self.keystone.auth_url,
                              self.settings['password'], user, project)
        return {'OS_AUTH_TYPE': 'none', 'OS_ENDPOINT': self.api_endpoint,
                'OS_IDENTITY_API_VERSION': '3',
                'OS_COMPUTE_API_VERSION': '2.latest'}

    def token(self):
        """The admin's token for the readiness checks."""
        if not self.keystone:
            return TOKEN
        if self._keystone_session is None:
            self._keystone_session = self.keystone.session()
        # keystoneauth renews it before it expires.
        return self._keystone_session.get_token()

    # -- bringing it up ----------------------------------------------------

    def up(self, steps=None):
        """Start everything; on failure stop what started and raise."""
        steps = steps or Steps(self.out)
        from nova.virt.libvirt import local_hosts
        missing = (network.missing_requirements() +
                   local_hosts.missing_requirements())
        if missing:
            raise DeploymentError('missing: %s; libvirt and QEMU: %s' % (
                ', '.join(missing), local_hosts.INSTALL_HINT))
        if self.pids.load():
            raise DeploymentError('%s holds a deployment (pids.json); run '
                                  'down first' % self.base_dir)
        if self.auth == 'keystone' and not os.path.exists(
                self.bin('keystone-manage')):
            raise DeploymentError('no keystone-manage in %s: pip install '
                                  'keystone keystonemiddleware'
                                  % self.bin_dir)
        for sub in ('etc', 'log', 'state'):
            os.makedirs(self.path(sub), exist_ok=True)
        self.settings = {'db': self.db, 'port_offset': self.port_offset,
                         'computes': self.computes, 'auth': self.auth,
                         'password': secrets.token_hex(12)}
        self._save_settings()
        self._rabbit_start = self._keystone_boot = None
        try:
            self._up(steps)
        except BaseException:
            for started in (self._rabbit_start, self._keystone_boot):
                if started:
                    # Its start must end before down stops it.
                    with contextlib.suppress(BaseException):
                        started.result()
            self.out.write('up failed; logs in %s; stopping\n'
                           % self.path('log'))
            with contextlib.suppress(Exception):
                self.down(steps)
            raise

    def _up(self, steps):
        rabbit, sql = self.servers()
        steps('packages', lambda: (None, 'installed %s' % (' '.join(
            infra.ensure_packages(rabbit.packages + sql.packages)) or
            'nothing')))
        links = steps('network nmn-br0 + %d namespaces' % self.computes,
                      _network, self.computes)
        # RabbitMQ takes seconds to boot, keystone-manage too: they do
        # so beside the others.
        self._rabbit_start = _Background(rabbit.start)
        self._keystone_boot = keystone_boot = (
            self.keystone and _Background(self._bootstrap_keystone))
        steps('%s on %s' % (self.db, ','.join(self.addresses)),
              self._start_sql, sql)
        hosts = steps('libvirtd in each namespace', self._start_hosts,
                      links)
        steps('stamp guest image', self._write_image)
        steps('rabbitmq on %s' % ','.join(self.addresses), lambda: (
            self._rabbit_start.result(), 'pid %d port %d' % (
                rabbit.pid, rabbit.port)))
        self.settings['transport_url'] = rabbit.ensure_vhost_user(
            VHOST, 'nova', self.settings['password'])
        self._save_settings()
        if keystone_boot:
            steps('keystone-manage bootstrap', keystone_boot.result)
            steps('keystone at %s' % self.keystone.auth_url,
                  self._start_keystone)
        self.write_configs(hosts)
        steps('placement-manage db sync', self._run, 'placement-db-sync',
              [self.bin('placement-manage'), '--config-file',
               self.path('etc', 'placement', 'placement.conf'), 'db',
               'sync'])
        steps('nova-manage db sync', self._run, 'nova-db-sync',
              [self.bin('nova-manage'), '--config-file',
               self.path('etc', 'nova-conductor.conf'), 'db', 'sync'])
        for name in self.specs():
            if name != 'keystone':
                self.start_service(name)
        steps('placement at %s' % self.placement_endpoint, self._wait,
              self._placement_ready, 'placement')
        steps('nova-api at %s' % self.api_endpoint, self._wait,
              self._api_ready, 'nova-api')
        steps('conductor + computes up, inventory', self._wait,
              self._computes_ready, 'nova-conductor')

    def _bootstrap_keystone(self):
        keystone = self.keystone
        # A fresh identity each time: the password is new.
        subprocess.run(['rm', '-rf', '--one-file-system', keystone.root],
                       check=False)
        keystone.write_config(services.write_ini)
        keystone.bootstrap(self._env({}))
        return None, 'SQLite, fernet, RegionOne in %s' % keystone.root

    def _start_keystone(self):
        """Serve it, then its users, catalog and personas."""
        self.start_service('keystone')
        self._wait(self.keystone.ready, 'keystone')
        return None, ks.register(self.keystone, ks.catalog(
            self.api_endpoint, self.placement_endpoint))

    def _start_sql(self, sql):
        sql.start()
        password = self.settings['password']
        self.settings['nova_db'] = sql.create_database('nova', 'nova',
                                                       password)
        self.settings['placement_db'] = sql.create_database(
            'placement', 'placement', password)
        return None, 'pid %d port %d, databases nova, placement' % (
            sql.pid, sql.port)

    def _start_hosts(self, links):
        from nova.tests.multinode import libvirt_hosts
        hosts = libvirt_hosts.start_namespace_hosts(
            self.path('hosts'), {compute_name(k.index): k for k in links},
            tcp=True, caps_cache=CAPS_CACHE)
        by_index = {}
        for link, host in zip(links, hosts, strict=True):
            self.pids.record('libvirtd-%s' % host.name, host.pid,
                             netns=link.namespace, index=link.index,
                             base_dir=host.base_dir,
                             host_uuid=host.host_uuid,
                             tcp_port=host.tcp_port)
            self._popens['libvirtd-%s' % host.name] = host._process
            by_index[link.index] = host
        return by_index, ', '.join('%s pid %d (%s)' % (
            h.name, h.pid, h.tcp_uri) for h in hosts)

    def _write_image(self):
        from nova.virt.libvirt import local_hosts
        from nova.virt.libvirt import devguest
        kernel = local_hosts.build_guest(self.path('guest'))
        paced = devguest.command_line(PACED_PAGES_PER_SECOND)
        with open(self.path('images.json'), 'w') as f:
            json.dump([{'id': IMAGE_ID, 'name': IMAGE_NAME,
                        'properties': {'kernel': kernel}},
                       {'id': PACED_IMAGE_ID, 'name': PACED_IMAGE_NAME,
                        'properties': {'kernel': kernel,
                                       'cmdline': paced}}], f)
        return None, '%s: %s' % (IMAGE_NAME, kernel)

    def _run(self, log_name, argv):
        log = self.path('log', '%s.log' % log_name)
        with open(log, 'ab') as out:
            result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                    env=self._env({}),
                                    stdin=subprocess.DEVNULL)
        if result.returncode:
            raise DeploymentError('%s exited %d:\n%s' % (
                ' '.join(argv[:1] + argv[-2:]), result.returncode,
                services.tail(log)))
        return None, 'log %s' % log

    def start_service(self, name):
        """Start an OpenStack service of specs() and record its PID."""
        argv, extra = self.specs()[name]
        process = services.spawn(argv, self.path('log', '%s.out' % name),
                                 env=self._env(extra), cwd=self.base_dir)
        self._popens[name] = process
        netns = argv[3] if argv[:3] == ['ip', 'netns', 'exec'] else None
        return self.pids.record(name, process.pid, argv, netns=netns)

    def _wait(self, ready, name, timeout=UP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            for service, entry in self.pids.load().items():
                if not services.is_same(entry):
                    # Its own log, or what it printed before it had one.
                    raise DeploymentError('%s (pid %s) exited:\n%s' % (
                        service, entry['pid'], services.tail(self.path(
                            'log', '%s.log' % service)) or services.tail(
                                self.path('log', '%s.out' % service))))
            detail = ready()
            if detail:
                return None, detail
            if time.monotonic() > deadline:
                raise DeploymentError('%s not ready in %d s; see %s' % (
                    name, timeout, self.path('log')))
            time.sleep(0.5)

    # -- readiness, over HTTP ------------------------------------------------

    def http_get(self, url, headers=None):
        request = urllib.request.Request(url, headers=dict(
            {'X-Auth-Token': self.token()}, **(headers or {})))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or 'null')
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError):
            return None, None

    def _placement(self, path):
        return self.http_get(self.placement_endpoint + path, {
            'OpenStack-API-Version': 'placement 1.39'})

    def usages(self):
        """``{compute: {resource class: used}}`` in placement."""
        used = {}
        for link in self.links():
            name = compute_name(link.index)
            status, body = self._placement(
                '/resource_providers?name=%s' % name)
            if status != 200 or not body['resource_providers']:
                raise DeploymentError('placement has no provider %s' % name)
            status, body = self._placement('/resource_providers/%s/usages'
                                           % body['resource_providers'][0][
                                               'uuid'])
            if status != 200:
                raise DeploymentError('placement usages of %s: HTTP %s'
                                      % (name, status))
            used[name] = body['usages']
        return used

    def _placement_ready(self):
        status, _body = self._placement('/resource_providers')
        return status == 200 and 'answers'

    def _api_ready(self):
        status, _body = self.http_get(self.api_endpoint + '/flavors')
        return status == 200 and 'answers'

    def _computes_ready(self):
        status, body = self.http_get(self.api_endpoint + '/os-services')
        if status != 200:
            return False
        up = {(s['binary'], s['host']) for s in body['services']
              if s['state'] == 'up'}
        wanted = {('nova-conductor', 'controller-1')} | {
            ('nova-compute', compute_name(k.index)) for k in self.links()}
        if not wanted <= up:
            return False
        resource_class = 'CUSTOM_PMEM_NAMESPACE_%s' % LABEL
        for link in self.links():
            status, body = self._placement(
                '/resource_providers?name=%s' % compute_name(link.index))
            if status != 200 or not body['resource_providers']:
                return False
            uuid = body['resource_providers'][0]['uuid']
            status, body = self._placement(
                '/resource_providers/%s/inventories' % uuid)
            if status != 200 or resource_class not in body['inventories']:
                return False
        return '%d services up, %d x %s' % (len(wanted), len(NAMESPACES),
                                            resource_class)

    # -- tests' handles ------------------------------------------------------

    def kill(self, service, sig=signal.SIGKILL):
        """Signal a recorded process (``nova-compute-1``, ``rabbitmq``,
        ...); its PID."""
        server = self._server(service)
        pid = server.pid if server else self.pids.running(service)
        if pid is None:
            raise DeploymentError('%s does not run' % service)
        os.kill(pid, sig)
        return pid

    def restart(self, service, wait=True):
        """Stop (if it runs) and start ``service`` again; its new PID.

        The SQL server and RabbitMQ keep their data. With ``wait``,
        returns once everything serves again (wait_ready): a message
        cast before its RPC server is back would be lost with the
        broker's queues.
        """
        server = self._server(service)
        if server is not None:
            pid = server.restart().pid
        elif service in self.specs():
            entry = self.pids.get(service)
            if entry:
                services.stop_entry(entry, reap=self._popens.get(service))
            pid = self.start_service(service)['pid']
        else:
            raise DeploymentError('unknown service %s' % service)
        if wait:
            self.wait_ready()
        return pid

    def set_compute_options(self, options):
        """Set ``{(group, option): value}`` in every nova-compute's
        config and restart them; returns once all serve again."""
        self.compute_options.update(options)
        for link in self.links():
            name = 'nova-%s' % compute_name(link.index)
            path = self.path('etc', '%s.conf' % name)
            # [DEFAULT] read as a section of its own, not merged into all.
            parser = configparser.ConfigParser(
                interpolation=None, default_section='\0')
            parser.optionxform = str
            parser.read(path)
            sections = {section: dict(parser.items(section))
                        for section in parser.sections()}
            for (group, option), value in options.items():
                sections.setdefault(group, {})[option] = value
            services.write_ini(path, sections)
            self.restart(name, wait=False)
        self.wait_ready()

    def wait_ready(self, timeout=UP_TIMEOUT):
        """Until placement and the API answer, every service is up and
        every RPC server consumes its queue. Raises if one exited."""
        checks = (self._placement_ready, self._api_ready,
                  self._computes_ready, self._rpc_ready)
        return self._wait(lambda: all(check() for check in checks) and
                          'all ready', 'the deployment', timeout)[1]

    def _rpc_ready(self):
        rabbit, _sql = self.servers()
        try:
            out = rabbit.ctl('list_queues', '-p', VHOST, 'name', 'consumers',
                             '--no-table-headers', timeout=20)
        except (infra.InfraError, subprocess.TimeoutExpired):
            return False
        consumers = dict(line.split('\t') for line in out.splitlines()
                         if line.count('\t') == 1)
        queues = ['conductor'] + ['compute.%s' % compute_name(k.index)
                                  for k in self.links()]
        return all(int(consumers.get(q, 0)) > 0 for q in queues)

    def _server(self, service):
        return next((s for s in self.servers() if s.name == service), None)

    # -- tearing it down -----------------------------------------------------

    def down(self, steps=None, purge=False):
        """Stop everything this deployment started, by PID; remove the
        network. Safe to repeat, and after a crash of ``up``."""
        steps = steps or Steps(self.out)
        entries = self.pids.load()
        hosts = {name: entry for name, entry in entries.items()
                 if name.startswith('libvirtd-')}
        others = {name: entry for name, entry in entries.items()
                  if name not in hosts}
        errors = []
        try:
            steps('stop %d service(s)' % len(others), self._stop_services,
                  others)
        except Exception as exc:  # noqa: BLE001 - stop the others too
            errors.append('services: %s' % exc)
        for name, entry in sorted(hosts.items()):
            try:
                steps('stop %s' % name, self._stop_host, entry)
                self.pids.forget(name)
            except Exception as exc:  # noqa: BLE001 - stop the others too
                errors.append('%s: %s' % (name, exc))
        # A host that started but was not recorded (a crash of up) left
        # its short link in the temporary directory.
        for link in self.links():
            root = _host_of({'index': link.index, 'base_dir': self.path(
                'hosts', compute_name(link.index)), 'host_uuid': '',
                'tcp_port': None, 'pid': None}).root
            if os.path.islink(root) and os.readlink(root).startswith(
                    self.base_dir + os.sep):
                os.unlink(root)
        try:
            steps('network teardown', lambda: (None, network.teardown()))
        except Exception as exc:  # noqa: BLE001
            errors.append('network: %s' % exc)
        try:
            steps('stop rabbitmq and %s' % self.db, lambda: infra.stop_all(
                self.servers()))
        except Exception as exc:  # noqa: BLE001
            errors.append('servers: %s' % exc)
        left = network.leftovers()
        if left:
            errors.append('left behind: %s' % ' '.join(left))
        if errors:
            raise DeploymentError('; '.join(errors))
        if purge:
            self.purge()

    def purge(self, keep_logs=False):
        """Remove ``base_dir`` (all but log/ with ``keep_logs``)."""
        doomed = [self.base_dir]
        if keep_logs and os.path.isdir(self.base_dir):
            doomed = [self.path(name) for name in os.listdir(self.base_dir)
                      if name != 'log']
        if doomed:
            subprocess.run(['rm', '-rf', '--one-file-system'] + doomed,
                           check=False)

    def _stop_services(self, entries):
        # All at once: each graceful stop (RPC drain, cleanup) takes
        # seconds, in parallel 8 s for all, one group after another 16.
        ran = services.stop_entries(entries, reaps={
            name: self._popens[name] for name in entries
            if name in self._popens})
        for name in entries:
            self.pids.forget(name)
        # Started but not recorded (a crash in between), or a child
        # left by its parent (a gunicorn worker after a kill -9).
        strays = infra.marked_pids(self.marker)
        for pid in strays:
            infra.terminate(pid)
        return None, ', '.join('%s %d%s' % (
            name, entries[name]['pid'], '' if ran[name] else ' (was gone)')
            for name in sorted(entries)) + (
                '; strays %s' % strays if strays else '')

    def host(self, index):
        """The NamespaceHost of compute ``index``, from pids.json."""
        entry = self.pids.get('libvirtd-%s' % compute_name(index))
        if entry is None:
            raise DeploymentError('no libvirtd of %s recorded'
                                  % compute_name(index))
        return _host_of(entry)

    def _stop_host(self, entry):
        """A libvirtd and its QEMU processes, from its pids.json entry."""
        from nova.virt.libvirt import local_hosts
        host = _host_of(entry)
        guests = 0
        if services.is_same(entry):
            with contextlib.suppress(Exception):
                import libvirt
                conn = libvirt.open(host.uri)
                guests = len(conn.listAllDomains())
                conn.close()
            # LocalHost.stop needs its Popen; this works from a record.
            host._destroy_domains()
        qemu = [pid for pid in host.qemu_pids() if local_hosts._is_qemu(pid)]
        stopped = services.stop_entry(
            entry, reap=self._popens.get('libvirtd-%s' % host.name))
        for pid in qemu:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if host.root != host.base_dir and os.path.islink(host.root):
            os.unlink(host.root)
        return None, 'pid %d %s, %d domain(s), QEMU %s' % (
            entry['pid'], 'stopped' if stopped else 'was gone', guests,
            qemu or 'none')


def _host_of(entry):
    from nova.tests.multinode import libvirt_hosts
    return libvirt_hosts.NamespaceHost(
        name=compute_name(entry['index']), base_dir=entry['base_dir'],
        host_uuid=entry['host_uuid'], migration_ports=(0, 0),
        link=network.ComputeLink(entry['index']),
        tcp_port=entry['tcp_port'], pid=entry['pid'])


def _network(count):
    links = network.setup(count)
    return links, ', '.join('%s %s' % (link.namespace, link.address)
                            for link in links)


class _Background(threading.Thread):
    """A call run beside the others; result() re-raises its error."""

    def __init__(self, func):
        super().__init__(daemon=True)
        self.func = func
        self.value = self.error = None
        self.start()

    def run(self):
        try:
            self.value = self.func()
        except BaseException as exc:  # noqa: BLE001 - handed to result()
            self.error = exc

    def result(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.value


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova.tests.multinode.deployment',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('command', choices=('up', 'down', 'env', 'check'))
    parser.add_argument('--base-dir', required=True,
                        help='state, configs and logs of the deployment')
    parser.add_argument('--db', choices=DATABASES, default='mariadb')
    parser.add_argument('--auth', choices=AUTHS, default='noauth2',
                        help='keystone: a real Keystone in front (tokens, '
                             'catalog, policy personas)')
    parser.add_argument('--user', default=ks.ADMIN,
                        help='env with Keystone: the admin or a persona '
                             '(%s)' % ', '.join(sorted(ks.PERSONAS)))
    parser.add_argument('--port-offset', type=int, default=0,
                        help='added to every port (when the defaults are '
                             'taken)')
    parser.add_argument('--keep', action='store_true',
                        help='check: keep --base-dir (logs) at the end')
    parser.add_argument('--purge', action='store_true',
                        help='down: remove --base-dir as well')
    args = parser.parse_args(argv)
    if args.command == 'env':
        deployment = Deployment.load(args.base_dir)
        for key, value in deployment.env(args.user).items():
            print('export %s=%s' % (key, value))
        return 0
    if os.geteuid() != 0:
        parser.error('run as root: namespaces, and daemons as their users')
    # A CI timeout's SIGTERM unwinds like Ctrl-C, so everything stops.
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.monotonic()
    try:
        if args.command == 'up':
            Deployment(args.base_dir, db=args.db,
                       port_offset=args.port_offset, auth=args.auth).up()
            print('up in %.1f s; logs in %s' % (
                time.monotonic() - began, os.path.join(
                    os.path.abspath(args.base_dir), 'log')))
        elif args.command == 'down':
            Deployment.load(args.base_dir, db=args.db,
                            port_offset=args.port_offset).down(
                                purge=args.purge)
        else:
            from nova.tests.multinode import cli_check
            cli_check.check(Deployment(args.base_dir, db=args.db,
                                       port_offset=args.port_offset,
                                       auth=args.auth),
                            keep=args.keep)
    except (Exception, KeyboardInterrupt) as exc:
        print('FAILED after %.1f s: %s' % (time.monotonic() - began, exc),
              file=sys.stderr)
        return 1
    print('wall time %.1f s' % (time.monotonic() - began))
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


if __name__ == '__main__':
    sys.exit(main())
