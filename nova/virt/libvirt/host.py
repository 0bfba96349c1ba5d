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

"""One hypervisor host as the libvirt driver sees it.

:class:`Host` picks the libvirt module for its URI: ``emulated://`` URIs
get the emulated libvirt shipped in :mod:`nova.virt.libvirt.emulator`,
anything else libvirt-python, imported only then so hosts that never talk
to a real libvirtd need not install it. Code above this module gets
constants and ``libvirtError`` from ``host.libvirt``, so the same driver
code runs on both.
"""

import grp
import os
import pwd
import stat
import threading
import urllib.parse
import xml.etree.ElementTree as ET

from oslo_log import log as logging

from nova import exception
from nova.virt.libvirt import emulator
from nova.virt.libvirt import guest as libvirt_guest

LOG = logging.getLogger(__name__)

# What an empty [libvirt]connection_uri means.
DEFAULT_URI = 'qemu:///system'
EMULATED_URI_PREFIX = emulator.EMULATED_URI_SCHEME + '://'


# Post-copy needs userfaultfd in QEMU on both hosts. With this switch at 0
# (Debian's default) only a process holding CAP_SYS_PTRACE may handle the
# kernel-mode faults QEMU's post-copy relies on; QEMU under libvirt runs
# unprivileged, and its migrate-set-capabilities then answers "Postcopy
# is not supported".
UNPRIVILEGED_USERFAULTFD = '/proc/sys/vm/unprivileged_userfaultfd'
# Linux >= 6.1: the same file descriptors through a device whose own
# permissions decide; QEMU opens it from 8.1 on.
DEV_USERFAULTFD = '/dev/userfaultfd'
QEMU_DEV_USERFAULTFD_VERSION = 8001000


def is_emulated_uri(uri):
    return uri.startswith(EMULATED_URI_PREFIX)


def session_daemon_uid(uri):
    """The user of a qemu:///session daemon of this machine (its QEMU's
    user), or None for any other URI.

    The daemon at ``?socket=`` owns that socket; without one it is the
    session daemon of this process's user.
    """
    parts = urllib.parse.urlsplit(uri or '')
    if parts.netloc or parts.path != '/session':
        return None
    socket = urllib.parse.parse_qs(parts.query).get('socket', [None])[-1]
    if not socket:
        return os.geteuid()
    try:
        return os.stat(socket).st_uid
    except OSError:
        return None


def _version_text(version):
    return '%d.%d.%d' % (version // 1000000, version // 1000 % 1000,
                         version % 1000)


def userfaultfd_capability(unprivileged, dev_usable, qemu_version):
    """``(can post-copy, reason)`` from one host's facts.

    ``unprivileged``: vm.unprivileged_userfaultfd as an int, None when the
    kernel has no such switch (before Linux 5.2, not restricted).
    ``dev_usable``: /dev/userfaultfd exists and QEMU's user may open it
    read-write. ``qemu_version``: as ``Host.get_version`` (None unknown).
    A QEMU given CAP_SYS_PTRACE is not detected (libvirt drops QEMU's
    capabilities unless told otherwise); such a host reads as unable.
    """
    if unprivileged is None:
        return True, ('the kernel has no vm.unprivileged_userfaultfd '
                      'switch: userfaultfd is not restricted')
    if unprivileged >= 1:
        return True, 'vm.unprivileged_userfaultfd = 1'
    if dev_usable and qemu_version and (
            qemu_version >= QEMU_DEV_USERFAULTFD_VERSION):
        return True, ('QEMU %s may open %s' % (_version_text(qemu_version),
                                               DEV_USERFAULTFD))
    if dev_usable:
        qemu = ('QEMU %s predates 8.1' % _version_text(qemu_version)
                if qemu_version else 'QEMU\'s version is unknown')
        return False, ('vm.unprivileged_userfaultfd = 0, and %s, the first '
                       'to use %s' % (qemu, DEV_USERFAULTFD))
    return False, ('vm.unprivileged_userfaultfd = 0, and %s is missing or '
                   'not open to QEMU\'s user' % DEV_USERFAULTFD)


def read_unprivileged_userfaultfd(path=None):
    """The switch's value; None when the kernel has none.

    Raises OSError or ValueError when it exists but cannot be read.
    """
    path = path or UNPRIVILEGED_USERFAULTFD
    try:
        with open(path) as switch:
            return int(switch.read().strip())
    except FileNotFoundError:
        return None


