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

"""Emulated hosts: the process-wide registry and each host's guests.

A ``Host`` is what one libvirtd + QEMU would hold: its guests (definition,
live definition, state), their workloads, and the knobs tests turn
(hardware, default migration bandwidth, failure injection). Connections to
the same host name share one ``Host``, which is how a migration from host A
reaches host B in the same process.

With a ``state_dir``, each host keeps its guests in
``<state_dir>/<host name>/<uuid>.json`` (definition, live definition,
state), so a restarted process that opens the host again finds them, as a
restarted libvirtd finds its domains. Workloads and jobs live in memory
only.
"""

import json
import logging
import os
import socket
import threading
import time
import urllib.parse
import uuid as uuidlib

from nova.virt.libvirt.emulator import constants as c
from nova.virt.libvirt.emulator import errors
from nova.virt.libvirt.emulator import workload as workload_mod
from nova.virt.libvirt.emulator import xmlcheck

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
_HOST_UUID_NS = uuidlib.UUID('6f1d4d0e-8a8c-4b5e-9c3a-1f0e2d3c4b5a')

_registry_lock = threading.Lock()
_hosts = {}


class Guest:
    """One domain as a host knows it."""

    def __init__(self, dom_uuid, name):
        self.uuid = dom_uuid
        self.name = name
        self.config = None        # persistent definition (DomainSpec)
        self.live = None          # running definition while active
        self.state = c.VIR_DOMAIN_SHUTOFF
        self.reason = c.VIR_DOMAIN_SHUTOFF_UNKNOWN
        self.dom_id = -1
        self.autostart = False
        self.cpu_ns = 0
        self.run_since = None
        self.max_downtime_ms = c.DEFAULT_MAX_DOWNTIME_MS
        self.max_speed_mib = None  # None: unlimited
        self.job = None            # outgoing migration in progress
        self.incoming = None       # incoming migration in progress
        self.completed_job = None  # stats of the last finished job
        self.workload = None
        self.paused_by_migration = False
        # the last startDirtyRateCalc: (wall start s, period s, monotonic
        # end); its result is read from the workload's window
        self.dirtyrate_calc = None
        self.dirtyrate_mib = None

    @property
    def persistent(self):
        return self.config is not None

    @property
    def active(self):
        return self.live is not None

    @property
    def spec(self):
        return self.live if self.live is not None else self.config

    def cpu_time_ns(self):
        running = 0
        if self.run_since is not None:
            running = int((time.monotonic() - self.run_since) * 1e9)
        return self.cpu_ns + running

    def stop_clock(self):
        self.cpu_ns = self.cpu_time_ns()
        self.run_since = None


