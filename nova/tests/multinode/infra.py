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

"""The shared servers of a multinode deployment: RabbitMQ, MariaDB, PostgreSQL.

Each server runs the Debian package's daemon, as the package's user, from
a directory of its own under ``base_dir`` (data, logs, pid file, sockets,
configuration), so it never touches the system instance in /var/lib and
is thrown away with that directory. It listens only on the addresses it
is given (127.0.0.1 and the bridge's address, never 0.0.0.0) and is
started and stopped by PID, without init scripts or systemd.

For a person, as root (``stop`` ends what a killed run left, by the PIDs
in its pid files)::

    python -m nova.tests.multinode.infra check --base-dir /tmp/nmn \\
        --address 10.77.0.1
    python -m nova.tests.multinode.infra stop --base-dir /tmp/nmn
"""

import argparse
import base64
import contextlib
import glob
import hashlib
import ipaddress
import json
import os
import pwd
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

from nova.virt.libvirt import local_hosts

APT_LOCK_TIMEOUT = 300
START_TIMEOUT = 90
STOP_TIMEOUT = 30
# Longest socket directory used as is; a UNIX socket path holds 107 bytes.
MAX_SOCKET_DIR = 80
# Set in the environment of the processes a server starts, so that the
# helpers its daemon forks (RabbitMQ's epmd) are found, and stopped, by
# PID without matching any other process by name.
OWNER_ENV = 'NOVA_MULTINODE_INFRA'
LOOPBACK = '127.0.0.1'
_NAME = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*$')
_SQL_HOST = re.compile(r'^[A-Za-z0-9_.%:-]+$')


class InfraError(RuntimeError):
    """A server could not be installed, started, configured or stopped."""


# -- packages -----------------------------------------------------------------

def installed(package):
    """Whether dpkg has ``package`` installed."""
    result = subprocess.run(
        ['dpkg-query', '-W', '-f=${Status}', package],
        capture_output=True, text=True)
    return (result.returncode == 0 and
            result.stdout.strip().endswith(' installed'))


def _apt_get(args):
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    return subprocess.run(
        ['apt-get', '-q', '-y', '-o',
         'DPkg::Lock::Timeout=%d' % APT_LOCK_TIMEOUT] + args,
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def ensure_packages(packages):
    """Install those of ``packages`` that are missing; returns them.

    On a systemd host the postinst scripts also start the system
    instances (on all addresses): stop those first (services-notes).
    """
    missing = [name for name in packages if not installed(name)]
    if not missing:
        return []
    if os.geteuid() != 0:
        raise InfraError('packages %s are missing; install them as root: '
                         'apt-get install --no-install-recommends %s'
                         % (', '.join(missing), ' '.join(missing)))
    args = ['install', '--no-install-recommends'] + missing
    result = _apt_get(args)
    if result.returncode != 0:
        # Package lists may be absent (a fresh container) or stale.
        _apt_get(['update'])
        result = _apt_get(args)
    if result.returncode != 0:
        raise InfraError('apt-get install %s failed with status %d: %s' % (
            ' '.join(missing), result.returncode, _tail(result.stderr or
                                                        result.stdout)))
    still = [name for name in missing if not installed(name)]
    if still:
        raise InfraError('apt-get did not install %s' % ', '.join(still))
    return missing


# -- processes ----------------------------------------------------------------

def _tail(text, lines=10):
    return '\n'.join((text or '').strip().splitlines()[-lines:])


def _read(path):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return ''


def alive(pid):
    """Whether ``pid`` runs (a zombie does not)."""
    stat = _read('/proc/%d/stat' % pid) if pid else ''
    return stat[stat.rfind(')') + 2:][:1] not in ('', 'Z', 'X')


def terminate(pid, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, reap=None):
    """Stop ``pid`` with ``sig``, then SIGKILL after ``timeout`` seconds.

    ``reap`` (a Popen) is polled so that a child of ours does not linger
    as a zombie, which :func:`alive` would count as gone anyway.
    """
    if not alive(pid):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid):
        if reap is not None:
            reap.poll()
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


