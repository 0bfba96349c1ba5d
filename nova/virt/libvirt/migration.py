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

"""Live migration on libvirt: what to send, and watching it run.

The first half is pure functions (no libvirt connection), each with the
one decision it makes:

* ``update_vpmem_xml``: the destination XML, each ``<memory
  model='nvdimm'>`` pointed at its destination namespace, refused unless
  the namespace has the guest device's size and alignment;
* ``migration_flags``: post-copy is never asked for a guest with vpmem
  (QEMU cannot post-copy file-backed memory), nor when either host
  cannot use userfaultfd (``use_post_copy``,
  ``post_copy_fallback_warning``), auto-converge stays available to
  them; ``stream_connections``: no parallel connections
  through a tunnel (libvirt refuses them);
* ``data_gib``, ``completion_timeout``, ``downtime_steps``: time budgets
  that count guest RAM, local disk AND vpmem;
* ``progress_from_job_stats`` and ``build_params``.

The second half is the monitor, which runs in the thread that called the
driver while ``migrateToURI3`` blocks in a worker thread
(:class:`MigrationThread`): progress into the Migration record, downtime
steps, the completion timeout, abort and force-complete requests.
"""

import dataclasses
import io
import re
import threading
import time
import xml.etree.ElementTree as ET

from oslo_log import log as logging

from nova.compute import power_state
from nova import exception

LOG = logging.getLogger(__name__)

KiB = 1024
GiB = 1024 ** 3

# libvirt's size units (virScaleInteger); a bare number is KiB.
_UNITS = {
    'b': 1, 'bytes': 1,
    'KB': 1000, 'k': KiB, 'K': KiB, 'KiB': KiB,
    'MB': 1000 ** 2, 'M': KiB ** 2, 'MiB': KiB ** 2,
    'GB': 1000 ** 3, 'G': KiB ** 3, 'GiB': KiB ** 3,
    'TB': 1000 ** 4, 'T': KiB ** 4, 'TiB': KiB ** 4,
}
# ndctl's devdax character devices; anything else is a plain file.
DEVDAX_PREFIX = '/dev/dax'

TIMEOUT_ACTION_ABORT = 'abort'
TIMEOUT_ACTION_FORCE_COMPLETE = 'force_complete'


# -- the destination XML --------------------------------------------------

def _mismatch(reason):
    return exception.DestinationVPMEMMismatch(reason=reason)


