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

"""Libvirt hosts on this machine, for integration tests and demos.

Each :class:`LocalHost` is a session-mode ``libvirtd`` with a directory of
its own (sockets, configuration, logs, QEMU's pid files, namespace files),
its own host UUID and its own range of migration ports, so two of them act
as two hypervisor hosts that live-migrate guests over loopback. A
nova-compute service is pointed at one with :meth:`LocalHost.conf_overrides`.

libvirtd in session mode must not run as root (root always gets the
system daemon), so when this process is root the daemons and their QEMU
processes run as an unprivileged user, created on first use, and the host
directories are handed to it. Nothing here is stopped by name: each host
stops its own libvirtd and the QEMU processes listed in its own pid files.
"""

import ctypes
import dataclasses
import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from nova.virt.libvirt import devguest

DAEMON_USER = 'nova-libvirt'
DEBIAN_PACKAGES = ('libvirt-daemon', 'libvirt-daemon-driver-qemu',
                   'libvirt-clients', 'qemu-system-x86', 'libvirt-dev',
                   'pkg-config', 'gcc', 'python3-dev', 'binutils')
INSTALL_HINT = ('apt-get install -y --no-install-recommends %s && '
                'python3 -m pip install libvirt-python'
                % ' '.join(DEBIAN_PACKAGES))
FIRST_MIGRATION_PORT = 49152
PORTS_PER_HOST = 16
# Longest base_dir used as is for the daemon's XDG directories (see
# LocalHost.root).
MAX_ROOT_LENGTH = 32
START_TIMEOUT = 60
STOP_TIMEOUT = 15
# QEMU's capability probe costs each new daemon seconds; its cache is valid
# for every daemon running the same binaries, so hosts share a copy.
_CAPS_SUBDIR = os.path.join('cache', 'libvirt', 'qemu', 'cache',
                            'capabilities')
PR_SET_CHILD_SUBREAPER = 36
# Seconds between two looks for exited QEMU processes (libvirt looks
# every 200 ms).
REAP_INTERVAL = 0.05
_reaper_lock = threading.Lock()
_reaper_started = False


def _libvirtd_path():
    return (shutil.which('libvirtd') or
            next((p for p in ('/usr/sbin/libvirtd', '/sbin/libvirtd')
                  if os.access(p, os.X_OK)), None))


def missing_requirements():
    """What this machine lacks to run local hosts; empty when usable."""
    missing = []
    if _libvirtd_path() is None:
        missing.append('libvirtd (Debian: libvirt-daemon, '
                       'libvirt-daemon-driver-qemu)')
    if shutil.which('qemu-system-x86_64') is None:
        missing.append('qemu-system-x86_64 (Debian: qemu-system-x86)')
    try:
        import libvirt  # noqa: F401
    except ImportError:
        missing.append('libvirt-python (pip install libvirt-python)')
    missing.extend('%s (Debian: binutils)' % tool
                   for tool in devguest.tools_missing())
    return missing


def adopt_qemu_processes():
    """Make this process the reaper of the QEMU processes of its daemons.

    libvirtd daemonizes QEMU, so an exited QEMU is reaped by the nearest
    subreaper, normally PID 1. libvirt waits for a QEMU it stopped with
    kill(pid, 0) every 200 ms, which succeeds on a zombie: every
    migration's end and every guest stop waits until PID 1 reaps. A
    host's systemd does so at once; a container's init may take
    seconds (1.5-1.7 s measured in this project's sandbox). As a
    subreaper this process adopts them and a thread reaps each one
    within REAP_INTERVAL of its exit. Idempotent; False where prctl(2)
    is not available.
    """
    global _reaper_started
    with _reaper_lock:
        if _reaper_started:
            return True
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
                return False
        except (OSError, AttributeError):
            return False
        threading.Thread(target=_reap_qemu_forever, daemon=True,
                         name='qemu-reaper').start()
        _reaper_started = True
        return True


def _children():
    """PIDs of this process's children (adopted ones included)."""
    pids = set()
    for path in glob.glob('/proc/self/task/*/children'):
        try:
            with open(path) as f:
                pids.update(int(pid) for pid in f.read().split())
        except (OSError, ValueError):
            pass
    return pids


