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

"""Libvirt hosts inside the multinode tier's network namespaces.

A :class:`NamespaceHost` is a :class:`~nova.virt.libvirt.local_hosts.
LocalHost` (session-mode libvirtd as the unprivileged daemon user, its
own directory, host UUID and migration ports) started inside a compute's
namespace (:mod:`nova.tests.multinode.network`), so its QEMU processes
live there too and a migration's data stream crosses the veth link.

Two ways in, both verified on Debian 12 (libvirt 9.0):

* TCP: the daemon runs with ``--listen`` and listens, unencrypted and
  without authentication, on its namespace's address only
  (``qemu+tcp://10.77.0.1N:16509/session``). Session mode accepts it;
  the path must be ``/session`` (``/system`` is refused with "unexpected
  qemu URI path '/system', try qemu:///session").
* UNIX: its socket in ``base_dir`` (:attr:`LocalHost.uri`), which works
  from any namespace of the machine: sockets in the filesystem are not
  isolated by network namespaces.

``python -m nova.tests.multinode.libvirt_hosts check --base-dir DIR``
proves it end to end with bare libvirt-python (see :func:`check`).
"""

import argparse
import dataclasses
import os
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET

from nova.tests.multinode import network
from nova.virt.libvirt import devguest
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import local_hosts

LIBVIRTD_TCP_PORT = 16509
GUEST_MEMORY_MB = 32
NVDIMM_MIB = 32
MAX_NVDIMM_MIB = 64
MIGRATION_TIMEOUT = 120
# The stamp guest's pace: fast enough to stamp every NVDIMM page before
# the first migration, so the stream carries the whole device.
GUEST_PAGES_PER_SECOND = 4000


@dataclasses.dataclass
class NamespaceHost(local_hosts.LocalHost):
    """A LocalHost whose daemon (and so its QEMU) runs in the namespace
    of ``link`` (a network.ComputeLink)."""

    link: network.ComputeLink = None
    # None: no TCP listener, peers use the UNIX socket (``uri``).
    tcp_port: int = LIBVIRTD_TCP_PORT

    @property
    def netns(self):
        return self.link.namespace

    @property
    def address(self):
        return self.link.address

    @property
    def tcp_uri(self):
        if self.tcp_port is None:
            return None
        return 'qemu+tcp://%s:%d/session' % (self.address, self.tcp_port)

    @property
    def peer_uri(self):
        """The URI another host's libvirtd uses to reach this one."""
        return self.tcp_uri or self.uri

    @property
    def migrate_uri(self):
        """Where QEMU's migration stream into this host goes."""
        return 'tcp://%s' % self.address

    def conf_overrides(self, tcp_control=False):
        """``{(group, option): value}`` for a nova-compute in ``netns``.

        ``tcp_control`` points ``connection_uri`` at the daemon's TCP
        listener (peers then get a ``/session`` URI from
        own_libvirt_uri); otherwise the compute uses the UNIX socket.
        """
        overrides = super().conf_overrides()
        overrides[('libvirt', 'live_migration_inbound_addr')] = self.address
        overrides[('compute', 'migration_data_address')] = self.address
        if tcp_control and self.tcp_uri:
            overrides[('libvirt', 'connection_uri')] = self.tcp_uri
            overrides[('libvirt', 'live_migration_scheme')] = 'tcp'
        return overrides

    def _write_config(self):
        super()._write_config()
        config = os.path.join(self.base_dir, 'config', 'libvirt')
        if self.tcp_port is not None:
            with open(os.path.join(config, 'libvirtd.conf'), 'a') as f:
                f.write('listen_tls = 0\n')
                f.write('listen_tcp = 1\n')
                # Test network only: no SASL, no TLS.
                f.write('auth_tcp = "none"\n')
                f.write('listen_addr = "%s"\n' % self.address)
                f.write('tcp_port = "%d"\n' % self.tcp_port)
        with open(os.path.join(config, 'qemu.conf'), 'a') as f:
            # The defaults of a migration that names no URI: the
            # namespace's address (libvirt refuses only loopback here).
            f.write('migration_address = "%s"\n' % self.address)
            f.write('migration_host = "%s"\n' % self.address)

    def _daemon_command(self):
        """argv (and no extra Popen arguments) starting the daemon in
        ``netns`` as the daemon user: the user changes after entering."""
        argv = [local_hosts._libvirtd_path()]
        if self.tcp_port is not None:
            argv.append('--listen')
        return network.exec_argv(self.netns, argv,
                                 user=(self.uid, self.gid)), {}

    def start(self, caps_cache=None, timeout=local_hosts.START_TIMEOUT):
        """Start the daemon in ``netns``; returns once its socket answers."""
        if self.uid is None:
            raise RuntimeError('%s: a daemon in a network namespace needs '
                               'root to start' % self.name)
        return super().start(caps_cache=caps_cache, timeout=timeout)