class Host:
    """One emulated hypervisor host."""

    def __init__(self, name, state_dir=None):
        self.name = name
        self.uuid = str(uuidlib.uuid5(_HOST_UUID_NS, name))
        self.lock = threading.RLock()
        self.guests = {}
        # hardware, as getInfo()/getCapabilities() report it
        self.sockets = 1
        self.cores = 4
        self.threads = 2
        self.mhz = 2400
        self.memory = 64 * GiB
        # migration model defaults
        self.default_bandwidth = 10 * GiB     # bytes/s when "unlimited"
        self.migration_setup_seconds = 0.05   # destination QEMU start-up
        self.switchover_seconds = 0.005       # device state at switchover
        # Whether QEMU here may use userfaultfd (post-copy); False models
        # vm.unprivileged_userfaultfd = 0 with an unprivileged QEMU.
        self.userfaultfd = True
        # Whether guest OSes power off on an ACPI shutdown request.
        self.acpi_shutdown = True
        self.state_dir = state_dir
        self._next_id = 1
        self._outgoing_error = None
        self._incoming_refusal = None
        if state_dir:
            self._load()

    @property
    def cpus(self):
        return self.sockets * self.cores * self.threads

    def configure(self, **settings):
        """Set hardware or model knobs, e.g. ``configure(memory=8 * GiB)``."""
        for key, value in settings.items():
            if key not in ('sockets', 'cores', 'threads', 'mhz', 'memory',
                           'default_bandwidth', 'migration_setup_seconds',
                           'switchover_seconds', 'acpi_shutdown',
                           'userfaultfd'):
                raise AttributeError('unknown host setting %s' % key)
            setattr(self, key, value)

    # -- lookups --------------------------------------------------------------

    def guest(self, dom_uuid):
        with self.lock:
            guest = self.guests.get(dom_uuid)
        if guest is None:
            raise errors.no_domain_uuid(dom_uuid)
        return guest

    def guest_by_name(self, name):
        with self.lock:
            for guest in self.guests.values():
                if guest.name == name:
                    return guest
        raise errors.error(c.VIR_ERR_NO_DOMAIN,
                           "no domain with matching name '%s'" % name)

    def active_guests(self):
        with self.lock:
            return [g for g in self.guests.values() if g.active]

    def paths_in_use(self, exclude_uuid=None):
        """Backing files of running (or arriving) guests: path -> name."""
        used = {}
        for guest in self.active_guests():
            if guest.uuid == exclude_uuid:
                continue
            for nvdimm in guest.live.nvdimms:
                used[os.path.realpath(nvdimm.path)] = guest.name
        return used

    def used_memory(self):
        return sum(g.live.memory for g in self.active_guests())

    # -- lifecycle ------------------------------------------------------------

    def define(self, xml):
        spec = xmlcheck.parse(xml)
        with self.lock:
            guest = self._claim_identity(spec, for_migration=False)
            guest.config = spec
            self._save(guest)
        return guest

    def _claim_identity(self, spec, for_migration):
        """Find or create the record for spec, refusing clashes as libvirt.

        The caller holds the lock.
        """
        guest = self.guests.get(spec.uuid)
        if guest is not None:
            if guest.name != spec.name:
                raise errors.error(
                    c.VIR_ERR_OPERATION_FAILED,
                    "domain '%s' is already defined with uuid %s"
                    % (guest.name, guest.uuid))
            if for_migration and (guest.active or guest.incoming):
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   "domain '%s' is already active"
                                   % guest.name)
            return guest
        for other in self.guests.values():
            if other.name == spec.name:
                raise errors.error(
                    c.VIR_ERR_OPERATION_FAILED,
                    "domain '%s' already exists with uuid %s"
                    % (other.name, other.uuid))
        guest = Guest(spec.uuid, spec.name)
        self.guests[spec.uuid] = guest
        return guest

    def check_can_run(self, spec, exclude_uuid=None):
        """QEMU's start-up checks plus exclusive use of backing files."""
        xmlcheck.check_start(spec)
        used = self.paths_in_use(exclude_uuid=exclude_uuid)
        for nvdimm in spec.nvdimms:
            owner = used.get(os.path.realpath(nvdimm.path))
            if owner is not None:
                raise errors.qemu_start_failure(
                    "-object memory-backend-file,id=memnvdimm%d,mem-path=%s:"
                    " could not open '%s': Device or resource busy (in use "
                    "by domain '%s')" % (nvdimm.index, nvdimm.path,
                                         nvdimm.path, owner))

    def start(self, dom_uuid, paused=False):
        with self.lock:
            guest = self.guest(dom_uuid)
            if guest.active:
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   'domain is already running')
            self.check_can_run(guest.config, exclude_uuid=guest.uuid)
            self._boot(guest, guest.config, paused)
        return guest

    def create_transient(self, xml, paused=False):
        """libvirt's createXML: run a guest from XML without defining it."""
        spec = xmlcheck.parse(xml)
        with self.lock:
            known = spec.uuid in self.guests
            guest = self._claim_identity(spec, for_migration=True)
            try:
                self.check_can_run(spec, exclude_uuid=guest.uuid)
            except errors.libvirtError:
                if not known:
                    del self.guests[guest.uuid]
                raise
            self._boot(guest, spec, paused)
        return guest

    def _boot(self, guest, spec, paused):
        """Make ``guest`` run ``spec``; the caller holds the lock."""
        guest.live = spec
        guest.dom_id = self._allocate_id()
        guest.run_since = time.monotonic()
        if paused:
            guest.state = c.VIR_DOMAIN_PAUSED
            guest.reason = c.VIR_DOMAIN_PAUSED_USER
        else:
            guest.state = c.VIR_DOMAIN_RUNNING
            guest.reason = c.VIR_DOMAIN_RUNNING_BOOTED
        if guest.workload is not None:
            guest.workload.attach(guest.live)
            if not paused:
                guest.workload.resume()
        self._save(guest)

    def _allocate_id(self):
        dom_id = self._next_id
        self._next_id += 1
        return dom_id

    def destroy(self, dom_uuid, reason=c.VIR_DOMAIN_SHUTOFF_DESTROYED):
        with self.lock:
            guest = self.guest(dom_uuid)
            if not guest.active:
                raise errors.not_running()
            if guest.job is not None:
                guest.job.fail(errors.error(c.VIR_ERR_OPERATION_FAILED,
                                            'domain is not running'))
            if guest.incoming is not None:
                guest.incoming.fail(errors.error(
                    c.VIR_ERR_OPERATION_FAILED,
                    'domain is not running on the destination'))
            self._power_off(guest, reason)

    def _power_off(self, guest, reason):
        """Stop the guest; the caller holds the lock."""
        if guest.workload is not None:
            guest.workload.stop()
        guest.stop_clock()
        guest.live = None
        guest.dom_id = -1
        guest.state = c.VIR_DOMAIN_SHUTOFF
        guest.reason = reason
        guest.paused_by_migration = False
        if guest.persistent:
            self._save(guest)
        else:
            self._forget(guest)

    def undefine(self, dom_uuid):
        with self.lock:
            guest = self.guest(dom_uuid)
            if not guest.persistent:
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   'cannot undefine transient domain')
            guest.config = None
            if guest.active:
                self._save(guest)
            else:
                self._forget(guest)

    def suspend(self, dom_uuid):
        with self.lock:
            guest = self.guest(dom_uuid)
            if not guest.active or guest.incoming is not None:
                raise errors.not_running()
            if guest.state != c.VIR_DOMAIN_PAUSED:
                guest.state = c.VIR_DOMAIN_PAUSED
                guest.reason = c.VIR_DOMAIN_PAUSED_USER
                if guest.workload is not None:
                    guest.workload.pause()
                self._save(guest)

    def resume(self, dom_uuid):
        with self.lock:
            guest = self.guest(dom_uuid)
            if not guest.active or guest.incoming is not None:
                raise errors.not_running()
            if guest.paused_by_migration:
                raise errors.error(
                    c.VIR_ERR_OPERATION_INVALID,
                    'domain is paused for migration switchover')
            if guest.state == c.VIR_DOMAIN_PAUSED:
                guest.state = c.VIR_DOMAIN_RUNNING
                guest.reason = c.VIR_DOMAIN_RUNNING_UNPAUSED
                if guest.workload is not None:
                    guest.workload.resume()
                self._save(guest)

    # -- migration support (used by migration.py) ----------------------------

    def prepare_incoming(self, spec, job):
        """Start the receiving side: a paused guest waiting for memory."""
        with self.lock:
            refusal = self._incoming_refusal
            if refusal is not None:
                if refusal['once']:
                    self._incoming_refusal = None
                raise errors.error(refusal['code'], refusal['message'])
            guest = self._claim_identity(spec, for_migration=True)
            try:
                self.check_can_run(spec, exclude_uuid=spec.uuid)
            except errors.libvirtError:
                if not guest.persistent:
                    del self.guests[guest.uuid]
                raise
            guest.live = spec
            guest.dom_id = self._allocate_id()
            guest.state = c.VIR_DOMAIN_PAUSED
            guest.reason = c.VIR_DOMAIN_PAUSED_MIGRATION
            guest.incoming = job
            guest.completed_job = None
        return guest

    def abort_incoming(self, dom_uuid, job):
        """Drop what prepare_incoming made (the migration failed)."""
        with self.lock:
            guest = self.guests.get(dom_uuid)
            if guest is None or guest.incoming is not job:
                return
            guest.incoming = None
            guest.live = None
            guest.dom_id = -1
            guest.state = c.VIR_DOMAIN_SHUTOFF
            guest.reason = c.VIR_DOMAIN_SHUTOFF_FAILED
            if not guest.persistent:
                del self.guests[dom_uuid]

    def finish_incoming(self, dom_uuid, job, persist_spec, paused,
                        postcopy=False):
        """The guest now runs here (or waits paused, if asked)."""
        with self.lock:
            guest = self.guest(dom_uuid)
            guest.incoming = None
            if persist_spec is not None:
                guest.config = persist_spec
            guest.run_since = time.monotonic()
            if paused:
                guest.state = c.VIR_DOMAIN_PAUSED
                guest.reason = c.VIR_DOMAIN_PAUSED_MIGRATION
            else:
                guest.state = c.VIR_DOMAIN_RUNNING
                guest.reason = (c.VIR_DOMAIN_RUNNING_POSTCOPY if postcopy
                                else c.VIR_DOMAIN_RUNNING_MIGRATED)
            self._save(guest)
        return guest

    def finish_outgoing(self, dom_uuid, undefine):
        """The guest left: shut off here, and gone if asked or transient."""
        with self.lock:
            guest = self.guests.get(dom_uuid)
            if guest is None:
                return
            guest.workload = None
            guest.job = None
            if undefine:
                guest.config = None
            self._power_off(guest, c.VIR_DOMAIN_SHUTOFF_MIGRATED)

    def pause_for_migration(self, dom_uuid, reason):
        """Stop the vCPUs for the switchover; True if this paused them."""
        with self.lock:
            guest = self.guest(dom_uuid)
            if not guest.active:
                raise errors.error(c.VIR_ERR_OPERATION_FAILED,
                                   'domain is not running')
            guest.paused_by_migration = True
            if guest.state == c.VIR_DOMAIN_PAUSED:
                return False
            guest.state = c.VIR_DOMAIN_PAUSED
            guest.reason = reason
            if guest.workload is not None:
                guest.workload.pause()
            return True

    def resume_after_failed_migration(self, dom_uuid, we_paused):
        with self.lock:
            guest = self.guests.get(dom_uuid)
            if guest is None or not guest.active:
                return
            guest.paused_by_migration = False
            if we_paused and guest.state == c.VIR_DOMAIN_PAUSED:
                guest.state = c.VIR_DOMAIN_RUNNING
                guest.reason = c.VIR_DOMAIN_RUNNING_MIGRATION_CANCELED
                if guest.workload is not None:
                    guest.workload.resume()

    def mark_postcopy_failed(self, dom_uuid):
        with self.lock:
            guest = self.guests.get(dom_uuid)
            if guest is not None and guest.active:
                guest.state = c.VIR_DOMAIN_PAUSED
                guest.reason = c.VIR_DOMAIN_PAUSED_POSTCOPY_FAILED

    def take_outgoing_error(self, processed):
        """The injected outgoing failure if it is due at ``processed``."""
        with self.lock:
            spec = self._outgoing_error
            if spec is None or processed < spec['after_bytes']:
                return None
            if spec['once']:
                self._outgoing_error = None
            return errors.error(spec['code'], spec['message'])

    # -- workloads ------------------------------------------------------------

    def set_workload(self, dom_uuid, dirty_pages_per_second=0, pages=1.0,
                     ram_dirty_pages_per_second=0, seed=None):
        """Give a guest a workload that writes into its nvdimms.

        It runs whenever the guest runs on this host and follows the guest
        when it migrates. Returns the Workload (see workload.py for
        ``verify()``). Replaces any previous workload of the guest.
        """
        with self.lock:
            guest = self.guest(dom_uuid)
            if guest.job is not None or guest.incoming is not None:
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   'domain has a migration job running')
            if guest.workload is not None:
                guest.workload.stop()
            load = workload_mod.Workload(
                dom_uuid, dirty_pages_per_second=dirty_pages_per_second,
                pages=pages,
                ram_dirty_pages_per_second=ram_dirty_pages_per_second,
                seed=seed)
            guest.workload = load
            if guest.active:
                load.attach(guest.live)
                if guest.state == c.VIR_DOMAIN_RUNNING:
                    load.resume()
        return load

    def get_workload(self, dom_uuid):
        return self.guest(dom_uuid).workload

    # -- failure injection ----------------------------------------------------

    def inject_migration_error(self, after_bytes=0, message=None,
                               code=c.VIR_ERR_OPERATION_FAILED, once=True):
        """Make the next outgoing migration fail once it has sent
        ``after_bytes`` bytes (memory_processed), with libvirt's cleanup:
        the source keeps running, the destination keeps no domain.
        """
        if message is None:
            message = ("job 'migration out' failed: Unable to write to "
                       "socket: Connection reset by peer")
        with self.lock:
            self._outgoing_error = {'after_bytes': after_bytes,
                                    'message': message, 'code': code,
                                    'once': once}

    def refuse_incoming(self, message='incoming migration failed',
                        code=c.VIR_ERR_OPERATION_FAILED, once=True):
        """Make this host refuse the next incoming migration at prepare."""
        with self.lock:
            self._incoming_refusal = {'message': message, 'code': code,
                                      'once': once}

    def clear_injections(self):
        with self.lock:
            self._outgoing_error = None
            self._incoming_refusal = None

    # -- persistence ----------------------------------------------------------

    def _dir(self):
        return os.path.join(self.state_dir, self.name)

    def _save(self, guest):
        if not self.state_dir or guest.incoming is not None:
            return
        record = {
            'uuid': guest.uuid,
            'name': guest.name,
            'config_xml': guest.config.to_xml() if guest.config else None,
            'live_xml': guest.live.to_xml() if guest.live else None,
            'state': guest.state,
            'reason': guest.reason,
            'id': guest.dom_id,
            'autostart': guest.autostart,
        }
        os.makedirs(self._dir(), exist_ok=True)
        path = os.path.join(self._dir(), guest.uuid + '.json')
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(record, f)
        os.replace(tmp, path)

    def save(self, guest):
        with self.lock:
            self._save(guest)

    def _forget(self, guest):
        self.guests.pop(guest.uuid, None)
        if self.state_dir:
            try:
                os.unlink(os.path.join(self._dir(), guest.uuid + '.json'))
            except FileNotFoundError:
                pass

    def _load(self):
        if not os.path.isdir(self._dir()):
            return
        for entry in sorted(os.listdir(self._dir())):
            if not entry.endswith('.json'):
                continue
            try:
                with open(os.path.join(self._dir(), entry)) as f:
                    record = json.load(f)
                guest = Guest(record['uuid'], record['name'])
                if record['config_xml']:
                    guest.config = xmlcheck.parse(record['config_xml'])
                if record['live_xml']:
                    # Its QEMU is taken to have outlived the old process,
                    # as guests outlive a libvirtd restart.
                    guest.live = xmlcheck.parse(record['live_xml'])
                    guest.run_since = time.monotonic()
                guest.state = record['state']
                guest.reason = record['reason']
                guest.dom_id = record['id']
                guest.autostart = record.get('autostart', False)
            except (OSError, ValueError, KeyError,
                    errors.libvirtError) as exc:
                LOG.warning('Emulated host %s: skipping unreadable domain '
                            'record %s: %s', self.name, entry, exc)
                continue
            self.guests[guest.uuid] = guest
            self._next_id = max(self._next_id, guest.dom_id + 1)

    # -- teardown -------------------------------------------------------------

    def shutdown(self):
        """Stop every workload and job (registry reset)."""
        with self.lock:
            guests = list(self.guests.values())
        for guest in guests:
            job = guest.job
            if job is not None:
                job.fail(errors.error(c.VIR_ERR_OPERATION_FAILED,
                                      'emulated host %s was reset'
                                      % self.name))
            if guest.workload is not None:
                guest.workload.stop()