def _kib(elem, index, what):
    """KiB held by a size element, rounded up as libvirt stores it."""
    unit = elem.get('unit', 'KiB')
    factor = _UNITS.get(unit)
    text = (elem.text or '').strip()
    if factor is None or not text.isdigit():
        raise _mismatch('nvdimm %d of the guest has an unreadable %s '
                        '(%r %s)' % (index, what, text, unit))
    return -(-int(text) * factor // KiB)


def _parse_keeping_prefixes(xml_text):
    # ElementTree renames namespace prefixes it was not told about
    # (nova:instance -> ns0:instance); tell it the document's own.
    for _event, (prefix, uri) in ET.iterparse(io.StringIO(xml_text),
                                              events=('start-ns',)):
        if prefix and not re.match(r'ns\d+$', prefix):
            ET.register_namespace(prefix, uri)
    return ET.fromstring(xml_text)


def nvdimm_elements(root):
    """The ``<memory model='nvdimm'>`` elements of a domain, in order.

    Other memory devices (plain dimms) are not counted: counting every
    ``<memory>`` would give the nth nvdimm the wrong namespace.
    """
    return [m for m in root.findall('./devices/memory')
            if m.get('model') == 'nvdimm']


def nvdimm_sizes(xml_text):
    """Bytes of each nvdimm of a domain XML (its target size), in order."""
    root = ET.fromstring(xml_text)
    sizes = []
    for index, memory in enumerate(nvdimm_elements(root)):
        size = memory.find('./target/size')
        sizes.append(0 if size is None else
                     _kib(size, index, 'target size') * KiB)
    return sizes


def is_devdax(device):
    return (device.devpath or '').startswith(DEVDAX_PREFIX)


def update_vpmem_xml(xml_text, dest_devices, devdax=None):
    """The destination XML: nvdimm i backed by ``dest_devices[i]``.

    ``xml_text`` is the source's MIGRATABLE XML; ``dest_devices`` are the
    destination's LibvirtVPMEMDevice records in the guest's device order.
    Only ``source/path`` changes. Refused (DestinationVPMEMMismatch) when
    the counts differ, when a namespace's size or alignment is not the
    guest device's (QEMU would map it wrongly or libvirt refuse it after
    the destination started), or when ``<pmem/>`` would have to change:
    it is right only on a devdax namespace (``devdax``, or inferred per
    device from a ``/dev/dax`` path), and libvirt refuses a destination
    whose pmem flag differs from the source's.
    """
    root = _parse_keeping_prefixes(xml_text)
    nvdimms = nvdimm_elements(root)
    dest_devices = list(dest_devices or ())
    if len(nvdimms) != len(dest_devices):
        raise _mismatch('the guest has %d nvdimm device(s), the destination '
                        'offers %d namespace(s) (%s)'
                        % (len(nvdimms), len(dest_devices),
                           ', '.join(d.name for d in dest_devices) or
                           'none'))
    for index, (memory, device) in enumerate(zip(nvdimms, dest_devices,
                                                 strict=True)):
        _check_fits(index, memory, device)
        wants_pmem = is_devdax(device) if devdax is None else bool(devdax)
        source = memory.find('source')
        has_pmem = source.find('pmem') is not None
        if has_pmem != wants_pmem:
            raise _mismatch(
                'nvdimm %d of the guest %s <pmem/>, but destination '
                'namespace %s (%s) is %s; libvirt refuses a destination '
                'whose pmem flag differs from the source'
                % (index, 'has' if has_pmem else 'lacks', device.name,
                   device.devpath,
                   'devdax' if wants_pmem else 'not devdax'))
        path = source.find('path')
        if path is None:
            path = ET.SubElement(source, 'path')
        path.text = device.devpath
    return ET.tostring(root, encoding='unicode')


def _check_fits(index, memory, device):
    size_elem = memory.find('./target/size')
    source = memory.find('source')
    if size_elem is None or source is None:
        raise _mismatch('nvdimm %d of the guest has no %s' % (
            index, 'target size' if size_elem is None else '<source>'))
    guest_kib = _kib(size_elem, index, 'target size')
    if device.size // KiB != guest_kib:
        raise _mismatch('nvdimm %d of the guest is %d KiB, destination '
                        'namespace %s (%s) is %d KiB'
                        % (index, guest_kib, device.name, device.devpath,
                           device.size // KiB))
    align_elem = source.find('alignsize')
    if align_elem is None:
        # Our guests always state it; without it QEMU picks one we cannot
        # check a namespace against.
        raise _mismatch('nvdimm %d of the guest states no alignsize, so '
                        'namespace %s (align %d KiB) cannot be checked '
                        'against it' % (index, device.name,
                                        device.align // KiB))
    guest_align_kib = _kib(align_elem, index, 'alignsize')
    if device.align // KiB != guest_align_kib:
        raise _mismatch('nvdimm %d of the guest is aligned to %d KiB, '
                        'destination namespace %s (%s) to %d KiB'
                        % (index, guest_align_kib, device.name,
                           device.devpath, device.align // KiB))


# -- flags and parameters ---------------------------------------------------

def stream_connections(tunnelled, parallel_connections):
    """Connections that carry the migration stream.

    One when tunnelled, whatever was configured: the stream then goes
    through the libvirt connection, and libvirt refuses
    VIR_MIGRATE_PARALLEL with VIR_MIGRATE_TUNNELLED.
    """
    if tunnelled:
        return 1
    return max(int(parallel_connections or 1), 1)


def use_post_copy(permit_post_copy, has_vpmem, source_can_post_copy=True,
                  dest_can_post_copy=True):
    """Whether to ask for post-copy: permitted, no vpmem, both hosts able.

    QEMU sets the postcopy-ram capability on both ends when the migration
    starts and fails the whole migration if either end cannot use
    userfaultfd, so one host unable is enough to leave it out.
    """
    return bool(permit_post_copy and not has_vpmem and
                source_can_post_copy and dest_can_post_copy)


def post_copy_fallback_warning(permit_post_copy, has_vpmem,
                               permit_auto_converge, source_reason=None,
                               dest_reason=None):
    """The warning of a migration that falls back from post-copy, or None.

    ``source_reason``/``dest_reason`` say why that host cannot post-copy
    (None: it can). None when post-copy was not permitted, or left out for
    vpmem (that is the rule, not a host problem), or both hosts can.
    """
    if not permit_post_copy or has_vpmem or not (source_reason or
                                                 dest_reason):
        return None
    why = '; '.join('%s: %s' % (side, reason) for side, reason in
                    (('source', source_reason),
                     ('destination', dest_reason)) if reason)
    mode = ('pre-copy with auto-converge' if permit_auto_converge
            else 'plain pre-copy ([libvirt]live_migration_permit_'
                 'auto_converge is False)')
    return ('[libvirt]live_migration_permit_post_copy is True but post-copy '
            'is not possible (%s); migrating with %s instead. To make '
            'post-copy possible set the sysctl vm.unprivileged_userfaultfd '
            '= 1 on the host(s) named, or give QEMU (8.1 or later) access '
            'to /dev/userfaultfd; to silence this warning set [libvirt]'
            'live_migration_permit_post_copy = False.' % (why, mode))


def migration_flags(libvirt_module, has_vpmem, permit_post_copy,
                    permit_auto_converge, tunnelled, parallel_connections,
                    block_migration=False, source_can_post_copy=True,
                    dest_can_post_copy=True):
    """The VIR_MIGRATE_* flags of one live migration.

    POSTCOPY is left out for a vpmem guest even when permitted: sending it
    makes QEMU refuse file-backed memory, and the monitor could not use
    it anyway. It is also left out when either host cannot post-copy
    (see ``use_post_copy``). AUTO_CONVERGE is kept exactly when POSTCOPY
    is not set (libvirt does not combine them), so a vpmem guest and a
    migration that fell back to pre-copy keep it.
    """
    lv = libvirt_module
    flags = (lv.VIR_MIGRATE_LIVE | lv.VIR_MIGRATE_PEER2PEER |
             lv.VIR_MIGRATE_PERSIST_DEST | lv.VIR_MIGRATE_UNDEFINE_SOURCE)
    if tunnelled:
        flags |= lv.VIR_MIGRATE_TUNNELLED
    if stream_connections(tunnelled, parallel_connections) > 1:
        flags |= lv.VIR_MIGRATE_PARALLEL
    if block_migration:
        flags |= lv.VIR_MIGRATE_NON_SHARED_INC
    if use_post_copy(permit_post_copy, has_vpmem, source_can_post_copy,
                     dest_can_post_copy):
        flags |= lv.VIR_MIGRATE_POSTCOPY
    if permit_auto_converge and not flags & lv.VIR_MIGRATE_POSTCOPY:
        flags |= lv.VIR_MIGRATE_AUTO_CONVERGE
    return flags


def build_params(libvirt_module, dest_xml, bandwidth_mib, migrate_uri=None,
                 listen_address=None, parallel_connections=1):
    """The typed parameters of migrateToURI3."""
    lv = libvirt_module
    params = {lv.VIR_MIGRATE_PARAM_DEST_XML: dest_xml,
              lv.VIR_MIGRATE_PARAM_PERSIST_XML: dest_xml}
    if bandwidth_mib and bandwidth_mib > 0:
        params[lv.VIR_MIGRATE_PARAM_BANDWIDTH] = int(bandwidth_mib)
    if migrate_uri:
        params[lv.VIR_MIGRATE_PARAM_URI] = migrate_uri
    if listen_address:
        params[lv.VIR_MIGRATE_PARAM_LISTEN_ADDRESS] = listen_address
    if parallel_connections and parallel_connections > 1:
        params[lv.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS] = int(
            parallel_connections)
    return params


# -- budgets ------------------------------------------------------------------

def data_gib(memory_mb, disk_gb, vpmem_bytes):
    """GiB a migration moves: RAM + local disk (block migration) + vpmem.

    QEMU sends nvdimm contents as guest memory, so a vpmem namespace costs
    as much time as the same amount of RAM.
    """
    return (max(memory_mb or 0, 0) / 1024.0 + max(disk_gb or 0, 0) +
            max(vpmem_bytes or 0, 0) / float(GiB))


def completion_timeout(seconds_per_gib, data_gib):
    """Seconds the migration may run; 0 means no limit."""
    if not seconds_per_gib or seconds_per_gib <= 0:
        return 0
    return seconds_per_gib * max(data_gib, 0)


def downtime_steps(max_downtime_ms, steps, delay_per_gib, data_gib):
    """``[(seconds after start, max downtime ms)]``, growing to the max.

    Formula: ``steps`` entries k = 0..steps-1 at ``k * delay_per_gib *
    data_gib`` seconds allowing ``ceil(max_downtime_ms * (k + 1) / steps)``
    ms. The first pass starts at a tenth (for 10 steps) of the allowed
    pause; each later step waits as long as moving the guest's data once
    takes at the configured pace, so a bigger guest (vpmem included) gets
    proportionally more passes at each downtime before it is raised. The
    last entry is exactly ``max_downtime_ms``.
    """
    steps = max(int(steps or 1), 1)
    interval = max(delay_per_gib or 0, 0) * max(data_gib or 0, 0)
    return [(k * interval, -(-int(max_downtime_ms) * (k + 1) // steps))
            for k in range(steps)]


# -- progress -----------------------------------------------------------------

PROGRESS_FIELDS = ('memory_total', 'memory_processed', 'memory_remaining',
                   'disk_total', 'disk_processed', 'disk_remaining')


def progress_from_job_stats(stats):
    """Migration progress fields (bytes) from a jobStats() dict.

    ``memory_*`` include vpmem: libvirt reports nvdimm pages as guest
    memory. A libvirt without memory_* keys gives data_* minus disk_*.
    """
    stats = stats or {}
    progress = {}
    for kind in ('total', 'processed', 'remaining'):
        disk = int(stats.get('disk_' + kind) or 0)
        memory = stats.get('memory_' + kind)
        if memory is None:
            memory = max(int(stats.get('data_' + kind) or 0) - disk, 0)
        progress['memory_' + kind] = int(memory)
        progress['disk_' + kind] = disk
    return progress


def final_progress(progress):
    """Progress of a completed job: nothing remains, all sent once."""
    final = dict(progress, memory_remaining=0, disk_remaining=0)
    final['memory_processed'] = max(final.get('memory_processed', 0),
                                    final.get('memory_total', 0))
    final['disk_processed'] = max(final.get('disk_processed', 0),
                                  final.get('disk_total', 0))
    return final


def record_progress(migration, progress):
    """Set the progress fields of a Migration (not saved)."""
    if migration is None:
        return
    for name, value in progress.items():
        if _field(migration, name) != value:
            setattr(migration, name, value)


def _field(record, name):
    # An unset field of a versioned object would lazy-load (and fail).
    is_set = getattr(record, 'obj_attr_is_set', None)
    if is_set is not None and not is_set(name):
        return None
    return getattr(record, name, None)


# -- running it ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MonitorSettings:
    """What the monitor enforces, decided by the driver before the start."""

    completion_timeout: float = 0         # seconds; 0: none
    timeout_action: str = TIMEOUT_ACTION_ABORT
    downtime_steps: tuple = ()            # ((seconds, ms), ...)
    progress_interval: float = 5.0        # seconds between migration.save()
    poll_interval: float = 0.5            # seconds between jobStats reads
    post_copy: bool = False               # started with VIR_MIGRATE_POSTCOPY
    has_vpmem: bool = False


@dataclasses.dataclass
class LiveMigrationResult:
    """How a successful live migration went (for logs and demos)."""

    flags: int = 0
    dest_uri: str = None
    paused_to_complete: bool = False      # force-complete paused the guest
    post_copy_started: bool = False
    time_elapsed_ms: int = None
    downtime_ms: int = None
    data_total: int = None                # bytes
    data_processed: int = None
    iterations: int = None
    memory_bps: int = None
    progress: dict = dataclasses.field(default_factory=dict)

    def take_stats(self, stats):
        """Fill the numbers from a jobStats() dict (missing keys kept)."""
        for attr, key in (('time_elapsed_ms', 'time_elapsed'),
                          ('downtime_ms', 'downtime'),
                          ('data_total', 'data_total'),
                          ('data_processed', 'data_processed'),
                          ('iterations', 'memory_iteration'),
                          ('memory_bps', 'memory_bps')):
            if stats.get(key) is not None:
                setattr(self, attr, int(stats[key]))


def _spawn_daemon(func, *args):
    threading.Thread(target=func, args=args, daemon=True,
                     name='migration-downtime').start()


class MigrationThread:
    """``migrateToURI3`` in a worker thread; it blocks until the job ends."""

    def __init__(self, domain, dest_uri, params, flags, name='migration'):
        self.domain = domain
        self.dest_uri = dest_uri
        self.params = params
        self.flags = flags
        self.error = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=name)

    def start(self):
        self._thread.start()

    def _run(self):
        try:
            self.domain.migrateToURI3(self.dest_uri, self.params, self.flags)
        except BaseException as exc:  # reported to the monitor, not lost
            self.error = exc
        finally:
            self._done.set()

    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        return self._done.wait(timeout)


class MigrationMonitor:
    """Watches one running migration from the calling thread.

    ``guest`` is the source Guest (its ``domain`` and ``libvirt`` are
    used), ``job`` a started MigrationThread (or anything with ``done()``,
    ``wait(timeout)``, ``error`` and ``flags``). ``clock`` and ``wait``
    are injectable so tests need no real time; ``wait(seconds)`` defaults
    to the job's, which returns early when the job ends.

    ``request_abort`` and ``request_force_complete`` may be called from
    any thread; they are acted on at the next poll.
    """

    def __init__(self, guest, migration, instance_uuid, settings, job,
                 progress_callback=None, clock=time.monotonic, wait=None,
                 spawn=None, stats_callback=None):
        self.guest = guest
        self.domain = guest.domain
        self.libvirt = guest.libvirt
        self.migration = migration
        self.instance_uuid = instance_uuid
        self.settings = settings
        self.job = job
        self.progress_callback = progress_callback
        # Given each jobStats() record until it returns True (warn mode's
        # pre-flight estimate from the job's own dirty rate).
        self.stats_callback = stats_callback
        self._clock = clock
        self._wait = wait or job.wait
        # Downtime changes run beside the loop (see _apply_downtime).
        self._spawn = spawn or _spawn_daemon
        self._downtime_busy = threading.Event()
        self._lock = threading.Lock()
        self._abort = threading.Event()
        self._force = threading.Event()
        self._abort_cause = None      # 'request' or 'timeout'
        self._abort_sent = False
        self._forced = False
        self._timed_out = False
        self._job_seen = False
        self._pending_steps = sorted(settings.downtime_steps)
        self._last_save = None
        self._broken = False
        self.post_copy_started = False
        self.paused_by_us = False
        self.last_stats = {}
        self.progress = {}
        self.saves = 0

    # -- requests (any thread) ----------------------------------------------

    def request_abort(self):
        with self._lock:
            if self.post_copy_started:
                raise exception.LiveMigrationNotAbortable(
                    instance_uuid=self.instance_uuid,
                    reason='it switched to post-copy: the guest already runs '
                           'on the destination')
            if self._abort_cause is None:
                self._abort_cause = 'request'
            self._abort.set()
        LOG.info('Abort of the live migration of %s requested',
                 self.instance_uuid)

    def request_force_complete(self):
        self._force.set()
        LOG.info('Force-complete of the live migration of %s requested',
                 self.instance_uuid)

    # -- the loop -------------------------------------------------------------

    def run(self):
        """Watch until the job ends; the result, or raise its failure."""
        start = self._clock()
        while True:
            finished = self.job.done()
            elapsed = self._clock() - start
            if not self._broken:
                try:
                    self._poll(elapsed, finished)
                except Exception:
                    # A monitor bug must not orphan the job: keep waiting
                    # for its end, just without steering it.
                    LOG.exception('Monitoring the live migration of %s '
                                  'failed; waiting for it to end unwatched',
                                  self.instance_uuid)
                    self._broken = True
            if finished:
                break
            self._wait(self.settings.poll_interval)
        return self._finish()

    def _poll(self, elapsed, finished):
        stats = self._read_stats()
        if stats:
            self._record(stats)
        if finished:
            return
        if not self._job_seen:
            # abortJob / post-copy / pause before libvirt started the job
            # would be refused or lost; requests wait for it. The budget
            # still runs: a job that never shows up is aborted at it.
            self._check_timeout(elapsed)
            return
        if self._abort.is_set():
            self._send_abort()
        elif self._force.is_set():
            self._force_complete('requested')
        self._check_timeout(elapsed)
        if self.progress and not self._abort_sent:
            # Only once data flows: before that the source libvirtd is
            # still setting up the destination.
            self._apply_downtime(elapsed)

    def _read_stats(self):
        try:
            stats = self.domain.jobStats()
        except self.libvirt.libvirtError as exc:
            # Gone or shut off: the job just ended, the next poll sees it.
            LOG.debug('jobStats of %s: %s', self.instance_uuid, exc)
            return None
        if stats.get('type', self.libvirt.VIR_DOMAIN_JOB_NONE) == \
                self.libvirt.VIR_DOMAIN_JOB_NONE:
            return None
        self._job_seen = True
        return stats

    def _record(self, stats):
        self.last_stats = dict(stats)
        if self.stats_callback is not None:
            try:
                done = self.stats_callback(dict(stats))
            except Exception:
                LOG.exception('Stats callback of the live migration of %s '
                              'failed', self.instance_uuid)
                done = True
            if done:
                self.stats_callback = None
        progress = progress_from_job_stats(stats)
        if not progress['memory_total'] and not progress['disk_total']:
            return  # the destination is still starting: all zeros
        self.progress = progress
        if self.migration is not None:
            record_progress(self.migration, progress)
            now = self._clock()
            if (self._last_save is None or
                    now - self._last_save >= self.settings.progress_interval):
                self._last_save = now
                self._save()
        if self.progress_callback is not None:
            try:
                self.progress_callback(dict(progress))
            except Exception:
                LOG.exception('Progress callback of the live migration of '
                              '%s failed', self.instance_uuid)

    def _save(self):
        try:
            self.migration.save()
            self.saves += 1
        except Exception as exc:
            # Progress is informative; the migration goes on without it.
            LOG.warning('Could not save the progress of the live migration '
                        'of %s: %s', self.instance_uuid, exc)

    def _apply_downtime(self, elapsed):
        # A downtime change has been seen to block for minutes on real
        # QEMU (session-mode libvirt, loaded host) while the copy runs;
        # made from the loop, it held up abort, progress and the budget.
        # So it runs beside the loop, one at a time: a later step waits
        # for the call before it.
        if self._downtime_busy.is_set():
            return
        due = None
        while self._pending_steps and self._pending_steps[0][0] <= elapsed:
            due = self._pending_steps.pop(0)
        if due is None:
            return
        self._downtime_busy.set()
        self._spawn(self._set_downtime, due[1], elapsed)

    def _set_downtime(self, downtime_ms, elapsed):
        try:
            self.domain.migrateSetMaxDowntime(downtime_ms, 0)
            LOG.debug('Live migration of %s: max downtime %d ms after '
                      '%.1f s', self.instance_uuid, downtime_ms, elapsed)
        except self.libvirt.libvirtError as exc:
            LOG.warning('Could not set the max downtime of the live '
                        'migration of %s to %d ms: %s',
                        self.instance_uuid, downtime_ms, exc)
        finally:
            self._downtime_busy.clear()

    def _check_timeout(self, elapsed):
        budget = self.settings.completion_timeout
        if self._timed_out or not budget or elapsed <= budget:
            return
        self._timed_out = True
        action = self.settings.timeout_action
        LOG.warning('Live migration of %s still runs after %.1f s (budget '
                    '%.1f s); action: %s', self.instance_uuid, elapsed,
                    budget, action)
        if action == TIMEOUT_ACTION_FORCE_COMPLETE:
            self._force_complete('timeout')
            return
        with self._lock:
            if self.post_copy_started:
                return  # the guest runs on the destination: let it finish
            if self._abort_cause is None:
                self._abort_cause = 'timeout'
            self._abort.set()
        self._send_abort()

    def _send_abort(self):
        if self._abort_sent:
            return
        try:
            self.domain.abortJob()
        except self.libvirt.libvirtError as exc:
            # Retried at the next poll; the job may also just have ended.
            LOG.warning('abortJob for the live migration of %s failed: %s',
                        self.instance_uuid, exc)
            return
        self._abort_sent = True

    def _force_complete(self, why):
        if self._forced:
            return
        self._forced = True
        if self.settings.post_copy and not self.settings.has_vpmem:
            try:
                with self._lock:
                    self.domain.migrateStartPostCopy(0)
                    self.post_copy_started = True
                LOG.info('Live migration of %s switched to post-copy (%s)',
                         self.instance_uuid, why)
                return
            except self.libvirt.libvirtError as exc:
                LOG.warning('Post-copy switch of %s failed (%s); pausing '
                            'the guest instead', self.instance_uuid, exc)
        # No post-copy (vpmem guest, or not permitted): a paused guest
        # dirties nothing, so the copy converges.
        try:
            if self.guest.get_power_state() == power_state.PAUSED:
                return  # paused already (by its user): not ours to resume
            self.guest.pause()
            self.paused_by_us = True
            LOG.info('Paused instance %s so its live migration completes '
                     '(%s)', self.instance_uuid, why)
        except self.libvirt.libvirtError as exc:
            LOG.warning('Could not pause instance %s to complete its live '
                        'migration: %s', self.instance_uuid, exc)

    # -- the end --------------------------------------------------------------

    def _finish(self):
        error = self.job.error
        if error is None:
            return self._result()
        if self.paused_by_us:
            self._resume_source()
        lv = self.libvirt
        reason = str(error)
        # After abortJob, QEMU may end the job on the broken stream
        # ("Unable to write to socket") rather than as cancelled: the
        # abort caused it either way.
        if self._abort_sent or (
                isinstance(error, lv.libvirtError) and
                error.get_error_code() == lv.VIR_ERR_OPERATION_ABORTED):
            if self._abort_cause == 'timeout':
                raise exception.LiveMigrationTimedOut(
                    instance_uuid=self.instance_uuid,
                    reason='no completion within %.1f s: %s'
                           % (self.settings.completion_timeout, reason))
            # Ours, or an operator's virsh domjobabort: aborted either way.
            raise exception.LiveMigrationAborted(
                instance_uuid=self.instance_uuid)
        raise exception.LiveMigrationFailed(instance_uuid=self.instance_uuid,
                                            reason=reason)

    def _result(self):
        if self._abort_cause is not None:
            LOG.warning('Live migration of %s completed before its abort '
                        'took effect', self.instance_uuid)
        result = LiveMigrationResult(
            flags=self.job.flags, paused_to_complete=self.paused_by_us,
            post_copy_started=self.post_copy_started)
        result.take_stats(self.last_stats)
        if self.progress:
            # Left unsaved on purpose: the caller's next migration.save()
            # (its status) writes it at no extra cost to the database.
            result.progress = final_progress(self.progress)
            record_progress(self.migration, result.progress)
        return result

    def _resume_source(self):
        try:
            if self.guest.get_power_state() == power_state.PAUSED:
                self.guest.resume()
                LOG.info('Resumed instance %s on the source after its '
                         'migration failed', self.instance_uuid)
        except self.libvirt.libvirtError as exc:
            LOG.error('Instance %s stays paused on the source after its '
                      'failed migration: %s', self.instance_uuid, exc)
