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

"""Peer-to-peer live migration between emulated hosts.

``migrate()`` is what ``virDomain.migrateToURI3`` runs, synchronously in
the caller's thread, while other threads may call jobStats / abortJob /
migrateSetMaxDowntime / migrateSetMaxSpeed / suspend on the domain:

1. checks, in libvirt's order: flags and parameters, the destination
   connection, the destination XML against the source (ABI), post-copy
   against file-backed memory (QEMU >= 8 refuses it);
2. prepare: the destination gets a paused guest (its QEMU starting), which
   fails like QEMU if a backing file is missing, too small or in use;
3. pre-copy: pass 1 sends all memory (modelled RAM, real nvdimm bytes),
   later passes the pages dirtied during the previous one, until what is
   left fits in the allowed downtime at the current speed, or the guest is
   paused; auto-converge throttles the guest's writes as it goes;
4. switchover: the source pauses, the rest is copied, the destination runs
   (or stays paused), the source shuts off (and is undefined if asked).

Any failure or abort undoes 2: no domain on the destination, the source
running with its files untouched. The destination files may be partly
written, as with QEMU.
"""

import collections
import logging
import os
import threading
import time

from nova.virt.libvirt.emulator import constants as c
from nova.virt.libvirt.emulator import errors
from nova.virt.libvirt.emulator import state
from nova.virt.libvirt.emulator import transfer
from nova.virt.libvirt.emulator import xmlcheck

LOG = logging.getLogger(__name__)

PAGE = c.PAGE_SIZE
MiB = 1024 * 1024
# A pass that another one follows never takes less than this, so a guest
# whose few dirty pages do not fit in a zero downtime does not spin the
# CPU. The last pass is not padded: QEMU does not wait before switching
# over.
MIN_PASS_SECONDS = 0.01
POSTCOPY_FS_TYPES = ('tmpfs', 'hugetlbfs')

_PARAM_TYPES = {
    c.VIR_MIGRATE_PARAM_URI: str,
    c.VIR_MIGRATE_PARAM_DEST_NAME: str,
    c.VIR_MIGRATE_PARAM_DEST_XML: str,
    c.VIR_MIGRATE_PARAM_PERSIST_XML: str,
    c.VIR_MIGRATE_PARAM_BANDWIDTH: int,
    c.VIR_MIGRATE_PARAM_BANDWIDTH_POSTCOPY: int,
    c.VIR_MIGRATE_PARAM_GRAPHICS_URI: str,
    c.VIR_MIGRATE_PARAM_LISTEN_ADDRESS: str,
    c.VIR_MIGRATE_PARAM_MIGRATE_DISKS: (list, tuple, str),
    c.VIR_MIGRATE_PARAM_DISKS_PORT: int,
    c.VIR_MIGRATE_PARAM_DISKS_URI: str,
    c.VIR_MIGRATE_PARAM_COMPRESSION: (list, tuple, str),
    c.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL: int,
    c.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT: int,
    c.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS: int,
    c.VIR_MIGRATE_PARAM_TLS_DESTINATION: str,
}


class _SwitchToPostcopy(Exception):
    """Raised inside the transfer when migrateStartPostCopy was called."""