def may_read_write(mode, owner, group, uid, gids):
    """Whether user ``uid`` (groups ``gids``) may open a file of ``mode``
    owned by ``owner``:``group`` read-write (ACLs are not read)."""
    if owner == uid:
        bits = stat.S_IRUSR | stat.S_IWUSR
    elif group in gids:
        bits = stat.S_IRGRP | stat.S_IWGRP
    else:
        bits = stat.S_IROTH | stat.S_IWOTH
    return mode & bits == bits


def _user_gids(uid):
    try:
        user = pwd.getpwuid(uid)
    except KeyError:
        return set()
    return {user.pw_gid} | {g.gr_gid for g in grp.getgrall()
                            if user.pw_name in g.gr_mem}


def dev_userfaultfd_usable(qemu_uid, path=None):
    """Whether QEMU's user may open /dev/userfaultfd read-write.

    ``qemu_uid`` None: QEMU's user is libvirt's to choose (system mode),
    and only a device open to every user is known to be open to it.
    """
    path = path or DEV_USERFAULTFD
    try:
        info = os.stat(path)
    except OSError:
        return False
    if qemu_uid is None:
        return may_read_write(info.st_mode, info.st_uid, info.st_gid, -1,
                              set())
    return may_read_write(info.st_mode, info.st_uid, info.st_gid, qemu_uid,
                          _user_gids(qemu_uid))


def import_libvirt_module(uri):
    """The libvirt module serving ``uri``.

    Raises LibvirtPythonNotInstalled, with the commands that install it,
    when a real host is asked for and libvirt-python is missing.
    """
    if is_emulated_uri(uri):
        return emulator
    try:
        import libvirt
    except ImportError as exc:
        raise exception.LibvirtPythonNotInstalled(uri=uri, error=exc)
    _quiet_default_error_output(libvirt)
    return libvirt


def _ignore_libvirt_error(_context, _error):
    pass


def _quiet_default_error_output(libvirt):
    """Stop libvirt-python printing every error to stderr.

    Each error is also raised as libvirtError, which the driver handles
    or logs; the print made expected ones (a domain looked up after it
    left) look like failures in the service's output.
    """
    register = getattr(libvirt, 'registerErrorHandler', None)
    if register is not None:
        register(_ignore_libvirt_error, None)


def _uuid_of(instance_or_uuid):
    if isinstance(instance_or_uuid, str):
        return instance_or_uuid
    return instance_or_uuid.uuid


