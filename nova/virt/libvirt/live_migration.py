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

"""The libvirt driver's live migration API, as LibvirtDriver inherits it.

Destination: ``check_can_live_migrate_destination``,
``pre_live_migration``, ``post_live_migration_at_destination``,
``rollback_live_migration_at_destination``. Source: ``live_migration``
(blocks until the job ends), ``live_migration_abort``,
``live_migration_force_complete``, ``post_live_migration_at_source``.

This module gathers inputs (the instance, this host, the options the
driver captured when it was built, how the two hosts reach each other)
and acts; what to send and how to watch it are pure functions and the
monitor in :mod:`nova.virt.libvirt.migration`.
"""

import dataclasses
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

from oslo_log import log as logging

from nova.compute import instance_actions as actions
from nova.compute import power_state
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.virt import hardware
from nova.virt.libvirt import migration as lm
from nova.virt.libvirt import preflight
from nova.virt.libvirt import vpmem

LOG = logging.getLogger(__name__)

EMULATED_SCHEME = 'emulated'
DEFAULT_REMOTE_SCHEME = 'qemu+tcp'
# The instance action event carrying the pre-flight estimate.
PREFLIGHT_EVENT = 'live_migration_preflight'


# -- how the hosts reach each other ------------------------------------------

def is_emulated_uri(uri):
    return urllib.parse.urlsplit(uri or '').scheme == EMULATED_SCHEME


def is_local_socket_uri(uri):
    """A URI reaching a daemon of this machine through a unix socket."""
    parts = urllib.parse.urlsplit(uri or '')
    return (parts.scheme.endswith('+unix') or 'socket=' in parts.query or
            (not parts.netloc and parts.path == '/session'))


def _remote_scheme(connection_uri, scheme):
    if scheme:
        # The option names a transport ('tcp', 'ssh') or a whole scheme.
        return scheme if '+' in scheme or scheme == 'qemu' else (
            'qemu+' + scheme)
    current = urllib.parse.urlsplit(connection_uri or '').scheme
    if '+' in current and not current.endswith('+unix'):
        return current
    return DEFAULT_REMOTE_SCHEME


def _url_host(address):
    # An IPv6 literal goes in brackets inside a URI.
    if ':' in address and not address.startswith('['):
        return '[%s]' % address
    return address


def _daemon_path(connection_uri):
    # A session-mode daemon answers /session only; /system otherwise.
    path = urllib.parse.urlsplit(connection_uri or '').path
    return path if path == '/session' else '/system'


def own_libvirt_uri(connection_uri, host, scheme=None, inbound_addr=None):
    """How other hosts reach this host's hypervisor (destination side).

    Emulated and local unix-socket daemons are reached at this host's own
    URI; a real remote daemon at ``<scheme>://<inbound addr or host>/system``
    (``/session`` when this host's daemon is a session one).
    """
    if is_emulated_uri(connection_uri) or is_local_socket_uri(
            connection_uri):
        return connection_uri
    return '%s://%s%s' % (_remote_scheme(connection_uri, scheme),
                          _url_host(inbound_addr or host),
                          _daemon_path(connection_uri))


def derive_dest_uri(source_uri, dest_host, scheme=None, dest_addr=None):
    """The destination's URI when it did not send one (older peer)."""
    if is_emulated_uri(source_uri):
        return '%s://%s' % (EMULATED_SCHEME, dest_host)
    return '%s://%s%s' % (_remote_scheme(source_uri, scheme),
                          _url_host(dest_addr or dest_host),
                          _daemon_path(source_uri))


def migration_stream_address(dest_uri, inbound_addr, tunnelled):
    """``(MIGRATE_URI, LISTEN_ADDRESS)`` for the data stream, or Nones.

    Tunnelled and emulated migrations have no separate stream. With an
    inbound address the destination QEMU listens there and the source
    connects there. Two daemons of one machine (unix sockets) must use
    loopback explicitly: libvirt refuses 127.0.0.1 as migration_host in
    qemu.conf, and its default would be the host name.
    """
    if tunnelled or is_emulated_uri(dest_uri):
        return None, None
    if inbound_addr:
        return 'tcp://%s' % _url_host(inbound_addr), inbound_addr
    if is_local_socket_uri(dest_uri):
        return 'tcp://127.0.0.1', '127.0.0.1'
    return None, None