def owned(pid, marker):
    """Whether ``pid``'s environment holds OWNER_ENV=``marker``."""
    try:
        with open('/proc/%d/environ' % pid, 'rb') as f:
            environ = f.read().split(b'\0')
    except OSError:
        return False
    return ('%s=%s' % (OWNER_ENV, marker)).encode() in environ


def marked_pids(marker):
    """PIDs of the live processes that carry ``marker`` (see OWNER_ENV)."""
    return sorted(int(entry) for entry in os.listdir('/proc')
                  if entry.isdigit() and int(entry) != os.getpid() and
                  owned(int(entry), marker) and alive(int(entry)))


def _pid_from_file(path):
    first = _read(path).split()[:1]
    pid = int(first[0]) if first and first[0].isdigit() else 0
    return pid if pid > 1 else None


def _run(command, input=None, timeout=60, user=None, env=None, cwd=None):
    """Run a command (as ``user``, a (uid, gid)); its standard output."""
    ids = dict(user=user[0], group=user[1], extra_groups=[]) if user else {}
    result = subprocess.run(command, input=input, env=env, cwd=cwd,
                            capture_output=True, text=True, timeout=timeout,
                            **ids)
    if result.returncode != 0:
        raise InfraError('%s failed with status %d: %s' % (
            os.path.basename(command[0]), result.returncode,
            _tail(result.stderr or result.stdout)))
    return result.stdout