class MigrationJob:
    """The state of one migration, shared with the API's other callers."""

    def __init__(self, source, guest, dest, flags, params):
        self.source = source
        self.dest = dest
        self.guest = guest
        self.flags = flags
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.failure = None
        self.abort_requested = False
        self.postcopy_requested = False
        self.phase = 'setup'
        self.started = time.monotonic()
        self.ended = None
        self.setup_ms = 0
        self.memory_total = 0
        self.processed = 0
        self.pass_left = 0
        self.normal_pages = 0
        self.constant_pages = 0
        self.iteration = 0
        self.dirty_rate = 0
        self.throttle = 0.0
        self.downtime_ms = None
        self.transfer_started = None
        self.workload = guest.workload
        self._samples = collections.deque()
        # MiB/s for this migration: the bandwidth parameter, else the
        # domain's max speed; migrateSetMaxSpeed changes it while running.
        self.speed_mib = (params.get(c.VIR_MIGRATE_PARAM_BANDWIDTH) or
                          guest.max_speed_mib)
        self.auto_converge_initial = params.get(
            c.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, 20)
        self.auto_converge_increment = params.get(
            c.VIR_MIGRATE_PARAM_AUTO_CONVERGE_INCREMENT, 10)

    # -- control (other threads) ---------------------------------------------

    def bandwidth(self):
        """Bytes/s: the speed set, or the host's stand-in for unlimited."""
        mib = self.speed_mib
        if mib and mib < c.MIGRATE_MAX_SPEED_UNLIMITED:
            return max(mib * MiB, PAGE)
        return max(self.source.default_bandwidth, PAGE)

    def request_abort(self):
        with self.lock:
            if self.phase == 'postcopy':
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   'cannot abort migration in post-copy '
                                   'mode')
            if self.phase == 'done':
                raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                                   'no job is active on the domain')
            self.abort_requested = True
        # QEMU acknowledges migrate_cancel once the stream stopped; wait
        # for the migrating thread to clean up, briefly.
        self.finished.wait(5)

    def request_postcopy(self):
        with self.lock:
            if not self.flags & c.VIR_MIGRATE_POSTCOPY:
                raise errors.error(
                    c.VIR_ERR_OPERATION_INVALID,
                    'switching to post-copy requires migration to be '
                    'started with VIR_MIGRATE_POSTCOPY flag')
            if self.phase not in ('setup', 'precopy'):
                raise errors.error(
                    c.VIR_ERR_OPERATION_INVALID,
                    'post-copy can only be started while outgoing migration '
                    'is in progress')
            self.postcopy_requested = True

    def fail(self, exc):
        """Make the migration fail with ``exc`` at its next check."""
        self.failure = exc

    def check(self):
        """Raise what must stop the transfer; called every time slice."""
        if self.failure is not None:
            raise self.failure
        if self.phase in ('postcopy', 'done'):
            return
        if self.abort_requested:
            raise errors.error(c.VIR_ERR_OPERATION_ABORTED,
                               "job 'migration out' canceled by client")
        injected = self.source.take_outgoing_error(self.processed)
        if injected is not None:
            raise injected
        if state.find_host(self.dest.name) is not self.dest:
            raise errors.error(c.VIR_ERR_OPERATION_FAILED,
                               'Lost connection to destination host')
        if self.postcopy_requested and self.phase == 'precopy':
            raise _SwitchToPostcopy()

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while True:
            self.check()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, transfer.SLICE_SECONDS))

    # -- accounting (migrating thread) ----------------------------------------

    def account(self, kind, nbytes):
        with self.lock:
            self.processed += nbytes
            self.pass_left = max(self.pass_left - nbytes, 0)
            if kind == 'hole':
                self.constant_pages += nbytes // PAGE
            else:
                self.normal_pages += nbytes // PAGE
            now = time.monotonic()
            if not self._samples or now - self._samples[-1][0] >= 0.1:
                self._samples.append((now, self.processed))
                while len(self._samples) > 2 and now - self._samples[1][0] > 1:
                    self._samples.popleft()

    def _bps(self):
        if len(self._samples) < 2:
            return 0
        (t0, p0), (t1, p1) = self._samples[0], self._samples[-1]
        return int((p1 - p0) / (t1 - t0)) if t1 > t0 else 0

    def _remaining(self):
        pending = 0
        if self.workload is not None and self.phase != 'postcopy':
            pending = self.workload.pending_dirty_pages() * PAGE
        return self.pass_left + pending

    # -- reporting ------------------------------------------------------------

    def stats(self, operation):
        """jobStats() of the running job, keys as libvirt reports them."""
        with self.lock:
            elapsed = int((time.monotonic() - self.started) * 1000)
            if self.phase == 'setup':
                # The destination QEMU is still starting: all zeros.
                return _zero_stats(c.VIR_DOMAIN_JOB_UNBOUNDED, operation,
                                   elapsed)
            remaining = self._remaining()
            expected = int(remaining * 1000 / self.bandwidth())
            return self._fill(c.VIR_DOMAIN_JOB_UNBOUNDED, operation, elapsed,
                              remaining, self._bps(),
                              self.downtime_ms or expected)

    def completed_stats(self, job_type, operation, errmsg=None):
        with self.lock:
            end = self.ended or time.monotonic()
            elapsed = int((end - self.started) * 1000)
            remaining = 0
            if job_type != c.VIR_DOMAIN_JOB_COMPLETED:
                remaining = self.pass_left
            bps = 0
            if self.transfer_started is not None and end > \
                    self.transfer_started:
                bps = int(self.processed / (end - self.transfer_started))
            stats = self._fill(job_type, operation, elapsed, remaining, bps,
                               self.downtime_ms or 0)
        stats[c.VIR_DOMAIN_JOB_SUCCESS] = (
            job_type == c.VIR_DOMAIN_JOB_COMPLETED)
        if job_type == c.VIR_DOMAIN_JOB_COMPLETED:
            # As QEMU: no dirty rate for a completed job (libvirt reads 0).
            stats[c.VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE] = 0
        if errmsg:
            stats[c.VIR_DOMAIN_JOB_ERRMSG] = errmsg
        return stats

    def _fill(self, job_type, operation, elapsed, remaining, bps, downtime):
        stats = {
            'type': job_type,
            c.VIR_DOMAIN_JOB_OPERATION: operation,
            c.VIR_DOMAIN_JOB_TIME_ELAPSED: elapsed,
            c.VIR_DOMAIN_JOB_DOWNTIME: downtime,
            c.VIR_DOMAIN_JOB_SETUP_TIME: self.setup_ms,
            c.VIR_DOMAIN_JOB_DATA_TOTAL: self.memory_total,
            c.VIR_DOMAIN_JOB_DATA_PROCESSED: self.processed,
            c.VIR_DOMAIN_JOB_DATA_REMAINING: remaining,
            c.VIR_DOMAIN_JOB_MEMORY_TOTAL: self.memory_total,
            c.VIR_DOMAIN_JOB_MEMORY_PROCESSED: self.processed,
            c.VIR_DOMAIN_JOB_MEMORY_REMAINING: remaining,
            c.VIR_DOMAIN_JOB_MEMORY_BPS: bps,
            c.VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE: self.dirty_rate,
            c.VIR_DOMAIN_JOB_MEMORY_ITERATION: self.iteration,
            c.VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE: PAGE,
            c.VIR_DOMAIN_JOB_MEMORY_NORMAL: self.normal_pages,
            c.VIR_DOMAIN_JOB_MEMORY_NORMAL_BYTES: self.normal_pages * PAGE,
            c.VIR_DOMAIN_JOB_MEMORY_CONSTANT: self.constant_pages,
            c.VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS: 0,
            c.VIR_DOMAIN_JOB_DISK_TOTAL: 0,
            c.VIR_DOMAIN_JOB_DISK_PROCESSED: 0,
            c.VIR_DOMAIN_JOB_DISK_REMAINING: 0,
            c.VIR_DOMAIN_JOB_DISK_BPS: 0,
        }
        if self.flags & c.VIR_MIGRATE_AUTO_CONVERGE:
            stats[c.VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE] = round(
                self.throttle * 100)
        return stats

    def info(self):
        """jobInfo(): libvirt-python's 12-element list."""
        st = self.stats(c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
        return [st['type'], st[c.VIR_DOMAIN_JOB_TIME_ELAPSED], 0,
                st[c.VIR_DOMAIN_JOB_DATA_TOTAL],
                st[c.VIR_DOMAIN_JOB_DATA_PROCESSED],
                st[c.VIR_DOMAIN_JOB_DATA_REMAINING],
                st[c.VIR_DOMAIN_JOB_MEMORY_TOTAL],
                st[c.VIR_DOMAIN_JOB_MEMORY_PROCESSED],
                st[c.VIR_DOMAIN_JOB_MEMORY_REMAINING], 0, 0, 0]


def _zero_stats(job_type, operation, elapsed):
    stats = {key: 0 for key in (
        c.VIR_DOMAIN_JOB_DOWNTIME, c.VIR_DOMAIN_JOB_SETUP_TIME,
        c.VIR_DOMAIN_JOB_DATA_TOTAL, c.VIR_DOMAIN_JOB_DATA_PROCESSED,
        c.VIR_DOMAIN_JOB_DATA_REMAINING, c.VIR_DOMAIN_JOB_MEMORY_TOTAL,
        c.VIR_DOMAIN_JOB_MEMORY_PROCESSED, c.VIR_DOMAIN_JOB_MEMORY_REMAINING,
        c.VIR_DOMAIN_JOB_MEMORY_BPS, c.VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE,
        c.VIR_DOMAIN_JOB_MEMORY_ITERATION, c.VIR_DOMAIN_JOB_MEMORY_NORMAL,
        c.VIR_DOMAIN_JOB_MEMORY_NORMAL_BYTES,
        c.VIR_DOMAIN_JOB_MEMORY_CONSTANT,
        c.VIR_DOMAIN_JOB_MEMORY_POSTCOPY_REQS, c.VIR_DOMAIN_JOB_DISK_TOTAL,
        c.VIR_DOMAIN_JOB_DISK_PROCESSED, c.VIR_DOMAIN_JOB_DISK_REMAINING,
        c.VIR_DOMAIN_JOB_DISK_BPS)}
    stats.update({'type': job_type, c.VIR_DOMAIN_JOB_OPERATION: operation,
                  c.VIR_DOMAIN_JOB_TIME_ELAPSED: elapsed,
                  c.VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE: PAGE})
    return stats


# -- checks before anything starts --------------------------------------------

def _check_flags_and_params(guest, params, flags):
    if not flags & c.VIR_MIGRATE_PEER2PEER:
        raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                           'direct migration is not supported by the source '
                           'host')
    if flags & c.VIR_MIGRATE_OFFLINE:
        raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                           'offline migration is not supported by the '
                           'emulated host')
    # As real libvirt: parallel connections are QEMU's own streams, which
    # a tunnel through libvirtd cannot carry.
    if flags & c.VIR_MIGRATE_TUNNELLED and flags & c.VIR_MIGRATE_PARALLEL:
        raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                           'migration with parallel connections is not '
                           'supported with tunnelled migration')
    if flags & c.VIR_MIGRATE_POSTCOPY_RESUME:
        raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                           'migration with VIR_MIGRATE_POSTCOPY_RESUME flag '
                           'requires a failed post-copy migration')
    for key, value in params.items():
        wanted = _PARAM_TYPES.get(key)
        if wanted is None:
            raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                               "parameter '%s' not supported" % key)
        if not isinstance(value, wanted) or (
                wanted is int and isinstance(value, bool)):
            raise errors.error(c.VIR_ERR_INVALID_ARG,
                               "invalid type for parameter '%s'" % key)
    bandwidth = params.get(c.VIR_MIGRATE_PARAM_BANDWIDTH)
    if bandwidth is not None and bandwidth < 0:
        raise errors.error(c.VIR_ERR_INVALID_ARG,
                           'bandwidth must be positive')
    if not guest.active or guest.incoming is not None:
        raise errors.not_running()
    # The emulator insists on live migration of a running guest: a driver
    # forgetting VIR_MIGRATE_LIVE would pause its guests for the whole copy.
    if (guest.state == c.VIR_DOMAIN_RUNNING and
            not flags & c.VIR_MIGRATE_LIVE):
        raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                           'non-live migration of a running domain is not '
                           'supported by the emulated host; use '
                           'VIR_MIGRATE_LIVE')