def _is_qemu_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    # The command name is in parentheses; the state follows the last ')'.
    name = stat[stat.find('(') + 1:stat.rfind(')')]
    state = stat[stat.rfind(')') + 2:][:1]
    return state == 'Z' and name.startswith('qemu-system')


def _reap_qemu_forever():
    # Polled, not waited for: other children (the daemons, build tools)
    # belong to their subprocess.Popen, which reaps them itself.
    while True:
        for pid in _children():
            if _is_qemu_zombie(pid):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        time.sleep(REAP_INTERVAL)


def _ensure_user(name):
    """``(uid, gid)`` of the daemon user, created when missing (root)."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(['useradd', '--system', '--no-create-home',
                        '--home-dir', '/nonexistent', '--shell',
                        '/usr/sbin/nologin', name], check=True,
                       capture_output=True)
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _chown_tree(path, uid, gid):
    os.chown(path, uid, gid)
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def _make_traversable(path):
    """Let other users pass through ``path``'s parents (not list them)."""
    path = os.path.dirname(os.path.abspath(path))
    while path != '/':
        mode = os.stat(path).st_mode
        if not mode & 0o001:
            os.chmod(path, (mode & 0o7777) | 0o001)
        path = os.path.dirname(path)


def _is_qemu(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            argv0 = f.read().split(b'\0', 1)[0]
    except OSError:
        return False
    return b'qemu-system' in os.path.basename(argv0)


@dataclasses.dataclass
class LocalHost:
    """One session-mode libvirtd acting as a hypervisor host."""

    name: str
    base_dir: str
    host_uuid: str
    migration_ports: tuple      # (first, last)
    uid: int = None             # daemon user; None: this process's user
    gid: int = None
    pid: int = None
    _process: subprocess.Popen = dataclasses.field(default=None, repr=False)

    @property
    def root(self):
        """``base_dir``, or a short link to it for the daemon's sockets.

        A UNIX socket path holds at most 107 bytes, and the daemon puts
        each guest's QEMU monitor socket some 70 bytes below
        XDG_CONFIG_HOME: under a deep ``base_dir`` (a checkout's state
        directory) QEMU could not start. The link in the temporary
        directory is named after ``base_dir``, so the same host always
        gets the same one.
        """
        if len(self.base_dir) <= MAX_ROOT_LENGTH:
            return self.base_dir
        digest = hashlib.sha256(self.base_dir.encode()).hexdigest()[:12]
        return os.path.join(tempfile.gettempdir(), 'nova-lh-' + digest)

    def _link_root(self):
        root = self.root
        if root == self.base_dir:
            return
        if os.path.islink(root):
            if os.readlink(root) == self.base_dir:
                return
            os.unlink(root)
        os.symlink(self.base_dir, root)

    @property
    def socket(self):
        return os.path.join(self.root, 'run', 'libvirt', 'libvirt-sock')

    @property
    def uri(self):
        """The [libvirt]connection_uri of a compute on this host."""
        return 'qemu+unix:///session?socket=%s' % self.socket

    @property
    def namespace_dir(self):
        """[libvirt]pmem_file_dir: namespace files the daemon's QEMU opens."""
        return os.path.join(self.base_dir, 'pmem')

    @property
    def log_path(self):
        return os.path.join(self.base_dir, 'libvirtd.log')

    def qemu_log_path(self, domain_name):
        return os.path.join(self.base_dir, 'cache', 'libvirt', 'qemu', 'log',
                            '%s.log' % domain_name)

    def conf_overrides(self):
        """``{(group, option): value}`` for a nova-compute on this host."""
        return {
            ('libvirt', 'connection_uri'): self.uri,
            ('libvirt', 'virt_type'): 'qemu',
            ('libvirt', 'pmem_backend'): 'file',
            ('libvirt', 'pmem_file_dir'): self.namespace_dir,
            ('libvirt', 'hypervisor_hostname'): self.name,
            # Both hosts share loopback; libvirt refuses it in qemu.conf,
            # so each migration names it.
            ('libvirt', 'live_migration_inbound_addr'): '127.0.0.1',
        }

    def _env(self):
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(('XDG_', 'LIBVIRT_'))}
        env.update(HOME=os.path.join(self.base_dir, 'home'),
                   XDG_RUNTIME_DIR=os.path.join(self.root, 'run'),
                   XDG_CONFIG_HOME=os.path.join(self.root, 'config'),
                   XDG_CACHE_HOME=os.path.join(self.root, 'cache'),
                   XDG_DATA_HOME=os.path.join(self.base_dir, 'data'))
        if self.uid is not None:
            env.update(USER=DAEMON_USER, LOGNAME=DAEMON_USER)
        return env

    def _write_config(self):
        for sub in ('run', 'config/libvirt', 'cache', 'home', 'data',
                    'pmem'):
            os.makedirs(os.path.join(self.base_dir, sub), exist_ok=True)
        os.chmod(os.path.join(self.base_dir, 'run'), 0o700)
        with open(os.path.join(self.base_dir, 'config', 'libvirt',
                               'libvirtd.conf'), 'w') as f:
            f.write('host_uuid = "%s"\n' % self.host_uuid)
            f.write('log_outputs = "3:file:%s"\n' % self.log_path)
        with open(os.path.join(self.base_dir, 'config', 'libvirt',
                               'qemu.conf'), 'w') as f:
            # "file": no virtlogd is spawned, one process less to stop.
            f.write('stdio_handler = "file"\n')
            f.write('migration_port_min = %d\n' % self.migration_ports[0])
            f.write('migration_port_max = %d\n' % self.migration_ports[1])

    # The cache only saves time: a copy that fails is not an error.
    def _seed_caps(self, caps_cache):
        if caps_cache and os.path.isdir(caps_cache):
            try:
                shutil.copytree(caps_cache,
                                os.path.join(self.base_dir, _CAPS_SUBDIR),
                                dirs_exist_ok=True)
            except (OSError, shutil.Error):
                pass

    def _save_caps(self, caps_cache):
        source = os.path.join(self.base_dir, _CAPS_SUBDIR)
        if caps_cache and os.path.isdir(source) and os.listdir(source):
            try:
                shutil.copytree(source, caps_cache, dirs_exist_ok=True)
            except (OSError, shutil.Error):
                pass

    def _daemon_command(self):
        """argv and extra Popen arguments that start the daemon."""
        if self.uid is None:
            return [_libvirtd_path()], {}
        return [_libvirtd_path()], dict(user=self.uid, group=self.gid,
                                        extra_groups=[])

    def start(self, caps_cache=None, timeout=START_TIMEOUT):
        """Start the daemon; returns once its socket answers."""
        import libvirt
        self._write_config()
        self._link_root()
        self._seed_caps(caps_cache)
        if self.uid is not None:
            _chown_tree(self.base_dir, self.uid, self.gid)
            _make_traversable(self.base_dir)
        out = open(os.path.join(self.base_dir, 'libvirtd.out'), 'ab')
        argv, kwargs = self._daemon_command()
        try:
            self._process = subprocess.Popen(
                argv, env=self._env(), cwd=self.base_dir,
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        finally:
            out.close()
        self.pid = self._process.pid
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError('libvirtd of %s exited with %s; see %s' % (
                    self.name, self._process.returncode, self.log_path))
            if os.path.exists(self.socket):
                try:
                    conn = libvirt.open(self.uri)
                    break
                except libvirt.libvirtError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError('libvirtd of %s did not answer at %s '
                                   'within %d s' % (self.name, self.uri,
                                                    timeout))
            time.sleep(0.1)
        try:
            caps = ET.fromstring(conn.getCapabilities())
        finally:
            conn.close()
        reported = caps.findtext('./host/uuid')
        if reported != self.host_uuid:
            self.stop()
            raise RuntimeError('libvirtd of %s reports host UUID %s, not %s'
                               % (self.name, reported, self.host_uuid))
        self._save_caps(caps_cache)
        return self

    def qemu_pids(self):
        """PIDs of the QEMU processes this host's daemon started."""
        run = os.path.join(self.base_dir, 'run', 'libvirt', 'qemu', 'run')
        pids = []
        for name in sorted(os.listdir(run)) if os.path.isdir(run) else ():
            if not name.endswith('.pid'):
                continue
            try:
                with open(os.path.join(run, name)) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if pid > 1:  # 0 or 1 would signal a group or init
                pids.append(pid)
        return pids

    def _destroy_domains(self):
        import libvirt
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError:
            return
        try:
            for domain in conn.listAllDomains():
                try:
                    if domain.isActive():
                        domain.destroy()
                    if domain.isPersistent():
                        domain.undefine()
                except libvirt.libvirtError:
                    pass
        finally:
            conn.close()

    def stop(self):
        """Stop the daemon and its guests, by PID. Idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            self._destroy_domains()
        leftovers = self.qemu_pids()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in leftovers:
            if _is_qemu(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.root != self.base_dir and os.path.islink(self.root):
            os.unlink(self.root)

    def grant(self, path):
        """Give ``path`` (a file the daemon's QEMU must open) to its user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.gid)
            _make_traversable(path)


def start_hosts(base_dir, names, user=DAEMON_USER,
                first_port=FIRST_MIGRATION_PORT, caps_cache=None,
                host_class=None, host_fields=None, reap=True):
    """Start one LocalHost per name under ``base_dir``/<name>.

    As root the daemons run as ``user`` (created if needed); otherwise as
    this process's user. Host i gets migration ports ``first_port +
    16 i`` onwards. ``caps_cache`` (a directory) keeps QEMU's capability
    cache between runs; by default the first host's is copied to the
    others. ``host_class`` (a LocalHost subclass) and ``host_fields``
    (``{name: {field: value}}``) let callers start hosts of their own
    kind. ``reap``: adopt and reap the QEMU processes here (see
    adopt_qemu_processes; the benchmark measures without it too).
    Already started hosts are stopped if a later one fails.
    """
    uid = gid = None
    if os.geteuid() == 0:
        uid, gid = _ensure_user(user)
    if reap:
        # Before any daemon starts: QEMU is adopted when it is daemonized.
        adopt_qemu_processes()
    os.makedirs(base_dir, exist_ok=True)
    caps = caps_cache or os.path.join(base_dir, '.qemu-capabilities')
    host_class = host_class or LocalHost
    hosts = []
    try:
        for index, name in enumerate(names):
            first = first_port + PORTS_PER_HOST * index
            host = host_class(name=name,
                              base_dir=os.path.join(base_dir, name),
                              host_uuid=str(uuid.uuid4()),
                              migration_ports=(first,
                                               first + PORTS_PER_HOST - 1),
                              uid=uid, gid=gid,
                              **(host_fields or {}).get(name, {}))
            hosts.append(host)
            host.start(caps_cache=caps)
    except Exception:
        stop_hosts(hosts)
        raise
    return hosts


def stop_hosts(hosts):
    """Stop every host, each by its own PIDs; errors do not stop the rest."""
    errors = []
    for host in hosts:
        try:
            host.stop()
        except Exception as exc:  # noqa: BLE001 - keep stopping the others
            errors.append('%s: %s' % (host.name, exc))
    if errors:
        raise RuntimeError('stopping local hosts: %s' % '; '.join(errors))


def build_guest(out_dir):
    """Build the stamp guest; its kernel path (image property 'kernel').

    The kernel is left readable, and its directories passable, by the
    daemon user: QEMU reads it when the guest starts.
    """
    kernel = devguest.build(out_dir)
    _make_traversable(kernel)
    return kernel


def verify_pattern(paths):
    """Check the stamp guest's namespace files (in device order).

    Returns a devguest.PatternReport (``ok``, ``problems``, ``str()``).
    Stop the guest first (:func:`stop_guest_writes`).
    """
    return devguest.verify(paths)


def stop_guest_writes(first_namespace_path, timeout=30):
    """Make the stamp guest stop between two pages; its final Control."""
    devguest.request_stop(first_namespace_path)
    return devguest.wait_halted(first_namespace_path, timeout)


def resume_guest_writes(first_namespace_path, timeout=30):
    """Let a stopped stamp guest write again; its Control."""
    return devguest.request_resume(first_namespace_path, timeout)