def _device_key(device):
    return (device.name, device.devpath, device.size, device.align)


def _describe(devices):
    return ', '.join('%s (%s)' % (d.name, d.devpath) for d in devices) or \
        'none'


class LateEstimate:
    """Warn mode's estimate, from the migration job's own dirty rate.

    The monitor hands it each ``jobStats()`` record. Once the second pass
    is over it estimates the copy with the dirty rate QEMU measured during
    that pass, reports it through ``report(text, converges)`` and asks for
    no more records. Not the first pass: it copies all of memory, so a
    guest that rewrites its working set within it shows at most the
    working set over the pass's length, less than the bandwidth, however
    fast it writes. A copy that ends before (most do) is estimated when it
    ends (:meth:`finish`).
    """

    PASSES = 2

    def __init__(self, report, inputs):
        self._report = report
        self._inputs = inputs
        self.estimate = None
        # The last record read after the first pass: QEMU's rate of the
        # job while it ran, which its completed record no longer has.
        self._last_rate_read = None

    def __call__(self, stats):
        """True when done (the monitor stops calling)."""
        if preflight.dirty_rate_from_job_stats(stats) is not None:
            self._last_rate_read = stats
        return self._estimate(stats, self.PASSES, 'during the copy')

    def finish(self, completed_stats):
        """After the copy: report if nothing was reported yet.

        From the last rate read while the job ran, else from the
        completed record. Real QEMU drops its dirty rate once the job
        completed (libvirt then reads 0), so a rate read during the copy,
        even over its first pass only, says more than the completed
        record's.
        """
        if self.estimate is not None:
            return
        for stats in (self._last_rate_read, completed_stats):
            if self._estimate(stats, 1, 'after the copy'):
                return
        self._report('Pre-flight estimate: none: the copy ended before '
                     "the guest's dirty rate was read", True)

    def _estimate(self, stats, passes, when):
        rate = preflight.dirty_rate_from_job_stats(stats, passes)
        if rate is None:
            return False
        self.estimate = preflight.estimate(
            dataclasses.replace(self._inputs, dirty_rate=rate))
        self._report('Pre-flight estimate (%s, from its dirty rate): %s'
                     % (when, self.estimate.text), self.estimate.converges)
        return True