class Host:
    """A libvirt connection, opened on first use and reopened if lost."""

    def __init__(self, uri, hostname=None):
        self.uri = uri or DEFAULT_URI
        # [libvirt]hypervisor_hostname: daemons sharing a machine all
        # report its host name, but each must be a node of its own.
        self._hostname = hostname or None
        self._libvirt = None
        self._conn = None
        # Compute threads share one connection; opening it twice would
        # leak the loser.
        self._conn_lock = threading.Lock()

    def __repr__(self):
        return '<libvirt Host %s>' % self.uri

    @property
    def libvirt(self):
        """The libvirt module of this host (constants, libvirtError).

        Imported on first use, so building a driver never fails; a missing
        libvirt-python surfaces at init_host, which connects.
        """
        if self._libvirt is None:
            self._libvirt = import_libvirt_module(self.uri)
        return self._libvirt

    # -- the connection ------------------------------------------------------

    def get_connection(self):
        """The open connection; reconnects when it was closed or died."""
        with self._conn_lock:
            conn = self._conn
            if conn is not None and self._is_alive(conn):
                return conn
            if conn is not None:
                LOG.warning('Connection to %s was lost; reconnecting.',
                            self.uri)
                self._close_quietly(conn)
            self._conn = self._open()
            return self._conn

    def _open(self):
        libvirt = self.libvirt
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            raise exception.HypervisorUnavailable(uri=self.uri, reason=exc)
        LOG.info('Connected to libvirt at %s', self.uri)
        return conn

    def _is_alive(self, conn):
        try:
            return bool(conn.isAlive())
        except self.libvirt.libvirtError:
            return False

    def _close_quietly(self, conn):
        try:
            conn.close()
        except self.libvirt.libvirtError as exc:
            # A dead connection often fails to close; it is dropped anyway.
            LOG.debug('Closing the connection to %s failed: %s',
                      self.uri, exc)

    def close(self):
        """Close the connection (the next call reopens it)."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            self._close_quietly(conn)

    # -- host facts ----------------------------------------------------------

    def get_hostname(self):
        """This host's compute node name: the configured one, else the
        host name the hypervisor reports."""
        if self._hostname:
            return self._hostname
        return self.get_connection().getHostname()

    def get_type(self):
        """The hypervisor type ('QEMU' for KVM and TCG guests alike)."""
        return self.get_connection().getType()

    def get_version(self):
        """Hypervisor (QEMU) version as an int: major * 1e6 + minor * 1e3."""
        return self.get_connection().getVersion()

    def get_lib_version(self):
        """libvirt's version, encoded as get_version's."""
        return self.get_connection().getLibVersion()

    def post_copy_capability(self):
        """``(can post-copy, reason)``: can QEMU here use userfaultfd.

        Read at every call, so an operator's sysctl change counts without
        a restart. The files read are this machine's, where the compute
        service and its libvirtd run. An emulated host answers with its
        ``userfaultfd`` setting.
        """
        if is_emulated_uri(self.uri):
            self.get_connection()  # registers the emulated host
            name, _state_dir = self.libvirt.parse_uri(self.uri)
            if self.libvirt.find_host(name).userfaultfd:
                return True, 'the emulated host can use userfaultfd'
            return False, ('the emulated host cannot use userfaultfd '
                           '(as vm.unprivileged_userfaultfd = 0)')
        try:
            unprivileged = read_unprivileged_userfaultfd()
        except (OSError, ValueError) as exc:
            return False, 'cannot read %s: %s' % (UNPRIVILEGED_USERFAULTFD,
                                                  exc)
        if unprivileged is not None and unprivileged < 1:
            dev_usable = dev_userfaultfd_usable(
                session_daemon_uid(self.uri))
            qemu_version = self._qemu_version_or_none() if dev_usable \
                else None
        else:
            dev_usable, qemu_version = False, None
        return userfaultfd_capability(unprivileged, dev_usable, qemu_version)

    def _qemu_version_or_none(self):
        try:
            return self.get_version()
        except (self.libvirt.libvirtError, exception.HypervisorUnavailable):
            return None

    def get_capabilities(self):
        """The capabilities XML, parsed (an ElementTree element)."""
        return ET.fromstring(self.get_connection().getCapabilities())

    def _info(self):
        # [arch, memory MiB, cpus, MHz, nodes, sockets, cores, threads]
        return self.get_connection().getInfo()

    def get_cpu_count(self):
        return self._info()[2]

    def get_memory_mb_total(self):
        return self._info()[1]

    # -- guests --------------------------------------------------------------

    def _wrap(self, domain):
        return libvirt_guest.Guest(domain, self.libvirt)

    def get_guest(self, instance):
        """The Guest of ``instance`` (or of a uuid string).

        Raises InstanceNotFound when the hypervisor has no such domain;
        other libvirt errors propagate.
        """
        instance_uuid = _uuid_of(instance)
        try:
            domain = self.get_connection().lookupByUUIDString(instance_uuid)
        except self.libvirt.libvirtError as exc:
            if exc.get_error_code() == self.libvirt.VIR_ERR_NO_DOMAIN:
                raise exception.InstanceNotFound(instance_id=instance_uuid)
            raise
        return self._wrap(domain)

    def write_instance_config(self, xml):
        """Define (or redefine) a persistent domain; returns its Guest."""
        return self._wrap(self.get_connection().defineXML(xml))

    def list_guests(self, only_running=False):
        """Guests of this host, running ones only if asked."""
        flags = 0
        if only_running:
            flags = self.libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE
        return [self._wrap(domain)
                for domain in self.get_connection().listAllDomains(flags)]


def _module_name(module):
    # For log lines: which libvirt a Host ended up with.
    return getattr(module, '__name__', repr(module))


def describe(host):
    """One line naming the host's URI and libvirt module, for logs."""
    return '%s via %s' % (host.uri, _module_name(host.libvirt))