def _connect_destination(dconnuri, source):
    try:
        name, _state_dir = state.parse_uri(dconnuri)
        dest = state.find_host(name)
        if dest is None:
            # Hosts are found in this process's registry only: nova-compute
            # services in separate processes cannot reach each other here.
            raise errors.error(c.VIR_ERR_SYSTEM_ERROR,
                               "unable to connect to server at '%s': no "
                               "emulated host of that name in this process "
                               "(emulated hosts migrate only between hosts "
                               "of one process, as in nova-aio)" % name)
    except errors.libvirtError as exc:
        raise errors.error(c.VIR_ERR_OPERATION_FAILED,
                           'Failed to connect to remote libvirt URI %s: %s'
                           % (dconnuri, exc))
    if dest is source:
        raise errors.error(c.VIR_ERR_INTERNAL_ERROR,
                           'Attempt to migrate guest to the same host %s'
                           % source.uuid)
    return dest


def fs_type(path):
    """The filesystem type holding ``path``, from /proc/self/mounts."""
    path = os.path.realpath(path)
    best, best_type = '', None
    try:
        with open('/proc/self/mounts') as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace('\\040', ' ')
                inside = (path == mount or mount == '/' or
                          path.startswith(mount.rstrip('/') + '/'))
                if inside and len(mount) >= len(best):
                    best, best_type = mount, fields[2]
    except OSError:
        return None
    return best_type


