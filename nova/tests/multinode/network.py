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

"""The multinode tier's network: one bridge, one namespace per compute.

The root namespace holds the bridge ``nmn-br0`` (10.77.0.1/24), where the
shared services listen. Compute N gets the network namespace ``nmn-cN``
joined to the bridge by a veth pair: ``nmn-vN`` on the bridge, ``eth0``
inside with 10.77.0.(10+N)/24 (10.77.0.11, 10.77.0.12, ...) and ``lo``
up. A process started with :func:`exec_argv` in ``nmn-cN`` reaches the
services and the other computes only across that link.

Every object carries the prefix ``nmn-``, so :func:`teardown` can find
what a previous run left (after a crash too) and remove exactly that:
it looks at what exists instead of remembering what it made. It matches
the names this module makes (``nmn-br0``, ``nmn-vN``, ``nmn-cN``), not
the whole prefix: other ``nmn-`` objects (a helper's dummy interface)
are not its to remove.

Kernel settings: none are needed. All addresses share one layer-2
segment, so nothing is routed (``net.ipv4.ip_forward`` may stay 0):
compute to compute is bridged, compute to 10.77.0.1 is delivered
locally. The namespaces get no default route on purpose: an address
outside 10.77.0.0/24 (the root namespace's 127.0.0.1 or its own
address) fails at once with "Network is unreachable" instead of
working by accident. One caveat: with ``br_netfilter`` loaded and
``net.bridge.bridge-nf-call-iptables = 1``, frames between two computes
pass the root namespace's iptables FORWARD chain; a host whose FORWARD
policy is DROP (Docker sets it) must accept ``-i nmn-br0 -o nmn-br0``.
:func:`netfilter_note` says when that may apply.

Everything here needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN).
"""

import dataclasses
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

PREFIX = 'nmn-'
BRIDGE = PREFIX + 'br0'
SUBNET = '10.77.0'
PREFIX_LENGTH = 24
BRIDGE_ADDRESS = SUBNET + '.1'
# The compute's end of its veth pair, inside its namespace.
INNER_NAME = 'eth0'
MAX_COMPUTES = 99
# Seconds a process left in a namespace gets between SIGTERM and SIGKILL.
TERM_TIMEOUT = 5
_BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables'
_OUR_LINK = re.compile(r'^%s(br0|v\d+)$' % re.escape(PREFIX))
_OUR_NAMESPACE = re.compile(r'^%sc\d+$' % re.escape(PREFIX))


class NetworkError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class ComputeLink:
    """The network of compute ``index`` (1, 2, ...)."""

    index: int

    def __post_init__(self):
        if not 1 <= self.index <= MAX_COMPUTES:
            raise ValueError('compute index %r is not in 1..%d'
                             % (self.index, MAX_COMPUTES))

    @property
    def namespace(self):
        return '%sc%d' % (PREFIX, self.index)

    @property
    def bridge_port(self):
        """The veth end on the bridge, in the root namespace."""
        return '%sv%d' % (PREFIX, self.index)

    @property
    def address(self):
        return '%s.%d' % (SUBNET, 10 + self.index)


def missing_requirements():
    """What this machine lacks to build the network; empty when usable."""
    missing = []
    if os.geteuid() != 0:
        missing.append('root (ip netns, veth and bridge need it)')
    for tool in ('ip', 'setpriv'):
        if shutil.which(tool) is None:
            missing.append('%s (Debian: %s)' % (
                tool, 'iproute2' if tool == 'ip' else 'util-linux'))
    return missing


def _run(argv, check=True):
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode:
        raise NetworkError('%s failed (exit %d): %s' % (
            ' '.join(argv), result.returncode, result.stderr.strip()))
    return result


def _ip(*args, namespace=None, check=True):
    argv = ['ip']
    if namespace:
        argv += ['-n', namespace]
    return _run(argv + list(args), check=check)


def _ip_json(*args, namespace=None):
    out = _ip('-j', *args, namespace=namespace).stdout.strip()
    # Some commands print nothing at all when the list is empty.
    return json.loads(out) if out else []


def links(namespace=None):
    """Names of the network interfaces of the root or a named namespace."""
    return [link['ifname'] for link in _ip_json('link', 'show',
                                                namespace=namespace)]


def namespaces():
    """Names of the named network namespaces (``ip netns list``)."""
    return [ns['name'] for ns in _ip_json('netns', 'list')]


def holders(address, namespace=None):
    """Interfaces that hold ``address`` (IPv4, any prefix length)."""
    return [link['ifname']
            for link in _ip_json('-4', 'addr', 'show', namespace=namespace)
            for info in link.get('addr_info', ())
            if info.get('local') == address]


def ensure_bridge():
    """Create ``nmn-br0`` with 10.77.0.1/24 and bring it up. Idempotent.

    Refuses when another interface holds 10.77.0.1: two routes to the
    subnet would send part of the traffic past the bridge.
    """
    others = [name for name in holders(BRIDGE_ADDRESS) if name != BRIDGE]
    if others:
        raise NetworkError('%s is already on %s; remove it or run '
                           'teardown' % (BRIDGE_ADDRESS, ', '.join(others)))
    if BRIDGE not in links():
        _ip('link', 'add', BRIDGE, 'type', 'bridge')
    if BRIDGE not in holders(BRIDGE_ADDRESS):
        _ip('addr', 'add', '%s/%d' % (BRIDGE_ADDRESS, PREFIX_LENGTH),
            'dev', BRIDGE)
    _ip('link', 'set', BRIDGE, 'up')