def _connectable(address, port, timeout=0.5):
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def _daemon_user(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise InfraError('user %s does not exist; is its package installed?'
                         % name) from None
    return entry.pw_uid, entry.pw_gid


# The same ownership and traversal rules as the libvirt hosts' daemons.
_chown_tree = local_hosts._chown_tree
_make_traversable = local_hosts._make_traversable


def _short_dir(path, create=True):
    """``path``, or a short link to it in /tmp for UNIX sockets."""
    if len(path) <= MAX_SOCKET_DIR:
        return path
    digest = hashlib.sha256(path.encode()).hexdigest()[:12]
    link = os.path.join(tempfile.gettempdir(), 'nmn-sock-' + digest)
    if not create:
        return link
    if os.path.islink(link) and os.readlink(link) != path:
        os.unlink(link)
    if not os.path.islink(link):
        os.symlink(path, link)
    return link


def default_networks(addresses):
    """The networks allowed to log in: each address's /24 (the bridge)."""
    networks = []
    for address in addresses:
        prefix = 32 if ipaddress.ip_address(address).is_loopback else 24
        network = str(ipaddress.ip_network('%s/%d' % (address, prefix),
                                           strict=False))
        if network not in networks:
            networks.append(network)
    return networks


# -- servers ------------------------------------------------------------------

class Server:
    """A daemon started from ``base_dir``/<name> and stopped by PID."""

    name = 'server'
    user = None
    packages = ()
    stop_signal = signal.SIGTERM
    pid_file = None

    def __init__(self, base_dir, addresses=(LOOPBACK,), port=None):
        if not addresses:
            raise ValueError('%s needs at least one address' % self.name)
        self.base_dir = os.path.abspath(base_dir)
        self.addresses = tuple(addresses)
        self.port = port
        self.dir = os.path.join(self.base_dir, self.name)
        self._process = None

    def __repr__(self):
        return '<%s %s:%s pid=%s>' % (type(self).__name__,
                                      ','.join(self.addresses), self.port,
                                      self.pid)

    @property
    def address(self):
        """The address clients use: the first that is not loopback."""
        return next((a for a in self.addresses
                     if not ipaddress.ip_address(a).is_loopback),
                    self.addresses[0])

    @property
    def pid(self):
        """PID of the server process itself, or None when stopped."""
        pid = self._server_pid()
        return pid if alive(pid) else None

    def _server_pid(self):
        # The pid file also finds a server whose starter has gone (a
        # crashed test run); the marker proves it is ours.
        pid = _pid_from_file(self.pid_file) if self.pid_file else None
        if pid and owned(pid, self.dir):
            return pid
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        return None

    def is_running(self):
        return self.pid is not None

    @property
    def log_path(self):
        return os.path.join(self.dir, '%s.out' % self.name)

    def start(self, timeout=START_TIMEOUT):
        """Start the server and wait until it serves. Idempotent."""
        if self.is_running():
            return self
        os.makedirs(self.dir, exist_ok=True)
        uid, gid = _daemon_user(self.user)
        self._prepare(uid, gid)
        _chown_tree(self.dir, uid, gid)
        _make_traversable(self.dir)
        out = open(os.path.join(self.dir, '%s.out' % self.name), 'ab')
        env = dict(self._env(), **{OWNER_ENV: self.dir})
        try:
            self._process = subprocess.Popen(
                self._command(), env=env, cwd=self.dir,
                user=uid, group=gid, extra_groups=[],
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None or (
                    time.monotonic() > deadline):
                status = self._process.poll()
                self.stop()
                raise InfraError('%s %s; %s ends:\n%s' % (
                    self.name, 'did not serve on %s port %s within %d s' % (
                        ','.join(self.addresses), self.port, timeout)
                    if status is None else 'exited with status %d' % status,
                    self.log_path, _tail(_read(self.log_path)[-8192:])))
            time.sleep(0.1)
        return self

    def stop(self):
        """Stop the server by PID, and what it left. Idempotent."""
        pid = self._server_pid()
        if pid:
            terminate(pid, self.stop_signal, reap=self._process)
        if self._process is not None:
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        self._cleanup()

    def _cleanup(self):
        # Helpers the daemon forked and left (RabbitMQ's epmd outlives
        # its node), found by the marker they inherited.
        for pid in marked_pids(self.dir):
            terminate(pid)
        if self.pid_file:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.pid_file)
        link = _short_dir(self.dir, create=False)
        if link != self.dir and os.path.islink(link):
            os.unlink(link)

    @property
    def socket_dir(self):
        return _short_dir(self.dir)

    def restart(self, timeout=START_TIMEOUT):
        self.stop()
        return self.start(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _ready(self):
        return all(_connectable(a, self.port) for a in self.addresses)

    # Subclasses: the files before the start, the command, its environment.
    def _prepare(self, uid, gid):
        pass

    def _command(self):
        raise NotImplementedError

    def _env(self):
        return {'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8',
                'HOME': self.dir}

    def _run_as(self, command, input=None, timeout=60):
        """Run an administration command as the daemon user."""
        # Marked too: what it leaves (install-db's bootstrap server if
        # interrupted) is then stopped with the server.
        return _run(command, input, timeout, _daemon_user(self.user),
                    dict(self._env(), **{OWNER_ENV: self.dir}), self.dir)


def stop_all(servers):
    """Stop every server (last started first), even when one fails."""
    errors = []
    for server in reversed(list(servers)):
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the others
            errors.append('%s: %s' % (server.name, exc))
    if errors:
        raise InfraError('stopping servers: %s' % '; '.join(errors))


@contextlib.contextmanager
def running(*servers):
    """Start ``servers`` in order; stop all of them on the way out."""
    started = []
    try:
        for server in servers:
            started.append(server)
            server.start()
        yield servers
    finally:
        stop_all(started)


def _rabbit_password_hash(password, salt=None):
    # RabbitMQ's rabbit_password_hashing_sha256: salt + sha256(salt + pw).
    salt = salt if salt is not None else secrets.token_bytes(4)
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


class RabbitMQ(Server):
    """A RabbitMQ node with its own mnesia, logs, cookie and epmd.

    AMQP listens on every given address; epmd on them too (and on
    loopback, which epmd always adds); Erlang distribution, which only
    rabbitmqctl uses, on 127.0.0.1 alone, at ``port`` + 20000. epmd's
    port follows ``port`` (5672: 4369, 5673: 4370): two nodes on other
    ports never share an epmd, which one's stop would take from the other.
    """

    name = 'rabbitmq'
    user = 'rabbitmq'
    packages = ('rabbitmq-server',)
    scripts = '/usr/lib/rabbitmq/bin'

    def __init__(self, base_dir, addresses=(LOOPBACK,), port=5672,
                 node='nmn-rabbit@localhost', epmd_port=None):
        super().__init__(base_dir, addresses, port)
        self.node = node
        self.epmd_port = epmd_port or port - 5672 + 4369
        self.dist_port = port + 20000
        self.pid_file = os.path.join(self.dir, 'rabbit.pid')
        self.credentials = None     # (vhost, user, password)

    @property
    def log_path(self):
        return os.path.join(self.dir, 'log', '%s.log' % self.node)

    def _ready(self):
        # The script we start runs the Erlang VM as its child; the VM
        # writes its own PID to the pid file.
        return (_pid_from_file(self.pid_file) is not None and
                super()._ready())

    def _env(self):
        path = lambda *parts: os.path.join(self.dir, *parts)  # noqa: E731
        loopback_only = '-kernel inet_dist_use_interface {127,0,0,1}'
        return dict(
            super()._env(),
            HOME=path('home'),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_CONF_ENV_FILE=path('rabbitmq-env.conf'),
            RABBITMQ_CONFIG_FILE=path('rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE=path('advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE=path('enabled_plugins'),
            RABBITMQ_MNESIA_BASE=path('mnesia'),
            RABBITMQ_LOG_BASE=path('log'),
            RABBITMQ_PID_FILE=self.pid_file,
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_ADDRESS=','.join(self.addresses),
            ERL_EPMD_PORT=str(self.epmd_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=loopback_only,
            RABBITMQ_CTL_ERL_ARGS=loopback_only)

    def _prepare(self, uid, gid):
        for sub in ('home', 'mnesia', 'log'):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        cookie = os.path.join(self.dir, 'home', '.erlang.cookie')
        if not os.path.exists(cookie):
            with open(os.open(cookie, os.O_WRONLY | os.O_CREAT, 0o400),
                      'w') as f:
                f.write(secrets.token_hex(16).upper())
        listeners = ''.join(
            'listeners.tcp.%d = %s:%d\n' % (index, address, self.port)
            for index, address in enumerate(self.addresses, 1))
        files = {
            'rabbitmq.conf': listeners + (
                # Scratch disks in CI are small; the default 50 MB alarm
                # would block publishers.
                'disk_free_limit.absolute = 1MB\n'),
            'rabbitmq-env.conf': '',
            'enabled_plugins': '[].\n',
        }
        for name, text in files.items():
            with open(os.path.join(self.dir, name), 'w') as f:
                f.write(text)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.pid_file)

    def _command(self):
        # Not -detached: the script stays our child, and the node's
        # output goes to our log file.
        return [os.path.join(self.scripts, 'rabbitmq-server')]

    def ctl(self, *args, timeout=60):
        """Run rabbitmqctl against this node; its standard output."""
        return self._run_as([os.path.join(self.scripts, 'rabbitmqctl'),
                             '-q', '-n', self.node] + list(args),
                            timeout=timeout)

    def ensure_vhost_user(self, vhost, user, password):
        """Create (or update) ``vhost`` and ``user`` with all rights on it.

        One ``import_definitions`` call instead of four rabbitmqctl
        commands: each starts an Erlang VM, about a second here.
        """
        definitions = {
            'users': [{'name': user, 'tags': '',
                       'hashing_algorithm': 'rabbit_password_hashing_sha256',
                       'password_hash': _rabbit_password_hash(password)}],
            'vhosts': [{'name': vhost}],
            'permissions': [{'user': user, 'vhost': vhost, 'configure': '.*',
                             'write': '.*', 'read': '.*'}],
        }
        path = os.path.join(self.dir, 'definitions.json')
        uid, gid = _daemon_user(self.user)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                          0o600), 'w') as f:
            json.dump(definitions, f)
        os.chown(path, uid, gid)
        try:
            self.ctl('import_definitions', path)
        finally:
            os.unlink(path)
        self.credentials = (vhost, user, password)
        return self.transport_url

    def consumers(self, vhost):
        """``{queue name: number of consumers}`` in ``vhost``."""
        output = self.ctl('list_queues', '-p', vhost, '--no-table-headers',
                          'name', 'consumers')
        return {name: int(count) for name, count in (
            line.rsplit(None, 1) for line in output.splitlines() if line)}

    def wait_for_consumers(self, vhost, queues, timeout=60):
        """Wait until every one of ``queues`` has a consumer again.

        RPC queues are not durable: after a restart they exist only once
        their servers have reconnected, and what is sent to them before
        is dropped. So wait for the services before the next request.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.consumers(vhost)
            missing = [queue for queue in queues if not found.get(queue)]
            if not missing:
                return found
            if time.monotonic() > deadline:
                raise InfraError('no consumer on %s within %d s' % (
                    ', '.join(missing), timeout))
            time.sleep(0.5)

    def url(self, address=None):
        """``rabbit://`` URL of the last vhost and user ensured."""
        if self.credentials is None:
            raise InfraError('no vhost and user yet: call ensure_vhost_user')
        vhost, user, password = self.credentials
        return 'rabbit://%s:%s@%s:%d/%s' % (
            urllib.parse.quote(user, safe=''),
            urllib.parse.quote(password, safe=''), address or self.address,
            self.port, urllib.parse.quote(vhost, safe=''))

    @property
    def transport_url(self):
        return self.url()


def _sql_literal(text):
    return "'%s'" % text.replace('\\', '\\\\').replace("'", "\\'")


def _check_name(kind, value, pattern=_NAME):
    if not pattern.match(value or ''):
        raise ValueError('%s %r: use letters, digits and _ . -'
                         % (kind, value))
    return value


class MariaDB(Server):
    """A mariadbd with its own data directory, socket and error log.

    mariadbd 10.11 accepts a comma-separated list in bind-address, so it
    listens on exactly the given addresses.
    """

    name = 'mariadb'
    user = 'mysql'
    packages = ('mariadb-server',)

    def __init__(self, base_dir, addresses=(LOOPBACK,), port=3306):
        super().__init__(base_dir, addresses, port)
        self.data_dir = os.path.join(self.dir, 'data')
        self.pid_file = os.path.join(self.dir, 'mariadbd.pid')

    @property
    def log_path(self):
        return os.path.join(self.dir, 'mariadb.err')

    @property
    def socket_path(self):
        return os.path.join(self.socket_dir, 'mysqld.sock')

    def _prepare(self, uid, gid):
        if not os.path.isdir(os.path.join(self.data_dir, 'mysql')):
            os.makedirs(self.data_dir, exist_ok=True)
            _chown_tree(self.dir, uid, gid)
            _make_traversable(self.dir)
            # root logs in through the socket as the OS user root.
            self._run_as(['mariadb-install-db', '--no-defaults',
                          '--datadir=%s' % self.data_dir,
                          '--auth-root-authentication-method=socket',
                          '--skip-test-db', '--skip-name-resolve'],
                         timeout=120)
        # mariadbd runs as mysql and must be able to write its log
        # (services-notes gotcha 4); _chown_tree hands it over.
        open(self.log_path, 'a').close()

    def _command(self):
        return ['mariadbd', '--no-defaults',
                '--datadir=%s' % self.data_dir,
                '--socket=%s' % self.socket_path,
                '--pid-file=%s' % self.pid_file,
                '--port=%d' % self.port,
                '--bind-address=%s' % ','.join(self.addresses),
                '--log-error=%s' % self.log_path,
                '--skip-name-resolve',
                # Disposable data: do not wait for the disk on commit.
                '--innodb-flush-log-at-trx-commit=0',
                '--innodb-buffer-pool-size=64M']

    def sql(self, statements):
        """Run SQL as root through the socket; its tab-separated output."""
        # As OS root: unix_socket authentication makes us its root.
        return _run(['mariadb', '--no-defaults', '--batch',
                     '--socket=%s' % self.socket_path, '--user=root'],
                    input=statements)

    def create_database(self, name, user, password, hosts=None,
                        address=None):
        """Create database ``name`` and ``user`` owning it; its URL.

        ``hosts``: where ``user`` may log in from (MariaDB host patterns);
        by default 127.0.0.1 and the /24 of every other address.
        """
        _check_name('database', name)
        _check_name('user', user)
        if hosts is None:
            hosts = [network[:-len('/32')] if network.endswith('/32') else
                     network.rsplit('.', 1)[0] + '.%'
                     for network in default_networks(self.addresses)]
        statements = ['CREATE DATABASE IF NOT EXISTS `%s`;' % name]
        for host in hosts:
            _check_name('host', host, _SQL_HOST)
            account = '%s@%s' % (_sql_literal(user), _sql_literal(host))
            statements += [
                'CREATE USER IF NOT EXISTS %s;' % account,
                'ALTER USER %s IDENTIFIED BY %s;' % (account,
                                                     _sql_literal(password)),
                'GRANT ALL PRIVILEGES ON `%s`.* TO %s;' % (name, account),
            ]
        self.sql('\n'.join(statements))
        return 'mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8mb4' % (
            urllib.parse.quote(user, safe=''),
            urllib.parse.quote(password, safe=''), address or self.address,
            self.port, name)


class PostgreSQL(Server):
    """A postgres cluster of its own (initdb), password logins over TCP.

    URLs name the psycopg2 driver: placement writes allocations through
    ``cursor.lastrowid``, which psycopg 3 does not provide.
    """

    name = 'postgresql'
    user = 'postgres'
    packages = ('postgresql',)
    # Fast shutdown: disconnects clients instead of waiting for them.
    stop_signal = signal.SIGINT

    def __init__(self, base_dir, addresses=(LOOPBACK,), port=5432,
                 networks=None):
        super().__init__(base_dir, addresses, port)
        self.data_dir = os.path.join(self.dir, 'data')
        # postgres removes it on a clean stop; its first line is the PID.
        self.pid_file = os.path.join(self.data_dir, 'postmaster.pid')
        self.networks = networks or default_networks(addresses)

    @staticmethod
    def bin_dir():
        """The newest installed major version's bin/ (Debian 12: 15)."""
        found = glob.glob('/usr/lib/postgresql/*/bin/initdb')
        if not found:
            raise InfraError('initdb not found under /usr/lib/postgresql; '
                             'install the postgresql package')
        return os.path.dirname(max(found, key=lambda path: int(
            '0' + ''.join(filter(str.isdigit, path.split('/')[4])))))

    def _prepare(self, uid, gid):
        if not os.path.exists(os.path.join(self.data_dir, 'PG_VERSION')):
            os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
            _chown_tree(self.dir, uid, gid)
            _make_traversable(self.dir)
            self._run_as([os.path.join(self.bin_dir(), 'initdb'),
                          '-D', self.data_dir, '-U', 'postgres',
                          '-E', 'UTF8', '--locale=C.UTF-8',
                          '--auth-local=peer',
                          '--auth-host=scram-sha-256', '--no-sync'],
                         timeout=120)
        rules = ['local all postgres peer']
        rules += ['host all all %s scram-sha-256' % network
                  for network in self.networks]
        with open(os.path.join(self.data_dir, 'pg_hba.conf'), 'w') as f:
            f.write('\n'.join(rules) + '\n')

    def _command(self):
        settings = {
            'listen_addresses': ','.join(self.addresses),
            'port': str(self.port),
            'unix_socket_directories': self.socket_dir,
            # Disposable data: do not wait for the disk.
            'fsync': 'off', 'synchronous_commit': 'off',
            'full_page_writes': 'off',
            'logging_collector': 'off',
        }
        command = [os.path.join(self.bin_dir(), 'postgres'),
                   '-D', self.data_dir]
        for key, value in settings.items():
            command += ['-c', '%s=%s' % (key, value)]
        return command

    def _ready(self):
        # TCP accepts before the cluster does; pg_isready asks the server.
        if not super()._ready():
            return False
        result = subprocess.run(
            [os.path.join(self.bin_dir(), 'pg_isready'), '-q',
             '-h', self.socket_dir, '-p', str(self.port)],
            capture_output=True)
        return result.returncode == 0

    def sql(self, script, **variables):
        """Run a psql script as postgres; ``:'name'`` quotes a variable."""
        command = [os.path.join(self.bin_dir(), 'psql'), '-X', '-q', '-A',
                   '-t', '-v', 'ON_ERROR_STOP=1', '-h', self.socket_dir,
                   '-p', str(self.port), '-U', 'postgres', '-d', 'postgres']
        for key, value in variables.items():
            command += ['-v', '%s=%s' % (key, value)]
        return self._run_as(command, input=script)

    def create_database(self, name, user, password, hosts=None,
                        address=None):
        """Create database ``name`` owned by ``user``; its URL.

        ``hosts`` is not used: pg_hba.conf admits ``self.networks``.
        """
        _check_name('database', name)
        _check_name('user', user)
        self.sql(
            "SELECT format('CREATE ROLE %I LOGIN', :'user')"
            " WHERE NOT EXISTS"
            " (SELECT 1 FROM pg_roles WHERE rolname = :'user') \\gexec\n"
            "ALTER ROLE :\"user\" WITH LOGIN PASSWORD :'password';\n"
            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')"
            " WHERE NOT EXISTS"
            " (SELECT 1 FROM pg_database WHERE datname = :'db') \\gexec\n",
            user=user, password=password, db=name)
        return 'postgresql+psycopg2://%s:%s@%s:%d/%s' % (
            urllib.parse.quote(user, safe=''),
            urllib.parse.quote(password, safe=''), address or self.address,
            self.port, name)


# -- the check ----------------------------------------------------------------

class RpcProbe:
    """An RPC server thread and a client over one rabbit:// transport."""

    topic = 'nmn-infra-check'

    def __init__(self, url):
        import oslo_messaging as messaging
        from oslo_config import cfg
        # oslo.messaging registers some options on cfg.CONF only
        # (services-notes gotcha 1).
        if not cfg.CONF._args:
            cfg.CONF([], project='nova-multinode-check')
        self.transport = messaging.get_rpc_transport(cfg.CONF, url=url)
        self.server = messaging.get_rpc_server(
            self.transport, messaging.Target(topic=self.topic,
                                             server='infra'),
            [self], executor='threading')
        self.server.start()
        self.client = messaging.get_rpc_client(
            self.transport, messaging.Target(topic=self.topic), timeout=30)

    def echo(self, ctxt, value):
        return value

    def call(self, value):
        reply = self.client.call({}, 'echo', value=value)
        if reply != value:
            raise InfraError('RPC echo returned %r, not %r' % (reply, value))
        return 'reply %r' % reply

    def close(self):
        self.server.stop()
        self.server.wait()
        self.transport.cleanup()


class SqlProbe:
    """One SQLAlchemy engine that must survive a server restart."""

    def __init__(self, url):
        import sqlalchemy as sa
        self.sa = sa
        self.engine = sa.create_engine(url, pool_pre_ping=True)
        self.table = sa.Table(
            'nmn_probe', sa.MetaData(),
            sa.Column('id', sa.Integer, primary_key=True),
            sa.Column('value', sa.String(64), nullable=False))
        self.table.metadata.create_all(self.engine)

    def write_read(self, value):
        """Insert ``value`` and read back every row; their count."""
        with self.engine.begin() as conn:
            conn.execute(self.table.insert().values(value=value))
            values = conn.execute(
                self.sa.select(self.table.c.value)).scalars().all()
        if value not in values:
            raise InfraError('row %r not read back' % value)
        return len(values)

    def close(self):
        self.engine.dispose()


def check(base_dir, address, password='nmn-secret'):
    """Start, use, restart and stop the three servers; 0 when all passed."""
    began = time.monotonic()
    addresses = tuple(dict.fromkeys((LOOPBACK, address)))
    rabbit = RabbitMQ(base_dir, addresses)
    databases = [MariaDB(base_dir, addresses), PostgreSQL(base_dir, addresses)]
    servers = [rabbit] + databases
    probes = []
    current = {}

    def step(label, func):
        current.update(label=label, started=time.monotonic())
        detail = func()
        now = time.monotonic()
        print('%6.2f s  ok   %s%s  (total %.1f s)' % (
            now - current['started'], label, ': %s' % detail if detail
            else '', now - began), flush=True)
        return detail

    def probe(new):
        probes.append(new)
        return new

    try:
        step('install packages', lambda: 'installed %s' % (
            ' '.join(ensure_packages(
            [p for server in servers for p in server.packages])) or 'nothing'))
        for server in servers:
            step('start %s' % server.name, lambda s=server: (
                'pid %d on %s port %d' % (s.start().pid,
                                          ','.join(s.addresses), s.port)))
        step('listening', lambda: listening(servers))
        url = step('rabbitmq vhost and user', lambda: (
            rabbit.ensure_vhost_user('nmn-check', 'nova', password)))
        urls = [step('%s database and user' % db.name, lambda db=db: (
            db.create_database('nmn_check', 'nova', password)))
            for db in databases]
        rpc = probe(RpcProbe(url))
        step('RPC call (server thread <- client) over %s' % rabbit.address,
             lambda: rpc.call('before restart'))
        sql = [probe(SqlProbe(u)) for u in urls]
        for db, engine in zip(databases, sql, strict=True):
            step('%s create/insert/select' % db.name,
                 lambda e=engine: '%d row(s)' % e.write_read('first'))
        step('restart rabbitmq', lambda: 'pid %d' % rabbit.restart().pid)
        step('RPC server reconnected', lambda: 'consumers %s' % (
            rabbit.wait_for_consumers('nmn-check', [RpcProbe.topic])))
        step('RPC call after the restart (same transport)',
             lambda: rpc.call('after restart'))
        for db, engine in zip(databases, sql, strict=True):
            step('restart %s' % db.name, lambda d=db: 'pid %d' % (
                d.restart().pid))
            step('%s insert/select after the restart (same engine)'
                 % db.name, lambda e=engine: '%d row(s)' % (
                     e.write_read('second')))
        while probes:
            probes.pop().close()
        step('stop all', lambda: stop_all(servers))
        left = [pid for server in servers for pid in marked_pids(server.dir)]
        if left:
            raise InfraError('processes left: %s' % left)
    except BaseException as exc:  # noqa: BLE001 - Ctrl-C stops them too
        print('%6.2f s  FAIL %s: %s: %s' % (
            time.monotonic() - current.get('started', began),
            current.get('label', 'start'), type(exc).__name__, exc),
            flush=True)
        while probes:
            with contextlib.suppress(Exception):
                probes.pop().close()
        stop_all(servers)
        return 1
    print('passed in %.1f s' % (time.monotonic() - began))
    return 0


def listening(servers):
    """What the servers' processes listen on, as one line; refuses
    wildcard addresses."""
    names = {pid: '%s(%s)' % (server.name,
                              _read('/proc/%d/comm' % pid).strip())
             for server in servers for pid in marked_pids(server.dir)}
    found = {}
    output = _run(['ss', '-H', '-l', '-t', '-n', '-p'])
    for line in output.splitlines():
        fields = line.split(None, 5)
        local = fields[3] if len(fields) == 6 else ''
        for pid in map(int, re.findall(r'pid=(\d+)', fields[-1])):
            if pid in names:
                found.setdefault(names[pid], set()).add(local)
    wildcard = [a for addresses in found.values() for a in addresses
                if a.startswith(('0.0.0.0:', '*:', '[::]:'))]
    if wildcard:
        raise InfraError('listening on all addresses: %s' % wildcard)
    return '; '.join('%s %s' % (name, ' '.join(sorted(addresses)))
                     for name, addresses in sorted(found.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova.tests.multinode.infra',
        description='RabbitMQ, MariaDB and PostgreSQL for the multinode '
                    'tier, run as root.')
    commands = parser.add_subparsers(dest='command', required=True)
    check_parser = commands.add_parser(
        'check', help='start the three servers, use them through '
                      'oslo.messaging and SQLAlchemy, restart, stop')
    check_parser.add_argument('--base-dir', required=True,
                              help='directory for their data and logs')
    check_parser.add_argument('--address', default=LOOPBACK,
                              help='address to listen on besides '
                                   '127.0.0.1 (the bridge: 10.77.0.1)')
    stop_parser = commands.add_parser(
        'stop', help='stop what a run left under --base-dir (by the PIDs '
                     'in its pid files)')
    stop_parser.add_argument('--base-dir', required=True)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error('run as root: the servers run as their own users')
    # SIGTERM (CI's timeout) unwinds like Ctrl-C, so the servers stop.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    if args.command == 'stop':
        servers = [cls(args.base_dir) for cls in (RabbitMQ, MariaDB,
                                                  PostgreSQL)]
        stop_all(servers)
        return 0
    return check(args.base_dir, args.address)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


if __name__ == '__main__':
    sys.exit(main())