def _check_userfaultfd(source, dest):
    """QEMU sets postcopy-ram on both ends; either end without
    userfaultfd refuses it, failing the migration before any copy."""
    for host in (source, dest):
        if not host.userfaultfd:
            LOG.warning('Emulated QEMU on %s refuses post-copy: '
                        'userfaultfd not available: Operation not '
                        'permitted', host.name)
            raise errors.error(c.VIR_ERR_INTERNAL_ERROR,
                               "unable to execute QEMU command "
                               "'migrate-set-capabilities': Postcopy is not "
                               "supported")


def _check_postcopy(spec):
    """QEMU >= 8 refuses post-copy when guest RAM is a shared file that is
    not on tmpfs or hugetlbfs (it cannot fault such pages in)."""
    for nvdimm in spec.nvdimms:
        if fs_type(nvdimm.path) not in POSTCOPY_FS_TYPES:
            LOG.warning('Emulated QEMU refuses post-copy for %s: Host '
                        'backend files need to be TMPFS or HUGETLBFS only',
                        nvdimm.path)
            raise errors.error(c.VIR_ERR_INTERNAL_ERROR,
                               "unable to execute QEMU command "
                               "'migrate-set-capabilities': Postcopy is not "
                               "supported")


def _destination_specs(source_spec, params, flags):
    dest_name = params.get(c.VIR_MIGRATE_PARAM_DEST_NAME)
    if c.VIR_MIGRATE_PARAM_DEST_XML in params:
        dest_spec = xmlcheck.parse(params[c.VIR_MIGRATE_PARAM_DEST_XML])
    else:
        dest_spec = xmlcheck.parse(xmlcheck.render(source_spec))
        if dest_name:
            dest_spec.root.find('name').text = dest_name
            dest_spec.name = dest_name
    xmlcheck.check_abi(source_spec, dest_spec, dest_name)
    persist_spec = None
    if flags & c.VIR_MIGRATE_PERSIST_DEST:
        persist_spec = dest_spec
        if c.VIR_MIGRATE_PARAM_PERSIST_XML in params:
            persist_spec = xmlcheck.parse(
                params[c.VIR_MIGRATE_PARAM_PERSIST_XML])
            if (persist_spec.uuid, persist_spec.name) != (dest_spec.uuid,
                                                          dest_spec.name):
                raise errors.error(
                    c.VIR_ERR_INVALID_ARG,
                    'persistent XML must describe the migrated domain')
    return dest_spec, persist_spec