def start_namespace_hosts(base_dir, computes, tcp=True,
                          user=local_hosts.DAEMON_USER, caps_cache=None):
    """Start one NamespaceHost per ``{name: network.ComputeLink}``.

    Needs root. Host i gets local_hosts' i-th migration port range (the
    namespaces would allow one range for all; distinct ones keep a
    host's ports recognisable). Started hosts are stopped if a later one
    fails.
    """
    if os.geteuid() != 0:
        raise RuntimeError('daemons in network namespaces need root')
    return local_hosts.start_hosts(
        base_dir, list(computes), user=user, caps_cache=caps_cache,
        host_class=NamespaceHost,
        host_fields={name: {'link': link,
                            'tcp_port': LIBVIRTD_TCP_PORT if tcp else None}
                     for name, link in computes.items()})


def qemu_pids(host):
    """PIDs of the host's running QEMU processes.

    LocalHost.qemu_pids lists every pid file of the driver's directory,
    the driver's own lock file (libvirtd's PID) among them.
    """
    return [pid for pid in host.qemu_pids() if local_hosts._is_qemu(pid)]


def same_namespace(pid, namespace):
    """Whether process ``pid`` runs in the named network namespace."""
    mine = os.stat('/proc/%d/ns/net' % pid)
    named = os.stat(os.path.join('/run/netns', namespace))
    return (mine.st_dev, mine.st_ino) == (named.st_dev, named.st_ino)


# -- the end-to-end check ----------------------------------------------------