def ensure_compute(index):
    """Create compute ``index``'s namespace and link; its ComputeLink.

    Idempotent, and it repairs what a crash left half made: a veth pair
    with one end missing is removed and made again.
    """
    link = ComputeLink(index)
    ensure_bridge()
    if link.namespace not in namespaces():
        _ip('netns', 'add', link.namespace)
    outer = link.bridge_port in links()
    inner = INNER_NAME in links(link.namespace)
    if not (outer and inner):
        if outer:
            _ip('link', 'del', link.bridge_port)
        if inner:
            _ip('link', 'del', INNER_NAME, namespace=link.namespace)
        # The peer is created inside the namespace, so its name cannot
        # clash with the root namespace's own eth0.
        _ip('link', 'add', link.bridge_port, 'type', 'veth', 'peer',
            'name', INNER_NAME, 'netns', link.namespace)
    _ip('link', 'set', link.bridge_port, 'master', BRIDGE, 'up')
    _ip('addr', 'replace', '%s/%d' % (link.address, PREFIX_LENGTH), 'dev',
        INNER_NAME, namespace=link.namespace)
    _ip('link', 'set', 'lo', 'up', namespace=link.namespace)
    _ip('link', 'set', INNER_NAME, 'up', namespace=link.namespace)
    return link


def setup(count):
    """The bridge and computes 1..``count``; their ComputeLinks."""
    return [ensure_compute(index) for index in range(1, count + 1)]


def _ids(user):
    if isinstance(user, tuple):
        return user
    entry = pwd.getpwnam(user) if isinstance(user, str) else pwd.getpwuid(
        user)
    return entry.pw_uid, entry.pw_gid


def exec_argv(namespace, argv, user=None):
    """``argv`` run inside ``namespace``, as ``user`` if given.

    ``user`` is a name, a uid or a ``(uid, gid)`` pair. The switch happens
    after entering the namespace (that needs root) and drops every
    supplementary group. Both wrappers exec, so the PID of the process
    started with the result is the PID of ``argv[0]``.
    """
    wrapped = ['ip', 'netns', 'exec', namespace]
    if user is not None:
        uid, gid = _ids(user)
        wrapped += ['setpriv', '--reuid=%d' % uid, '--regid=%d' % gid,
                    '--clear-groups', '--']
    return wrapped + list(argv)


def namespace_pids(namespace):
    """PIDs of the processes in ``namespace`` (empty if it is gone)."""
    result = _ip('netns', 'pids', namespace, check=False)
    return [int(pid) for pid in result.stdout.split()]


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except OSError:
        return False
    # A zombie has left every namespace already.
    return stat[stat.rfind(')') + 2:][:1] != 'Z'


def _end(pids, timeout=TERM_TIMEOUT):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while any(map(_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = [pid for pid in pids if _alive(pid)]
        if not pids:
            return []
    return pids


def teardown(end_processes=True):
    """Remove the namespaces and links of this module. Safe any time.

    Processes still inside a ``nmn-`` namespace keep it alive after
    ``ip netns del``: with ``end_processes`` they get SIGTERM, then
    SIGKILL, each by the PID the namespace lists (they can only be this
    tier's own); without, their presence is an error. Returns what was
    removed, as ``{'processes': [...], 'links': [...], 'namespaces':
    [...]}``.
    """
    removed = {'processes': [], 'links': [], 'namespaces': []}
    ours = [ns for ns in namespaces() if _OUR_NAMESPACE.match(ns)]
    for namespace in ours:
        pids = namespace_pids(namespace)
        if pids and not end_processes:
            raise NetworkError('processes %s still run in %s' % (
                ' '.join(map(str, pids)), namespace))
        left = _end(pids)
        if left:
            raise NetworkError('processes %s in %s did not end' % (
                ' '.join(map(str, left)), namespace))
        removed['processes'].extend(pids)
    # Ports before bridges; deleting one end of a veth pair deletes both.
    for name in sorted((n for n in links() if _OUR_LINK.match(n)),
                       key=lambda n: n == BRIDGE):
        if _ip('link', 'del', name, check=False).returncode == 0:
            removed['links'].append(name)
    for namespace in ours:
        _ip('netns', 'del', namespace)
        removed['namespaces'].append(namespace)
    return removed


def leftovers():
    """This module's namespaces and links that exist now (empty after
    :func:`teardown`)."""
    return sorted([ns for ns in namespaces() if _OUR_NAMESPACE.match(ns)] +
                  [n for n in links() if _OUR_LINK.match(n)])


def netfilter_note():
    """A warning when bridged traffic may meet iptables, else None."""
    try:
        with open(_BRIDGE_NF) as f:
            enabled = f.read().strip() == '1'
    except OSError:
        return None  # br_netfilter is not loaded: frames skip iptables
    if not enabled:
        return None
    return ('net.bridge.bridge-nf-call-iptables = 1: traffic between '
            'computes crosses the iptables FORWARD chain; if its policy '
            'drops, accept -i %s -o %s' % (BRIDGE, BRIDGE))


def byte_counters(ifname, namespace=None):
    """``(rx_bytes, tx_bytes)`` of an interface, from ``ip -s link``."""
    for link in _ip_json('-s', 'link', 'show', 'dev', ifname,
                         namespace=namespace):
        stats = link['stats64']
        return stats['rx']['bytes'], stats['tx']['bytes']
    raise NetworkError('no interface %s' % ifname)