# -- the transfer -------------------------------------------------------------

class _Transfer:
    """A queue of memory to send, sent at the job's bandwidth."""

    def __init__(self, job, source_spec, dest_spec):
        self.job = job
        self.pacer = transfer.Pacer(job.bandwidth, job.check)
        self.queue = collections.deque()
        self.files = []       # per nvdimm: (source fd, dest fd, size)
        opened = []
        try:
            for src, dst in zip(source_spec.nvdimms, dest_spec.nvdimms,
                                strict=True):
                opened.append(os.open(src.path, os.O_RDONLY))
                opened.append(os.open(dst.path, os.O_RDWR))
                self.files.append((opened[-2], opened[-1], src.size))
        except OSError as exc:
            for fd in opened:
                os.close(fd)
            self.files = []
            raise errors.error(c.VIR_ERR_OPERATION_FAILED,
                               "job 'migration out' failed: %s" % exc)
        self.ram_bytes = max(source_spec.ram_bytes, 0)

    def close(self):
        for src_fd, dst_fd, _size in self.files:
            os.close(src_fd)
            os.close(dst_fd)
        self.files = []

    def _enqueue(self, kind, index, offset, length):
        if length > 0:
            self.queue.append((kind, index, offset, length))
            with self.job.lock:
                self.job.pass_left += length

    def queue_everything(self):
        self._enqueue('ram', None, 0, self.ram_bytes)
        for index, (src_fd, _dst_fd, size) in enumerate(self.files):
            for offset, length, is_data in transfer.extents(src_fd, size):
                self._enqueue('data' if is_data else 'hole', index, offset,
                              length)

    def queue_dirty(self, dirty, ram_pages):
        self._enqueue('ram', None, 0, ram_pages * PAGE)
        for index, pages in sorted(dirty.items()):
            for first, count in transfer.page_runs(pages):
                self._enqueue('data', index, first * PAGE, count * PAGE)

    def send(self):
        """Send the queue; an exception leaves the unsent part queued."""
        while self.queue:
            kind, index, offset, length = self.queue[0]
            step = min(length, self.pacer.slice_bytes())
            if kind == 'data':
                step = min(step, transfer.MAX_IO)
                src_fd, dst_fd, _size = self.files[index]
                transfer.copy_range(src_fd, dst_fd, offset, step)
            elif kind == 'hole':
                transfer.zero_range(self.files[index][1], offset, step)
            if step == length:
                self.queue.popleft()
            else:
                self.queue[0] = (kind, index, offset + step, length - step)
            self.job.account(kind, step)
            self.pacer.charge(step)