def parse_uri(uri):
    """Split ``emulated://<host>[/][?state_dir=<dir>]``.

    Returns (host name, state_dir or None). An empty host part
    (``emulated:///``) names this machine, as ``qemu:///system`` does.
    """
    if uri is None or uri == '':
        uri = 'emulated:///'
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme != 'emulated':
        raise errors.error(c.VIR_ERR_NO_CONNECT, uri, c.VIR_FROM_NONE)
    if parts.path not in ('', '/', '/system', '/session'):
        raise errors.error(c.VIR_ERR_INVALID_ARG,
                           "unexpected emulated URI path '%s' in %s"
                           % (parts.path, uri), c.VIR_FROM_URI)
    query = urllib.parse.parse_qs(parts.query)
    state_dir = query.get('state_dir', [None])[-1]
    name = parts.hostname or socket.gethostname()
    if parts.netloc and not parts.hostname:
        raise errors.error(c.VIR_ERR_INVALID_ARG,
                           'no host name in URI %s' % uri, c.VIR_FROM_URI)
    # urlsplit lower-cases host names; keep the caller's spelling.
    netloc_host = parts.netloc.rsplit('@', 1)[-1].split(':', 1)[0]
    if netloc_host:
        name = netloc_host
    return name, state_dir


def get_host(name, state_dir=None, create=True):
    """The registered host called ``name`` (created on first use).

    ``state_dir`` only matters when the host is created; opening a known
    host with a different state_dir is refused so two callers cannot
    disagree silently about where its domains live.
    """
    with _registry_lock:
        host = _hosts.get(name)
        if host is None:
            if not create:
                return None
            host = Host(name, state_dir=state_dir)
            _hosts[name] = host
        elif state_dir and host.state_dir and (
                os.path.realpath(state_dir) !=
                os.path.realpath(host.state_dir)):
            raise errors.error(
                c.VIR_ERR_OPERATION_INVALID,
                "emulated host '%s' is already open with state_dir %s"
                % (name, host.state_dir))
        elif state_dir and not host.state_dir:
            host.state_dir = state_dir
            with host.lock:
                for guest in host.guests.values():
                    host._save(guest)
    return host


def find_host(name):
    return get_host(name, create=False)


def all_hosts():
    with _registry_lock:
        return list(_hosts.values())


def reset():
    """Forget every host (tests' cleanup); stops workloads and jobs."""
    with _registry_lock:
        hosts = list(_hosts.values())
        _hosts.clear()
    for host in hosts:
        host.shutdown()


def find_workload(dom_uuid):
    """The workload of a guest on whichever host currently has it."""
    for host in all_hosts():
        with host.lock:
            guest = host.guests.get(dom_uuid)
        if guest is not None and guest.workload is not None:
            return guest.workload
    return None