class LiveMigrationMixin:
    """Live migration methods of LibvirtDriver (see the module docstring).

    Uses the driver's ``_host``, ``_conf``, ``_require_namespaces``,
    ``check_local_vpmems``, ``_remove_guest``,
    ``_instance_resources`` and ``instance_exists``.
    """

    # Seconds between two jobStats reads of a running migration.
    live_migration_poll_interval = 0.5
    # Seconds between two saves of its progress; None takes
    # [compute]live_migration_progress_interval (tests set less).
    live_migration_progress_interval = None

    def __init__(self):
        super().__init__()
        self._running_migrations_lock = threading.Lock()
        # instance uuid -> MigrationMonitor of its running migration
        self._running_migrations = {}

    # -- destination ----------------------------------------------------------

    def check_can_live_migrate_destination(self, context, instance,
                                           block_migration):
        """Describe this host to the source; refuse a clashing domain."""
        self._require_namespaces('check a live migration')
        if self.instance_exists(instance):
            raise exception.MigrationPreCheckError(
                reason='instance %s already has a domain on destination %s '
                       '(%s)' % (instance.uuid, self._conf.host,
                                 self._host.uri))
        opts = self._conf.libvirt
        inbound = opts.live_migration_inbound_addr
        can_post_copy, post_copy_reason = self._host.post_copy_capability()
        return objects.LibvirtLiveMigrateData(
            dst_can_post_copy=can_post_copy,
            dst_post_copy_reason=post_copy_reason,
            # No shared instance directory, so no marker file to find.
            filename='',
            block_migration=bool(block_migration),
            disk_over_commit=None,
            disk_available_mb=self._local_gb() * 1024,
            is_shared_instance_path=False,
            is_shared_block_storage=False,
            supported_perf_events=[],
            target_connect_addr=inbound,
            target_libvirt_uri=own_libvirt_uri(
                self._host.uri, self._conf.host,
                scheme=opts.live_migration_scheme, inbound_addr=inbound))

    def pre_live_migration(self, context, instance, dest_resources,
                           migrate_data):
        """Check this host's namespaces for the guest; order them.

        ``dest_resources`` (this host's claim) are resolved through this
        host's namespaces only, ordered by the flavor's hw:pmem labels and
        compared, device by device, with the guest's own (the instance's
        resources): the size and alignment must be equal.
        ``migrate_data.dst_vpmems`` becomes this host's devices in the
        guest's order. Raises DestinationVPMEMMismatch.
        """
        local = self.match_vpmems(instance, dest_resources)
        migrate_data.dst_vpmems = [vpmem.copy_device(d) for d in local]
        LOG.info('Instance %s may arrive with persistent memory %s',
                 instance.uuid, _describe(local))
        return migrate_data

    def post_live_migration_at_destination(self, context, instance):
        """The guest runs here: persistent, and running unless its user
        paused it (force-complete may have paused it on the source)."""
        guest = self._host.get_guest(instance)
        if not guest.is_persistent():
            self._host.write_instance_config(
                guest.get_xml_desc(migratable=True))
        keep_paused = (instance.obj_attr_is_set('vm_state') and
                       instance.vm_state == vm_states.PAUSED)
        if (guest.is_active() and not keep_paused and
                guest.get_power_state() == power_state.PAUSED):
            guest.resume()
            LOG.info('Resumed instance %s on arrival (it was paused to '
                     'complete its migration)', instance.uuid)

    def rollback_live_migration_at_destination(self, context, instance):
        """Remove the incoming guest from this host.

        The namespaces it was given are erased by the resource tracker
        afterwards (only this host's claim, see erase_vpmems).
        """
        if (instance.obj_attr_is_set('host') and
                instance.host == self._conf.host):
            # The instance lives here: this is its source, not a
            # destination to clean.
            raise exception.InstanceInvalidState(
                instance_uuid=instance.uuid, attr='host',
                state=instance.host,
                method='roll back a live migration on its own host')
        self._remove_guest(instance)

    # -- source ---------------------------------------------------------------

    def live_migration(self, context, instance, dest, migration,
                       migrate_data, dest_resources, progress_callback=None):
        """Move the guest to ``dest``; blocks until the job ended.

        First the pre-flight estimate ([libvirt]live_migration_preflight),
        which may refuse the migration before anything is copied.

        Returns a LiveMigrationResult. Raises LiveMigrationAborted (abort
        request), LiveMigrationTimedOut (timeout with action abort) or
        LiveMigrationFailed; in each case the guest still runs here.
        ``progress_callback(progress dict)`` is called from this thread at
        every poll that read progress.
        """
        libvirt = self._host.libvirt
        try:
            guest, dest_uri, params, flags, settings = self._plan(
                instance, dest, migrate_data, dest_resources)
        except (exception.NovaException, libvirt.libvirtError,
                ET.ParseError) as exc:
            LOG.error('Live migration of %s to %s refused before the '
                      'start: %s', instance.uuid, dest, exc)
            raise exception.LiveMigrationFailed(
                instance_uuid=instance.uuid, reason=str(exc)) from exc
        # Before any byte is copied: may refuse (LiveMigrationFailed).
        estimate, late = self._preflight(context, instance, dest, guest,
                                         migrate_data, flags, settings)
        job = lm.MigrationThread(guest.domain, dest_uri, params, flags,
                                 name='live-migration-%s' % instance.uuid)
        monitor = lm.MigrationMonitor(guest, migration, instance.uuid,
                                      settings, job, progress_callback,
                                      stats_callback=late)
        with self._running_migrations_lock:
            if instance.uuid in self._running_migrations:
                raise exception.LiveMigrationFailed(
                    instance_uuid=instance.uuid,
                    reason='another live migration of it is running')
            self._running_migrations[instance.uuid] = monitor
        LOG.info('Live migration of %s to %s (%s) starts: flags %#x, '
                 'budget %.1f s (%s at timeout), downtime steps %s',
                 instance.uuid, dest, dest_uri, flags,
                 settings.completion_timeout, settings.timeout_action,
                 list(settings.downtime_steps))
        try:
            job.start()
            result = monitor.run()
        finally:
            with self._running_migrations_lock:
                self._running_migrations.pop(instance.uuid, None)
        result.dest_uri = dest_uri
        completed = self._completed_stats(instance, dest_uri)
        if completed:
            # Exact totals, also for a job that ended between two polls.
            result.take_stats(completed)
            result.progress = lm.final_progress(
                lm.progress_from_job_stats(completed))
            lm.record_progress(migration, result.progress)
        LOG.info('Live migration of %s to %s completed: %s', instance.uuid,
                 dest, result)
        if late is not None:
            late.finish(completed or monitor.last_stats)
            estimate = late.estimate
        if estimate is not None and result.time_elapsed_ms is not None:
            LOG.info('Live migration of %s to %s: predicted %s%.1f s in %d '
                     'passes, took %.1f s in %s iterations', instance.uuid,
                     dest, '' if estimate.inputs.rate_measured else
                     'at most ', estimate.seconds, estimate.iterations,
                     result.time_elapsed_ms / 1000.0, result.iterations)
        return result

    # -- pre-flight estimate -------------------------------------------------

    # Seconds over which the guest's dirty rate is measured (libvirt
    # accepts whole seconds, at least 1).
    preflight_sample_seconds = 1

    def _preflight(self, context, instance, dest, guest, migrate_data, flags,
                   settings):
        """``(estimate, late)``: whether the copy converges.

        ``refuse``: the dirty rate is sampled before the copy, and a
        migration predicted not to converge raises LiveMigrationFailed
        with the numbers. ``warn``: the estimate is made from the job's
        own dirty rate once its second pass is over, or at its end
        (``late``, a :class:`LateEstimate` for the monitor), so the copy
        does not wait for a sample. Either way it is logged (a warning
        when it is predicted not to converge) and recorded as the
        ``live_migration_preflight`` event of the server's action. A
        guest that converges whatever it dirties is estimated at once.
        ``(None, None)`` when not estimated.
        """
        opts = self._conf.libvirt
        mode = opts.live_migration_preflight
        if mode == preflight.MODE_OFF:
            return None, None
        inputs = self._preflight_inputs(instance, guest, migrate_data, flags,
                                        settings, 0.0)
        # A guest small enough converges whatever it dirties: no need to
        # wait out a dirty-rate sample for it (its time is a bound).
        estimate = preflight.converges_at_any_rate(inputs)
        if estimate is None and mode == preflight.MODE_WARN:
            return None, LateEstimate(
                lambda text, converges: self._report_preflight(
                    context, instance, dest, text, converges, refused=False),
                inputs)
        if estimate is None:
            # Measured to the end before the job starts, never beside it:
            # with QEMU 7.2 / libvirt 9.0 a dirty-rate sample still running
            # when the migration starts wedged the job (jobStats and
            # abortJob blocked until the guest was destroyed) in 3 of 6
            # runs of the integration tier's abort test.
            rate, why = self._measure_dirty_rate(guest)
            if rate is None:
                LOG.info('Live migration of %s to %s: no pre-flight '
                         'estimate: %s', instance.uuid, dest, why)
                return None, None
            estimate = preflight.estimate(
                dataclasses.replace(inputs, dirty_rate=rate))
        text = 'Pre-flight estimate: %s' % estimate.text
        refused = mode == preflight.MODE_REFUSE and not estimate.converges
        self._report_preflight(context, instance, dest, text,
                               estimate.converges, refused)
        if refused:
            # Verdict first: the server's fault keeps 255 characters.
            raise exception.LiveMigrationFailed(
                instance_uuid=instance.uuid,
                reason='refused by [libvirt]live_migration_preflight: %s. '
                       'Raise [libvirt]live_migration_bandwidth above the '
                       "guest's dirty rate, permit auto-converge, or "
                       'migrate it when it writes less' % estimate.text)
        return estimate, None

    def _report_preflight(self, context, instance, dest, text, converges,
                          refused):
        if converges:
            LOG.info('Live migration of %s to %s: %s', instance.uuid, dest,
                     text)
        else:
            LOG.warning('Live migration of %s to %s: %s', instance.uuid,
                        dest, text)
        self._record_preflight(context, instance, text, refused)

    def _preflight_inputs(self, instance, guest, migrate_data, flags,
                          settings, rate):
        libvirt = self._host.libvirt
        opts = self._conf.libvirt
        flavor = instance.flavor
        block = bool(migrate_data.obj_attr_is_set('block_migration') and
                     migrate_data.block_migration)
        disk_gb = ((flavor.root_gb or 0) + (flavor.ephemeral_gb or 0)
                   if block else 0)
        nvdimm_bytes = sum(lm.nvdimm_sizes(
            guest.get_xml_desc(migratable=True)))
        if not nvdimm_bytes:
            nvdimm_bytes = sum(r.metadata.size for r in vpmem.vpmem_resources(
                self._instance_resources(instance)))
        data = lm.data_gib(flavor.memory_mb, disk_gb, nvdimm_bytes) * lm.GiB
        try:
            domain_max = guest.domain.migrateGetMaxSpeed()
        except libvirt.libvirtError:
            domain_max = None
        bandwidth, assumed = preflight.bandwidth_in_force(
            opts.live_migration_bandwidth, domain_max,
            preflight.UNLIMITED_MIB, opts.live_migration_preflight_link_speed)
        return preflight.Inputs(
            data_bytes=int(data), dirty_rate=rate, bandwidth=bandwidth,
            downtime_steps=tuple(settings.downtime_steps) or (
                (0, opts.live_migration_downtime),),
            auto_converge=bool(flags & libvirt.VIR_MIGRATE_AUTO_CONVERGE),
            completion_timeout=settings.completion_timeout,
            bandwidth_assumed=assumed)

    def _measure_dirty_rate(self, guest):
        """``(bytes/s, None)``, or ``(None, why not)``."""
        libvirt = self._host.libvirt
        group = getattr(libvirt, 'VIR_DOMAIN_STATS_DIRTYRATE', None)
        domain = guest.domain
        if group is None or not hasattr(domain, 'startDirtyRateCalc'):
            return None, ('this libvirt cannot measure a dirty rate '
                          '(libvirt >= 7.2 needed)')
        seconds = self.preflight_sample_seconds
        try:
            domain.startDirtyRateCalc(seconds)
            deadline = time.monotonic() + seconds + 5
            time.sleep(seconds)
            while True:
                [(_dom, stats)] = domain.connect().domainListGetStats(
                    [domain], group)
                rate = preflight.dirty_rate_from_stats(stats)
                if rate is not None:
                    return rate, None
                if time.monotonic() > deadline:
                    return None, ('the dirty rate was not measured within '
                                  '%d s' % (seconds + 5))
                time.sleep(0.1)
        except libvirt.libvirtError as exc:
            return None, 'the hypervisor cannot measure the dirty rate: ' \
                '%s' % exc

    def _record_preflight(self, context, instance, text, refused):
        """The estimate as the ``live_migration_preflight`` event of the
        server's live-migration action (details: microversion 2.84)."""
        try:
            objects.InstanceActionEvent.event_record(
                context, instance.uuid, PREFLIGHT_EVENT,
                actions.ERROR if refused else actions.SUCCESS,
                host=self._conf.host, details=text,
                fallback_action=actions.LIVE_MIGRATION)
        except Exception as exc:
            # The estimate is in the log; the migration does not depend on
            # the event.
            LOG.warning('Could not record the pre-flight estimate of %s: '
                        '%s', instance.uuid, exc)

    def _plan(self, instance, dest, migrate_data, dest_resources):
        """(guest, dest URI, params, flags, MonitorSettings) or raise."""
        libvirt = self._host.libvirt
        opts = self._conf.libvirt
        guest = self._host.get_guest(instance)
        labels = hardware.get_vpmem_labels(instance.flavor)
        source_resources = vpmem.vpmem_resources(
            self._instance_resources(instance))
        xml = guest.get_xml_desc(migratable=True)
        nvdimm_bytes = sum(lm.nvdimm_sizes(xml))
        dest_devices = self._dest_devices(labels, dest_resources,
                                          migrate_data)
        dest_xml = lm.update_vpmem_xml(xml, dest_devices)
        has_vpmem = bool(nvdimm_bytes or source_resources)
        block = bool(migrate_data.obj_attr_is_set('block_migration') and
                     migrate_data.block_migration)
        source_ok, source_why, dest_ok, dest_why = self._post_copy_hosts(
            dest, migrate_data,
            opts.live_migration_permit_post_copy and not has_vpmem)
        flags = lm.migration_flags(
            libvirt, has_vpmem, opts.live_migration_permit_post_copy,
            opts.live_migration_permit_auto_converge,
            opts.live_migration_tunnelled,
            opts.live_migration_parallel_connections,
            block_migration=block, source_can_post_copy=source_ok,
            dest_can_post_copy=dest_ok)
        fallback = lm.post_copy_fallback_warning(
            opts.live_migration_permit_post_copy, has_vpmem,
            opts.live_migration_permit_auto_converge,
            source_reason=None if source_ok else '%s (%s)' % (
                self._conf.host, source_why),
            dest_reason=None if dest_ok else '%s (%s)' % (dest, dest_why))
        if fallback:
            LOG.warning('Live migration of %s to %s: %s', instance.uuid,
                        dest, fallback)
        dest_uri = self._dest_uri(dest, migrate_data)
        inbound = (migrate_data.target_connect_addr
                   if migrate_data.obj_attr_is_set('target_connect_addr')
                   else None)
        migrate_uri, listen = migration_stream_address(
            dest_uri, inbound, opts.live_migration_tunnelled)
        params = lm.build_params(libvirt, dest_xml,
                                 opts.live_migration_bandwidth, migrate_uri,
                                 listen, lm.stream_connections(
                                     opts.live_migration_tunnelled,
                                     opts.live_migration_parallel_connections))
        flavor = instance.flavor
        disk_gb = (flavor.root_gb or 0) + (flavor.ephemeral_gb or 0) \
            if block else 0
        vpmem_bytes = nvdimm_bytes or sum(r.metadata.size
                                          for r in source_resources)
        gib = lm.data_gib(flavor.memory_mb, disk_gb, vpmem_bytes)
        settings = lm.MonitorSettings(
            completion_timeout=lm.completion_timeout(
                opts.live_migration_completion_timeout, gib),
            timeout_action=opts.live_migration_timeout_action,
            downtime_steps=tuple(lm.downtime_steps(
                opts.live_migration_downtime,
                opts.live_migration_downtime_steps,
                opts.live_migration_downtime_delay, gib)),
            progress_interval=(
                self.live_migration_progress_interval or
                self._conf.compute.live_migration_progress_interval),
            poll_interval=self.live_migration_poll_interval,
            post_copy=bool(flags & libvirt.VIR_MIGRATE_POSTCOPY),
            has_vpmem=has_vpmem)
        return guest, dest_uri, params, flags, settings

    def _post_copy_hosts(self, dest, migrate_data, wanted):
        """(source can, why, destination can, why) for post-copy.

        Asked only when post-copy is ``wanted`` (permitted, no vpmem). The
        destination answered in its checks; an older one did not, and is
        treated as unable (its failure would end the migration).
        """
        if not wanted:
            return True, None, True, None
        source_ok, source_why = self._host.post_copy_capability()
        if (migrate_data.obj_attr_is_set('dst_can_post_copy') and
                migrate_data.dst_can_post_copy is not None):
            dest_ok = migrate_data.dst_can_post_copy
            dest_why = (migrate_data.dst_post_copy_reason
                        if migrate_data.obj_attr_is_set(
                            'dst_post_copy_reason') else None)
        else:
            dest_ok, dest_why = False, ('it did not say whether it can: '
                                        'an older release')
        return source_ok, source_why, dest_ok, dest_why or 'unknown'

    def _dest_devices(self, labels, dest_resources, migrate_data):
        """The destination's devices in the guest's order.

        From the claim (``dest_resources``) ordered by the labels; what
        the destination reported (``dst_vpmems``) must name the same
        namespaces, or the two hosts disagree about the claim.
        """
        reported = list(migrate_data.dst_vpmems) if migrate_data.has_vpmems \
            else []
        claimed = vpmem.vpmem_resources(dest_resources)
        if not claimed:
            return reported
        ordered = [r.metadata for r in vpmem.order_vpmems(claimed, labels)]
        if reported and sorted(map(_device_key, reported)) != sorted(
                map(_device_key, ordered)):
            raise exception.DestinationVPMEMMismatch(
                reason='the destination reported namespaces %s, its claim '
                       'holds %s' % (_describe(reported), _describe(ordered)))
        return ordered

    def _dest_uri(self, dest, migrate_data):
        if (migrate_data.obj_attr_is_set('target_libvirt_uri') and
                migrate_data.target_libvirt_uri):
            return migrate_data.target_libvirt_uri
        addr = (migrate_data.target_connect_addr
                if migrate_data.obj_attr_is_set('target_connect_addr')
                else None)
        return derive_dest_uri(self._host.uri, dest,
                                  scheme=self._conf.libvirt
                                  .live_migration_scheme, dest_addr=addr)

    def _completed_stats(self, instance, dest_uri):
        """The destination's final job stats (the source domain is gone).

        Read only where opening the destination's URI is safe from this
        process: emulated hosts and daemons of this machine (unix
        sockets). A remote daemon may need credentials this service does
        not hold; the monitor's last reading then stands.
        """
        if not (is_emulated_uri(dest_uri) or is_local_socket_uri(dest_uri)):
            return None
        libvirt = self._host.libvirt
        try:
            conn = libvirt.open(dest_uri)
            try:
                domain = conn.lookupByUUIDString(instance.uuid)
                stats = domain.jobStats(
                    libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED |
                    libvirt.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED)
            finally:
                conn.close()
        except libvirt.libvirtError as exc:
            LOG.debug('No completed job stats for %s at %s: %s',
                      instance.uuid, dest_uri, exc)
            return None
        if stats.get('type') != libvirt.VIR_DOMAIN_JOB_COMPLETED:
            return None
        return stats

    def _running_migration(self, instance):
        with self._running_migrations_lock:
            monitor = self._running_migrations.get(instance.uuid)
        if monitor is None:
            raise exception.InstanceNotInMigration(
                instance_uuid=instance.uuid)
        return monitor

    def live_migration_abort(self, instance):
        """Ask the running migration of ``instance`` to abort.

        Raises InstanceNotInMigration when none runs here, and
        LiveMigrationNotAbortable once it switched to post-copy. The
        migrating call then raises LiveMigrationAborted.
        """
        self._running_migration(instance).request_abort()

    def live_migration_force_complete(self, instance):
        """Make the running migration finish: post-copy for a guest
        migrating with it, otherwise (always for vpmem) pause the guest."""
        self._running_migration(instance).request_force_complete()

    def post_live_migration_at_source(self, context, instance):
        """The guest left: no domain may stay here.

        Its namespaces are erased by the resource tracker afterwards.
        """
        if self.instance_exists(instance):
            LOG.warning('Instance %s still has a domain on its source %s '
                        'after its migration; removing it', instance.uuid,
                        self._conf.host)
            self._remove_guest(instance)

    # -- recovery ------------------------------------------------------------

    def guest_state(self, instance):
        """``{'power_state': ..., 'migration_job': 'in' | 'out' | None}``.

        What the hypervisor says about the instance's guest here, for the
        recovery of a move whose service stopped: whether it runs, and
        whether libvirt still migrates it.
        """
        libvirt = self._host.libvirt
        state = self.get_info(instance).state
        job = None
        try:
            stats = self._host.get_guest(instance).domain.jobStats()
        except (exception.InstanceNotFound, libvirt.libvirtError):
            stats = {}
        if stats.get('type') not in (None, libvirt.VIR_DOMAIN_JOB_NONE):
            incoming = (stats.get(libvirt.VIR_DOMAIN_JOB_OPERATION) ==
                        libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN)
            job = 'in' if incoming else 'out'
        return {'power_state': state, 'migration_job': job}

    def abort_stray_migration(self, instance, timeout=30.0):
        """Abort an outgoing migration job nothing here watches any more.

        Left by a service that stopped while libvirt migrated the guest;
        once aborted the guest keeps running here. Returns True when no
        job runs any more (within ``timeout`` seconds).
        """
        with self._running_migrations_lock:
            if instance.uuid in self._running_migrations:
                return False  # ours, watched by its monitor
        libvirt = self._host.libvirt
        try:
            self._host.get_guest(instance).domain.abortJob()
            LOG.warning('Aborted the migration job of instance %s that no '
                        'service watched any more', instance.uuid)
        except exception.InstanceNotFound:
            return True
        except libvirt.libvirtError as exc:
            LOG.info('No migration job of instance %s to abort: %s',
                     instance.uuid, exc)
        deadline = time.monotonic() + timeout
        while self.guest_state(instance)['migration_job'] == 'out':
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True