def _sync(job):
    if job.workload is None:
        return {}, 0
    return job.workload.sync_dirty()


def _dirty_bytes(dirty, ram_pages):
    return (sum(len(p) for p in dirty.values()) + ram_pages) * PAGE


def _precopy(job, mover):
    """Iterate until the rest fits in the downtime (or the guest paused)."""
    # memory_iteration is QEMU's dirty-sync count: 1 once the dirty log
    # starts, one more at each sync (the end of each pass, the
    # switchover), so it first reads 2 when the first pass is over.
    with job.lock:
        job.phase = 'precopy'
        job.iteration = 1
    if job.workload is not None:
        job.workload.start_dirty_log()
    mover.queue_everything()
    # The pages a sync returns were dirtied since the previous sync.
    pass_start = time.monotonic()
    while True:
        mover.send()
        dirty, ram_pages = _sync(job)
        synced = time.monotonic()
        pending = _dirty_bytes(dirty, ram_pages)
        with job.lock:
            job.iteration += 1
            job.dirty_rate = int(pending / PAGE /
                                 max(synced - pass_start, 1e-6))
        mover.queue_dirty(dirty, ram_pages)
        allowed = job.guest.max_downtime_ms / 1000.0
        if (job.guest.state == c.VIR_DOMAIN_PAUSED or
                pending / job.bandwidth() <= allowed):
            return
        if synced - pass_start < MIN_PASS_SECONDS:
            job.sleep(MIN_PASS_SECONDS - (synced - pass_start))
        pass_start = synced
        with job.lock:
            if job.flags & c.VIR_MIGRATE_AUTO_CONVERGE:
                # Whole percents, as QEMU's cpu-throttle-percentage.
                percent = round(job.throttle * 100)
                percent = (percent + job.auto_converge_increment if percent
                           else job.auto_converge_initial)
                job.throttle = min(percent, 99) / 100.0
        if job.workload is not None:
            job.workload.throttle = job.throttle


def migrate(source, dom_uuid, dconnuri, params, flags):
    """Run one migration to completion; raises libvirtError on failure."""
    params = dict(params or {})
    guest = source.guest(dom_uuid)
    _check_flags_and_params(guest, params, flags)
    dest = _connect_destination(dconnuri, source)
    source_spec = guest.live
    dest_spec, persist_spec = _destination_specs(source_spec, params, flags)
    if flags & c.VIR_MIGRATE_POSTCOPY:
        _check_userfaultfd(source, dest)
        _check_postcopy(source_spec)
    with source.lock:
        if guest.job is not None:
            raise errors.error(
                c.VIR_ERR_OPERATION_TIMEOUT,
                'cannot acquire state change lock (held by '
                'monitor=remoteDispatchDomainMigratePerform3Params)')
        job = MigrationJob(source, guest, dest, flags, params)
        guest.job = job
        guest.completed_job = None
        # libvirt keeps a guest paused at the start paused on arrival.
        start_paused = guest.state == c.VIR_DOMAIN_PAUSED
    try:
        _run(job, source_spec, dest_spec, persist_spec, start_paused)
    finally:
        with source.lock:
            guest.job = None
        with job.lock:
            job.phase = 'done'
        job.finished.set()


