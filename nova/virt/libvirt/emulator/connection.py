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

# ruff: noqa: N802, N803 - libvirt-python's names are the API

"""virConnect and open(): connections to emulated hosts.

URI: ``emulated://<host>[/][?state_dir=<dir>]``. Every connection to the
same host name shares that host's state (see state.py).
"""

import threading
import uuid as uuidlib

from nova.virt.libvirt.emulator import constants as c
from nova.virt.libvirt.emulator import domain as domain_mod
from nova.virt.libvirt.emulator import errors
from nova.virt.libvirt.emulator import state

KiB = 1024
MiB = 1024 * 1024

VIR_CPU_COMPARE_ERROR = -1
VIR_CPU_COMPARE_INCOMPATIBLE = 0
VIR_CPU_COMPARE_IDENTICAL = 1
VIR_CPU_COMPARE_SUPERSET = 2

_MACHINES = (
    ('pc-i440fx-7.2', 255, 'pc'),
    ('pc-q35-7.2', 288, 'q35'),
)


def _capabilities(host):
    cpus = host.cpus
    cpu_lines = []
    for cpu in range(cpus):
        core = cpu % (host.sockets * host.cores)
        siblings = ','.join(str(core + t * host.sockets * host.cores)
                            for t in range(host.threads))
        cpu_lines.append(
            "            <cpu id='%d' socket_id='%d' die_id='0' "
            "core_id='%d' siblings='%s'/>"
            % (cpu, core // host.cores, core % host.cores, siblings))
    machines = []
    for machine, max_cpus, alias in _MACHINES:
        machines.append("      <machine maxCpus='%d'>%s</machine>"
                        % (max_cpus, machine))
        machines.append("      <machine canonical='%s' maxCpus='%d'>%s"
                        "</machine>" % (machine, max_cpus, alias))
    return '\n'.join([
        '<capabilities>',
        '  <host>',
        '    <uuid>%s</uuid>' % host.uuid,
        '    <cpu>',
        '      <arch>x86_64</arch>',
        '      <model>Skylake-Server-IBRS</model>',
        '      <vendor>Intel</vendor>',
        "      <topology sockets='%d' dies='1' cores='%d' threads='%d'/>"
        % (host.sockets, host.cores, host.threads),
        "      <feature name='pdpe1gb'/>",
        "      <pages unit='KiB' size='4'/>",
        "      <pages unit='KiB' size='2048'/>",
        "      <pages unit='KiB' size='1048576'/>",
        '    </cpu>',
        '    <power_management/>',
        "    <iommu support='no'/>",
        '    <migration_features>',
        '      <live/>',
        '      <uri_transports>',
        '        <uri_transport>tcp</uri_transport>',
        '        <uri_transport>rdma</uri_transport>',
        '      </uri_transports>',
        '    </migration_features>',
        '    <topology>',
        "      <cells num='1'>",
        "        <cell id='0'>",
        "          <memory unit='KiB'>%d</memory>" % (host.memory // KiB),
        "          <cpus num='%d'>" % cpus,
    ] + cpu_lines + [
        '          </cpus>',
        '        </cell>',
        '      </cells>',
        '    </topology>',
        '    <secmodel>',
        '      <model>none</model>',
        '      <doi>0</doi>',
        '    </secmodel>',
        '  </host>',
        '  <guest>',
        '    <os_type>hvm</os_type>',
        "    <arch name='x86_64'>",
        '      <wordsize>64</wordsize>',
        '      <emulator>/usr/bin/qemu-system-x86_64</emulator>',
    ] + machines + [
        "      <domain type='qemu'/>",
        "      <domain type='kvm'/>",
        '    </arch>',
        '    <features>',
        '      <acpi default=\'on\' toggle=\'yes\'/>',
        '      <apic default=\'on\' toggle=\'no\'/>',
        '      <cpuselection/>',
        '      <deviceboot/>',
        "      <disksnapshot default='on' toggle='no'/>",
        '    </features>',
        '  </guest>',
        '</capabilities>',
        ''])


class virConnect:  # noqa: N801 - libvirt-python's name
    def __init__(self, host, uri, read_only=False):
        self._host = host
        self._uri = uri
        self._read_only = read_only
        self._closed = False
        self._callbacks = {}
        self._callback_ids = iter(range(1, 2 ** 31))
        self._lock = threading.Lock()

    def __repr__(self):
        return '<emulated virConnect %s>' % self._uri

    def _check_open(self):
        if self._closed:
            raise errors.error(c.VIR_ERR_INVALID_CONN, 'virConnect',
                               c.VIR_FROM_NONE)

    def _check_writable(self):
        self._check_open()
        if self._read_only:
            raise errors.error(c.VIR_ERR_OPERATION_DENIED,
                               'read-only connection')

    def _handle(self, guest):
        return domain_mod.virDomain(self, self._host, guest.uuid,
                                    guest.name)

    # -- host -----------------------------------------------------------------

    def getURI(self):
        self._check_open()
        return self._uri

    def getHostname(self):
        self._check_open()
        return self._host.name

    def getType(self):
        self._check_open()
        return 'QEMU'

    def getVersion(self):
        self._check_open()
        return c.HYPERVISOR_VERSION

    def getLibVersion(self):
        self._check_open()
        return c.LIB_VERSION

    def getCapabilities(self):
        self._check_open()
        return _capabilities(self._host)

    def getInfo(self):
        self._check_open()
        host = self._host
        return ['x86_64', host.memory // MiB, host.cpus, host.mhz, 1,
                host.sockets, host.cores, host.threads]

    def getFreeMemory(self):
        self._check_open()
        return max(self._host.memory - self._host.used_memory(), 0)

    def getMaxVcpus(self, type=None):  # noqa: A002 - libvirt's signature
        self._check_open()
        return 255

    def getCPUMap(self, flags=0):
        self._check_open()
        cpus = self._host.cpus
        return cpus, [True] * cpus, cpus

    def compareCPU(self, xmlDesc, flags=0):
        self._check_open()
        return VIR_CPU_COMPARE_IDENTICAL

    def compareHypervisorCPU(self, emulator, arch, machine, virttype,
                             xmlCPU, flags=0):
        self._check_open()
        return VIR_CPU_COMPARE_IDENTICAL

    # -- domains --------------------------------------------------------------

    def defineXML(self, xml):
        return self.defineXMLFlags(xml, 0)

    def defineXMLFlags(self, xml, flags=0):
        self._check_writable()
        return self._handle(self._host.define(xml))

    def createXML(self, xmlDesc, flags=0):
        """Start a transient guest (libvirt's createXML)."""
        self._check_writable()
        guest = self._host.create_transient(
            xmlDesc, paused=bool(flags & c.VIR_DOMAIN_START_PAUSED))
        return self._handle(guest)

    def lookupByUUIDString(self, uuidstr):
        self._check_open()
        try:
            key = str(uuidlib.UUID(uuidstr))
        except (TypeError, ValueError):
            raise errors.error(c.VIR_ERR_INVALID_ARG,
                               'uuidstr in virDomainLookupByUUIDString '
                               'must be a valid UUID')
        with self._host.lock:
            guest = self._host.guests.get(key)
        if guest is None:
            raise errors.no_domain_uuid(key)
        return self._handle(guest)

    def lookupByUUID(self, uuid):
        return self.lookupByUUIDString(str(uuidlib.UUID(bytes=bytes(uuid))))

    def lookupByName(self, name):
        self._check_open()
        return self._handle(self._host.guest_by_name(name))

    def lookupByID(self, dom_id):
        self._check_open()
        for guest in self._host.active_guests():
            if guest.dom_id == dom_id:
                return self._handle(guest)
        raise errors.error(c.VIR_ERR_NO_DOMAIN,
                           'no domain with matching id %d' % dom_id)

    def listAllDomains(self, flags=0):
        self._check_open()
        with self._host.lock:
            guests = sorted(self._host.guests.values(),
                            key=lambda g: g.name)
            return [self._handle(g) for g in guests if _matches(g, flags)]

    def domainListGetStats(self, doms, stats=0, flags=0):
        """``[(domain, {key: value})]``; of the stats groups only
        VIR_DOMAIN_STATS_DIRTYRATE (or all, ``stats`` 0) has keys here."""
        self._check_open()
        result = []
        for dom in doms:
            record = {}
            if not stats or stats & c.VIR_DOMAIN_STATS_DIRTYRATE:
                record.update(dom.dirtyrate_stats())
            result.append((dom, record))
        return result

    def listDomainsID(self):
        self._check_open()
        return sorted(g.dom_id for g in self._host.active_guests())

    def numOfDomains(self):
        self._check_open()
        return len(self._host.active_guests())

    def listDefinedDomains(self):
        self._check_open()
        with self._host.lock:
            return sorted(g.name for g in self._host.guests.values()
                          if g.persistent and not g.active)

    def numOfDefinedDomains(self):
        return len(self.listDefinedDomains())

    # -- connection -----------------------------------------------------------

    def close(self):
        self._closed = True
        return 0

    def isAlive(self):
        return 0 if self._closed else 1

    def isEncrypted(self):
        return 0

    def isSecure(self):
        return 1

    def setKeepAlive(self, interval, count):
        self._check_open()
        return 0

    def registerCloseCallback(self, cb, opaque):
        self._check_open()
        return 0

    def unregisterCloseCallback(self):
        return 0

    def domainEventRegisterAny(self, dom, eventID, cb, opaque):
        """Accepted for compatibility; the emulator emits no events yet."""
        self._check_open()
        with self._lock:
            callback_id = next(self._callback_ids)
            self._callbacks[callback_id] = (dom, eventID, cb, opaque)
        return callback_id

    def domainEventDeregisterAny(self, callbackID):
        with self._lock:
            self._callbacks.pop(callbackID, None)
        return 0


def _matches(guest, flags):
    """libvirt's listAllDomains filter groups (each group ANDed)."""
    def group(predicates):
        wanted = [pred for bit, pred in predicates if flags & bit]
        return not wanted or any(pred(guest) for pred in wanted)

    return (
        group([
            (c.VIR_CONNECT_LIST_DOMAINS_ACTIVE, lambda g: g.active),
            (c.VIR_CONNECT_LIST_DOMAINS_INACTIVE, lambda g: not g.active)])
        and group([
            (c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, lambda g: g.persistent),
            (c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
             lambda g: not g.persistent)])
        and group([
            (c.VIR_CONNECT_LIST_DOMAINS_RUNNING,
             lambda g: g.state == c.VIR_DOMAIN_RUNNING),
            (c.VIR_CONNECT_LIST_DOMAINS_PAUSED,
             lambda g: g.state == c.VIR_DOMAIN_PAUSED),
            (c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF,
             lambda g: g.state == c.VIR_DOMAIN_SHUTOFF),
            (c.VIR_CONNECT_LIST_DOMAINS_OTHER,
             lambda g: g.state not in (c.VIR_DOMAIN_RUNNING,
                                       c.VIR_DOMAIN_PAUSED,
                                       c.VIR_DOMAIN_SHUTOFF))])
        and group([
            (c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, lambda g: g.autostart),
            (c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
             lambda g: not g.autostart)]))


def open(name=None):  # noqa: A001 - libvirt-python's name
    """libvirt.open(): connect to (and, first time, create) a host."""
    host_name, state_dir = state.parse_uri(name)
    host = state.get_host(host_name, state_dir=state_dir)
    return virConnect(host, name or 'emulated:///')


def openReadOnly(name=None):
    host_name, state_dir = state.parse_uri(name)
    host = state.get_host(host_name, state_dir=state_dir)
    return virConnect(host, name or 'emulated:///', read_only=True)


def openAuth(uri, auth=None, flags=0):
    """libvirt.openAuth(): credentials are not needed by emulated hosts."""
    if flags & c.VIR_CONNECT_RO:
        return openReadOnly(uri)
    return open(uri)