class _Steps:
    """Prints one line per step: time since the start and its own."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self.start = time.monotonic()

    def run(self, title, func, *args, **kwargs):
        """Run a step: ``func`` returns ``(result, one-line detail)``."""
        began = time.monotonic()
        result, detail = func(*args, **kwargs)
        self.out.write('[%7.2fs] %-34s %6.2fs  %s\n' % (
            time.monotonic() - self.start, title, time.monotonic() - began,
            detail))
        self.out.flush()
        return result


def _nvdimm_file(host, name, size):
    path = os.path.join(host.namespace_dir, name)
    os.makedirs(host.namespace_dir, exist_ok=True)
    with open(path, 'wb') as f:
        f.truncate(size)
    host.grant(path)
    return path


def _with_nvdimm_path(xml, path):
    root = ET.fromstring(xml)
    for memory in root.findall('./devices/memory'):
        if memory.get('model') == 'nvdimm':
            memory.find('./source/path').text = path
    return ET.tostring(root, encoding='unicode')


class _StreamWatch(threading.Thread):
    """Samples the destination namespace's TCP connections (``ss``) while
    a migration runs: the data stream shows as address:port pairs."""

    def __init__(self, host):
        super().__init__(daemon=True)
        self.host = host
        self.seen = set()
        self.done = threading.Event()

    def run(self):
        low, high = self.host.migration_ports
        argv = network.exec_argv(self.host.netns, ['ss', '-Htna'])
        while not self.done.is_set():
            out = subprocess.run(argv, capture_output=True,
                                 text=True).stdout
            for line in out.splitlines():
                fields = line.split()
                if len(fields) < 5:
                    continue
                local, peer = fields[3], fields[4]
                port = int(local.rsplit(':', 1)[1])
                if low <= port <= high:
                    self.seen.add('%s<-%s' % (local, peer))
            self.done.wait(0.2)


def _migrate(libvirt, source, dest, domain_uuid, dest_path):
    """Live-migrate the guest from ``source`` to ``dest``; a summary."""
    conn = libvirt.open(source.peer_uri)
    try:
        domain = conn.lookupByUUIDString(domain_uuid)
        xml = _with_nvdimm_path(
            domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE), dest_path)
        params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml,
                  libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: xml,
                  libvirt.VIR_MIGRATE_PARAM_URI: dest.migrate_uri,
                  libvirt.VIR_MIGRATE_PARAM_LISTEN_ADDRESS: dest.address}
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
                 libvirt.VIR_MIGRATE_PERSIST_DEST |
                 libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        out_port = source.link.bridge_port
        in_port = dest.link.bridge_port
        # Seen from the bridge: the source's port receives what the
        # source sends, the destination's port transmits it onwards.
        sent_before = network.byte_counters(out_port)[0]
        passed_before = network.byte_counters(in_port)[1]
        watch = _StreamWatch(dest)
        watch.start()
        try:
            domain.migrateToURI3(dest.peer_uri, params, flags)
        finally:
            watch.done.set()
            watch.join()
        sent = network.byte_counters(out_port)[0] - sent_before
        passed = network.byte_counters(in_port)[1] - passed_before
    finally:
        conn.close()
    dest_conn = libvirt.open(dest.peer_uri)
    try:
        moved = dest_conn.lookupByUUIDString(domain_uuid)
        stats = moved.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        running = moved.isActive() and moved.isPersistent()
    finally:
        dest_conn.close()
    qemu = qemu_pids(dest)
    if not running or not qemu or not same_namespace(qemu[0], dest.netns):
        raise RuntimeError('after the migration to %s: running and '
                           'persistent %s, QEMU %s not in %s' % (
                               dest.name, running, qemu, dest.netns))
    if qemu_pids(source):
        raise RuntimeError('QEMU of %s still runs: %s' % (
            source.name, qemu_pids(source)))
    transferred = stats.get('memory_normal_bytes', 0)
    if sent < transferred or passed < transferred:
        raise RuntimeError(
            'the veth link carried %d/%d bytes, QEMU sent %d: the stream '
            'did not cross it' % (sent, passed, transferred))
    return None, ('%s -> %s: %.1f MiB over %s (%s rx) / %s (%s tx), QEMU '
                  'sent %.1f MiB of pages (%d ms downtime), QEMU %d in %s; '
                  'stream %s' % (
                      source.netns, dest.netns, sent / 2 ** 20, out_port,
                      sent, in_port, passed, transferred / 2 ** 20,
                      stats.get('downtime', -1), qemu[0], dest.netns,
                      ' '.join(sorted(watch.seen)) or 'not sampled'))


def _verify_at_rest(path, resume=True):
    local_hosts.stop_guest_writes(path)
    report = local_hosts.verify_pattern([path])
    if not report.ok:
        raise RuntimeError('pattern check of %s: %s' % (path, report))
    if resume:
        local_hosts.resume_guest_writes(path)
    return None, str(report)


def _start_hosts(hosts, base_dir, links, tcp):
    # Into ``hosts`` as they start: the teardown stops what did start.
    hosts.extend(start_namespace_hosts(
        base_dir, {'compute%d' % link.index: link for link in links},
        tcp=tcp))
    return None, ', '.join('%s pid %d' % (h.name, h.pid) for h in hosts)


def _check_control(libvirt, hosts):
    lines = []
    for host in hosts:
        conn = libvirt.open(host.peer_uri)
        try:
            reported = ET.fromstring(conn.getCapabilities()).findtext(
                './host/uuid')
        finally:
            conn.close()
        if reported != host.host_uuid:
            raise RuntimeError('%s answers as host %s, not %s' % (
                host.peer_uri, reported, host.host_uuid))
        if not same_namespace(host.pid, host.netns):
            raise RuntimeError('libvirtd %d is not in %s' % (host.pid,
                                                             host.netns))
        lines.append('%s libvirtd %d in %s' % (host.peer_uri, host.pid,
                                              host.netns))
    return None, '; '.join(lines)


def _boot(libvirt, host, kernel, path, size):
    spec = domain_xml.GuestSpec(
        name='nmn-guest', uuid=str(uuid.uuid4()),
        memory_mb=GUEST_MEMORY_MB, vcpus=1, virt_type='qemu',
        nvdimms=(domain_xml.NvdimmSpec(path=path, size=size,
                                       align=2 * 2 ** 20, devdax=False),),
        kernel=kernel,
        cmdline=devguest.command_line(GUEST_PAGES_PER_SECOND))
    conn = libvirt.open(host.peer_uri)
    try:
        domain = conn.defineXML(domain_xml.guest_xml(spec))
        domain.create()
    finally:
        conn.close()
    deadline = time.monotonic() + 60
    while True:
        # Pass 2 begins once pass 1 stamped every page.
        control = devguest.read_control(path)
        if control is not None and control.pass_number >= 2:
            break
        if time.monotonic() > deadline:
            raise RuntimeError('the stamp guest did not stamp all of %s in '
                               '60 s: %s' % (path, control))
        time.sleep(0.1)
    qemu = qemu_pids(host)
    if not qemu or not same_namespace(qemu[0], host.netns):
        raise RuntimeError('QEMU %s of %s is not in %s' % (qemu, host.name,
                                                           host.netns))
    return spec.uuid, 'guest %s, QEMU %d in %s, %d pages written' % (
        spec.uuid, qemu[0], host.netns, control.written)


def _teardown(hosts, base_dir, keep):
    errors = []
    try:
        local_hosts.stop_hosts(hosts)
    except RuntimeError as exc:
        errors.append(str(exc))
    removed = network.teardown()
    left = network.leftovers()
    if left:
        errors.append('left behind: %s' % ' '.join(left))
    if not keep:
        subprocess.run(['rm', '-rf', '--one-file-system', base_dir],
                       check=False)
    if errors:
        raise RuntimeError('; '.join(errors))
    return None, 'removed %s' % ', '.join(
        '%s %s' % (kind, ' '.join(map(str, names)) or '-')
        for kind, names in removed.items())


def _cleanup(base_dir=None):
    """Level-triggered: whatever of ours exists goes (no host objects)."""
    removed = network.teardown()
    if base_dir:
        for name in sorted(os.listdir(os.path.join(base_dir, 'hosts'))
                           if os.path.isdir(os.path.join(base_dir, 'hosts'))
                           else ()):
            # A deep base_dir's hosts have a link in the temporary
            # directory (LocalHost.root).
            host = local_hosts.LocalHost(
                name, os.path.join(base_dir, 'hosts', name), '', (0, 0))
            if host.root != host.base_dir and os.path.islink(host.root):
                os.unlink(host.root)
        subprocess.run(['rm', '-rf', '--one-file-system', base_dir],
                       check=False)
    left = network.leftovers()
    if left:
        raise RuntimeError('left behind: %s' % ' '.join(left))
    return None, 'removed %s' % ', '.join(
        '%s %s' % (kind, ' '.join(map(str, names)) or '-')
        for kind, names in removed.items())


def check(base_dir, nvdimm_mib=NVDIMM_MIB, tcp=True, keep=False,
          out=sys.stdout):
    """Two hosts in nmn-c1/nmn-c2, a guest live-migrated c1 -> c2 -> c1.

    Each hop is peer to peer, pre-copy, with the data stream on the
    destination namespace's address; it must show on the veth byte
    counters and the guest's NVDIMM pattern must hold after it. Sets up
    and tears down everything (also on failure); raises on any failure.
    """
    if not 2 <= nvdimm_mib <= MAX_NVDIMM_MIB:
        raise ValueError('nvdimm_mib must be in 2..%d' % MAX_NVDIMM_MIB)
    missing = network.missing_requirements() + \
        local_hosts.missing_requirements()
    if missing:
        raise RuntimeError('missing: %s' % ', '.join(missing))
    import libvirt
    steps = _Steps(out)
    base_dir = os.path.abspath(base_dir)
    size = nvdimm_mib * 2 ** 20
    hosts = []
    try:
        links = steps.run('network nmn-br0, nmn-c1, nmn-c2', lambda: (
            network.setup(2), network.netfilter_note() or
            'no bridge netfilter'))
        kernel = steps.run('build the stamp guest', lambda: (
            local_hosts.build_guest(os.path.join(base_dir, 'guest')),
            'kernel in %s' % base_dir))
        steps.run('start libvirtd in each namespace', _start_hosts, hosts,
                  os.path.join(base_dir, 'hosts'), links, tcp)
        first, second = hosts
        steps.run('control connections', _check_control, libvirt, hosts)
        paths = [_nvdimm_file(host, 'nmn-guest.img', size)
                 for host in hosts]
        domain_uuid = steps.run('boot on %s' % first.netns, _boot, libvirt,
                                first, kernel, paths[0], size)
        for source, dest, path in ((first, second, paths[1]),
                                   (second, first, paths[0])):
            steps.run('migrate %s -> %s' % (source.netns, dest.netns),
                      _migrate, libvirt, source, dest, domain_uuid, path)
            steps.run('verify pattern on %s' % dest.netns, _verify_at_rest,
                      path, resume=dest is second)
    finally:
        steps.run('teardown', _teardown, hosts, base_dir, keep)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m nova.tests.multinode.libvirt_hosts',
        description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    run = commands.add_parser('check', help=check.__doc__.split('\n')[0])
    run.add_argument('--base-dir', required=True,
                     help='scratch directory (removed at the end)')
    run.add_argument('--nvdimm-mib', type=int, default=NVDIMM_MIB)
    run.add_argument('--unix-control', action='store_true',
                     help='reach the daemons by UNIX socket, not TCP')
    run.add_argument('--keep', action='store_true',
                     help='keep --base-dir (logs) after the run')
    clean = commands.add_parser(
        'teardown', help='remove what a run left (after a crash too)')
    clean.add_argument('--base-dir', help='also remove this directory')
    args = parser.parse_args(argv)
    try:
        if args.command == 'check':
            check(args.base_dir, args.nvdimm_mib, tcp=not args.unix_control,
                  keep=args.keep)
        else:
            _Steps().run('teardown', _cleanup, args.base_dir)
    except Exception as exc:  # noqa: BLE001 - one line, then exit 1
        print('FAILED: %s' % exc, file=sys.stderr)
        return 1
    print('OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