def _run(job, source_spec, dest_spec, persist_spec, start_paused):
    source, dest, guest, flags = job.source, job.dest, job.guest, job.flags
    we_paused = False
    mover = None
    dest.prepare_incoming(dest_spec, job)
    try:
        job.sleep(dest.migration_setup_seconds)
        mover = _Transfer(job, source_spec, dest_spec)
        with job.lock:
            job.setup_ms = int((time.monotonic() - job.started) * 1000)
            job.memory_total = source_spec.memory
            job.transfer_started = time.monotonic()
        postcopy = False
        try:
            _precopy(job, mover)
        except _SwitchToPostcopy:
            postcopy = True
        with job.lock:
            job.phase = 'switchover'
        we_paused = source.pause_for_migration(
            guest.uuid, c.VIR_DOMAIN_PAUSED_POSTCOPY if postcopy
            else c.VIR_DOMAIN_PAUSED_MIGRATION)
        paused_at = time.monotonic()
        dirty, ram_pages = _sync(job)
        with job.lock:
            job.iteration += 1
        mover.queue_dirty(dirty, ram_pages)
        dest_paused = bool(flags & c.VIR_MIGRATE_PAUSED) or start_paused
        if postcopy:
            # The destination runs from here and pulls what is left; the
            # emulated guest's own writes wait for the pull to finish.
            with job.lock:
                job.phase = 'postcopy'
                job.downtime_ms = int(
                    (time.monotonic() - paused_at +
                     source.switchover_seconds) * 1000)
            dest.finish_incoming(guest.uuid, job, persist_spec,
                                 paused=dest_paused, postcopy=True)
            mover.send()
        else:
            mover.send()
            job.sleep(source.switchover_seconds)
            with job.lock:
                job.downtime_ms = int((time.monotonic() - paused_at) * 1000)
                job.phase = 'done'
    except BaseException as exc:
        _fail(job, exc, we_paused)
        raise
    finally:
        if mover is not None:
            mover.close()
    _commit(job, persist_spec, dest_paused, postcopy)


def _fail(job, exc, we_paused):
    with job.lock:
        job.ended = time.monotonic()
        in_postcopy = job.phase == 'postcopy'
    if job.workload is not None:
        job.workload.stop_dirty_log()
        job.workload.throttle = 0.0
    if in_postcopy:
        # Neither side has the whole guest any more: QEMU leaves the
        # source paused rather than running a stale copy.
        job.source.mark_postcopy_failed(job.guest.uuid)
    else:
        job.dest.abort_incoming(job.guest.uuid, job)
        job.source.resume_after_failed_migration(job.guest.uuid, we_paused)
    aborted = (isinstance(exc, errors.libvirtError) and
               exc.get_error_code() == c.VIR_ERR_OPERATION_ABORTED)
    job_type = (c.VIR_DOMAIN_JOB_CANCELLED if aborted
                else c.VIR_DOMAIN_JOB_FAILED)
    job.guest.completed_job = job.completed_stats(
        job_type, c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT, str(exc))
    LOG.info('Emulated migration of %s from %s to %s failed: %s',
             job.guest.name, job.source.name, job.dest.name, exc)


def _commit(job, persist_spec, dest_paused, postcopy):
    """Hand the guest over; nothing here can fail half way."""
    source, dest, guest = job.source, job.dest, job.guest
    with job.lock:
        job.ended = time.monotonic()
        job.phase = 'done'
    if not postcopy:
        dest.finish_incoming(guest.uuid, job, persist_spec,
                             paused=dest_paused)
    dest_guest = dest.guest(guest.uuid)
    load = job.workload
    with source.lock:
        guest.workload = None
    if load is not None:
        load.stop_dirty_log()
        load.throttle = 0.0
        load.attach(dest_guest.live)
    with dest.lock:
        dest_guest.workload = load
        if postcopy and dest_guest.state == c.VIR_DOMAIN_RUNNING:
            dest_guest.reason = c.VIR_DOMAIN_RUNNING_MIGRATED
        if load is not None and dest_guest.state == c.VIR_DOMAIN_RUNNING:
            load.resume()
        dest_guest.completed_job = job.completed_stats(
            c.VIR_DOMAIN_JOB_COMPLETED,
            c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN)
    source.finish_outgoing(
        guest.uuid, undefine=bool(job.flags & c.VIR_MIGRATE_UNDEFINE_SOURCE))
    with source.lock:
        if guest.uuid in source.guests:
            guest.completed_job = job.completed_stats(
                c.VIR_DOMAIN_JOB_COMPLETED,
                c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT)
    LOG.info('Emulated migration of %s from %s to %s completed',
             guest.name, source.name, dest.name)
