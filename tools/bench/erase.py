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

"""Erase of a file namespace, and what a live migration waits for.

Three measurements, in the process the framework gives this part:

- erase: zero + verify of a file namespace full of data through
  ``FileBackend.erase`` and ``verify`` (what nova-compute runs), against a
  plain zero-fill of the same size (``dd if=/dev/zero bs=1M
  conv=fsync``: write zeros, fsync), alternated, median of the runs;
- populate: what a destination QEMU pays before a migration's copy can
  start, faulting in every page of the backing file for writing
  (``MADV_POPULATE_WRITE``, as QEMU's preallocation does), for a sparse
  file and for an allocated, erased one;
- migration: an emulated cloud (``tools.bench.cloud``) with one namespace
  per host; a forced live migration through the API, timed from the
  request to the server ACTIVE on the destination and to the source's
  namespace leaving ``erasing`` (its erase runs in the background). A
  second series erases by writing zeros, as on a filesystem without
  zero-range: a slow erase, which the time to ACTIVE must not follow.
"""

import contextlib
import mmap
import os
import statistics
import time

from nova import objects
from nova.virt.libvirt import vpmem_backends
from tools.bench import cloud as bench_cloud

MiB = 1024 * 1024
ALIGN = 2 * MiB
SIZE_MIB = 1024
QUICK_SIZE_MIB = 64
ERASE_RUNS = 3
MIGRATIONS = 3
QUICK_MIGRATIONS = 1
# Not exposed by Python's mmap module; Linux 5.14 and later.
MADV_POPULATE_WRITE = 23
FILL_BYTE = b'\x5a'
POLL_SECONDS = 0.005
MIGRATION_TIMEOUT = 300.0


# -- files --------------------------------------------------------------

def fill(path, size):
    """Write data over every byte (a guest that used all of it)."""
    chunk = FILL_BYTE * MiB
    fd = os.open(path, os.O_WRONLY)
    try:
        for offset in range(0, size, MiB):
            os.pwrite(fd, chunk[:min(MiB, size - offset)], offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def zero_fill(path, size):
    """``dd if=/dev/zero of=path bs=1M conv=fsync``; seconds taken."""
    zeros = bytes(MiB)
    began = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for offset in range(0, size, MiB):
            os.write(fd, zeros[:min(MiB, size - offset)])
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.monotonic() - began


def erase_and_verify(backend, device):
    """(erase s, verify s) of nova-compute's own erase of ``device``."""
    began = time.monotonic()
    backend.erase(device)
    erased = time.monotonic()
    backend.verify(device)
    return erased - began, time.monotonic() - erased


def read_every_byte(backend, device):
    """Seconds to read the whole namespace back, holes included."""
    began = time.monotonic()
    problem = backend.read_back(device, blocks=[(0, device.size)])
    if problem:
        raise bench_cloud.BenchError('%s after the erase: %s' % (
            device.devpath, problem))
    return time.monotonic() - began


def populate(path, size):
    """Seconds to fault every page of ``path`` in for writing.

    What a destination QEMU does to a ``memory-backend-file`` with
    preallocation before it can receive pages; None where the kernel
    lacks MADV_POPULATE_WRITE.
    """
    fd = os.open(path, os.O_RDWR)
    try:
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED) as mapping:
            began = time.monotonic()
            try:
                mapping.madvise(MADV_POPULATE_WRITE)
            except OSError:
                return None
            return time.monotonic() - began
    finally:
        os.close(fd)


def is_allocated(path):
    return vpmem_backends.is_allocated(os.stat(path))


def filesystem_of(path):
    """The type of the filesystem holding ``path`` (from /proc/mounts)."""
    path = os.path.realpath(path)
    best, kind = '', None
    try:
        with open('/proc/mounts') as mounts:
            for line in mounts:
                fields = line.split()
                mount = fields[1]
                if (path == mount or path.startswith(mount.rstrip('/') + '/')
                        ) and len(mount) >= len(best):
                    best, kind = mount, fields[2]
    except OSError:
        return None
    return kind


@contextlib.contextmanager
def zero_range_refused():
    """Erase as on a filesystem without FALLOC_FL_ZERO_RANGE (writes)."""
    real = vpmem_backends.fallocate

    def fallocate(fd, mode, offset, length):
        if mode & vpmem_backends.FALLOC_FL_ZERO_RANGE:
            return False
        return real(fd, mode, offset, length)

    vpmem_backends.fallocate = fallocate
    try:
        yield
    finally:
        vpmem_backends.fallocate = real


def measure_erase(workdir, size_mib, runs, progress):
    """(the erase keys of the section, the backend, its namespace).

    Each run: nova-compute's erase, the zero-fill, a full read-back and
    the erase by writes, in turn.
    """
    size = size_mib * MiB
    directory = os.path.join(workdir, 'namespaces')
    backend = vpmem_backends.FileBackend(directory, size, ALIGN)
    device = backend.discover(['bench0'])['bench0']
    plain = os.path.join(directory, 'zero-fill')
    erase_s, verify_s, fill_s, read_s, by_writes_s = [], [], [], [], []
    allocated = []
    for run in range(runs):
        fill(device.devpath, size)
        erased, verified = erase_and_verify(backend, device)
        erase_s.append(erased)
        verify_s.append(verified)
        allocated.append(is_allocated(device.devpath))
        fill_s.append(zero_fill(plain, size))
        read_s.append(read_every_byte(backend, device))
        fill(device.devpath, size)
        with zero_range_refused():
            by_writes_s.append(sum(erase_and_verify(backend, device)))
        progress('erase run %d/%d: erase + verify %.3f s (by writes %.3f s)'
                 ', zero-fill %.3f s' % (run + 1, runs, erased + verified,
                                         by_writes_s[-1], fill_s[-1]))
    # The erase's method, once more, on the data it is meant for.
    fill(device.devpath, size)
    method = vpmem_backends.zero_file(device.devpath)
    total = [e + v for e, v in zip(erase_s, verify_s, strict=True)]
    erase_verify = statistics.median(total)
    plain_fill = statistics.median(fill_s)
    os.unlink(plain)
    return {
        'size_mib': size_mib,
        'runs': runs,
        'filesystem': filesystem_of(directory),
        'erase_method': method,
        'erase_verify_s': round(erase_verify, 4),
        'erase_s': round(statistics.median(erase_s), 4),
        'verify_s': round(statistics.median(verify_s), 4),
        'zero_fill_s': round(plain_fill, 4),
        'erase_mib_per_s': round(size_mib / erase_verify, 1),
        'zero_fill_mib_per_s': round(size_mib / plain_fill, 1),
        'ratio_vs_zero_fill': round(erase_verify / plain_fill, 4),
        'read_every_byte_s': round(statistics.median(read_s), 4),
        'erase_verify_by_writes_s': round(statistics.median(by_writes_s),
                                          4),
        'allocated_after_erase': all(allocated),
        'erase_verify_runs_s': [round(t, 4) for t in total],
        'zero_fill_runs_s': [round(t, 4) for t in fill_s],
    }, backend, device


def measure_populate(backend, device, progress):
    """populate_sparse_s / populate_allocated_s: the destination QEMU's
    wait before the copy, on the file as the backend keeps it and on a
    sparse one of the same size."""
    size = device.size
    sparse = device.devpath + '.sparse'
    with open(sparse, 'wb') as f:
        f.truncate(size)
    try:
        sparse_s = populate(sparse, size)
    finally:
        # Unlinked, its dirty zero pages are dropped, never written.
        os.unlink(sparse)
    backend.erase(device)
    allocated_s = populate(device.devpath, size)
    # The same zero pages are dirty in this one: the erase discards them.
    backend.erase(device)
    if sparse_s is None or allocated_s is None:
        return {'populate_skipped': 'no MADV_POPULATE_WRITE (Linux < 5.14)'}
    progress('populate: sparse %.3f s, allocated %.3f s' % (sparse_s,
                                                             allocated_s))
    return {'populate_sparse_s': round(sparse_s, 4),
            'populate_allocated_s': round(allocated_s, 4)}


# -- live migration in an emulated cloud ---------------------------------

def namespace_state(cloud, host, name):
    records = objects.VPMEMNamespaceList.get_by_filters(
        cloud.admin_context(), {'host': host, 'name': name})
    return records[0].state if records else None


def devpath_on(cloud, server_id):
    instance = objects.Instance.get_by_uuid(
        cloud.admin_context(), server_id, expected_attrs=['resources'])
    [resource] = instance.resources
    return resource.metadata.devpath


def migrate_and_time(cloud, api, server_id, source, dest, name):
    """(s to ACTIVE on dest, s to the source's namespace erased)."""
    began = time.monotonic()
    bench_cloud.live_migrate(cloud, server_id, dest)
    active = erased = None
    deadline = began + MIGRATION_TIMEOUT
    while active is None or erased is None:
        if active is None and bench_cloud.active_on(api, server_id, dest):
            active = time.monotonic() - began
        if erased is None:
            state = namespace_state(cloud, source, name)
            if state == 'free':
                erased = time.monotonic() - began
            elif state == 'quarantined':
                raise bench_cloud.BenchError(
                    'the erase of %s on %s failed (quarantined)' % (name,
                                                                   source))
        if time.monotonic() > deadline:
            raise bench_cloud.BenchError(
                'migration of %s to %s: not done after %.0f s (ACTIVE: %s, '
                'erased: %s)' % (server_id, dest, MIGRATION_TIMEOUT,
                                 active, erased))
        time.sleep(POLL_SECONDS)
    return active, erased


HOSTS = ('compute-a', 'compute-b')


def migration_series(cloud, api, server_id, size_mib, count, progress,
                     label):
    """Times of ``count`` forced migrations of the server, back and forth;
    it starts on HOSTS[0] and ends there again when ``count`` is even."""
    active_s, erased_s = [], []
    for run in range(count):
        source, dest = HOSTS[run % 2], HOSTS[(run + 1) % 2]
        # The guest used all of its namespace: the copy and the source's
        # erase have every byte to handle.
        fill(devpath_on(cloud, server_id), size_mib * MiB)
        active, erased = migrate_and_time(cloud, api, server_id, source,
                                          dest, 'ns0')
        active_s.append(active)
        erased_s.append(erased)
        progress('%s migration %d/%d %s -> %s: ACTIVE after %.3f s, source '
                 'erased after %.3f s' % (label, run + 1, count, source,
                                          dest, active, erased))
    return {
        'source_erased_after_active_s': round(statistics.median(
            [e - a for a, e in zip(active_s, erased_s, strict=True)]), 3),
        'api_to_active_s': round(statistics.median(active_s), 3),
        'api_to_source_erased_s': round(statistics.median(erased_s), 3),
        'api_to_active_runs_s': [round(t, 3) for t in active_s],
        'api_to_source_erased_runs_s': [round(t, 3) for t in erased_s],
    }


def measure_migration(workdir, size_mib, count, progress):
    """api_to_active_s and api_to_source_erased_s (medians of ``count``),
    and the same under ``erase_by_writes``."""
    cloud = bench_cloud.start(workdir, hosts=HOSTS, namespace_mib=size_mib,
                              namespaces_per_host=1)
    try:
        api = bench_cloud.api_client(cloud)
        flavor = bench_cloud.create_flavor(api, 'erase-bench', vpmem_count=1)
        server_id = bench_cloud.boot_on(cloud, api, flavor, HOSTS[0],
                                        'erase-bench')
        section = migration_series(cloud, api, server_id, size_mib, count,
                                   progress, 'zero-range')
        if count % 2:
            # Back to the first host, untimed, so both series start there.
            migrate_and_time(cloud, api, server_id, HOSTS[1], HOSTS[0],
                             'ns0')
        with zero_range_refused():
            section['erase_by_writes'] = migration_series(
                cloud, api, server_id, size_mib, count, progress, 'writes')
    finally:
        bench_cloud.stop(cloud)
    section.update(migration_namespace_mib=size_mib, migrations=count)
    return section


# -- the bench contract ----------------------------------------------------

def run(options, progress):
    objects.register_all()
    quick = bool(getattr(options, 'quick', False))
    size_mib = QUICK_SIZE_MIB if quick else SIZE_MIB
    workdir = options.workdir
    progress('erase + verify vs zero-fill, %d MiB, %d runs' % (size_mib,
                                                               ERASE_RUNS))
    section, backend, device = measure_erase(workdir, size_mib, ERASE_RUNS,
                                             progress)
    section.update(measure_populate(backend, device, progress))
    os.unlink(device.devpath)
    count = QUICK_MIGRATIONS if quick else MIGRATIONS
    progress('live migration with a %d MiB namespace, %d runs' % (size_mib,
                                                                   count))
    section.update(measure_migration(workdir, size_mib, count, progress))
    return section


def _fmt(value, digits=3):
    if value is None:
        return '-'
    return ('%%.%df' % digits) % value


def markdown(section):
    lines = [
        'A %d MiB file namespace full of data on %s, median of %d '
        'alternated runs: nova-compute\'s erase (%s) and verification '
        'against `dd if=/dev/zero bs=1M conv=fsync` of the same size.' % (
            section['size_mib'], section.get('filesystem') or '?',
            section['runs'], section.get('erase_method', '?')),
        '',
        '| erase | s | MiB/s |',
        '|---|---|---|',
        '| erase + verify | %s | %s |' % (
            _fmt(section['erase_verify_s'], 4),
            _fmt(section['erase_mib_per_s'], 0)),
        '| (erase alone / verify alone) | %s / %s | |' % (
            _fmt(section['erase_s'], 4), _fmt(section['verify_s'], 4)),
        '| zero-fill (dd, conv=fsync) | %s | %s |' % (
            _fmt(section['zero_fill_s']),
            _fmt(section['zero_fill_mib_per_s'], 0)),
        '| ratio erase + verify / zero-fill | %s | |' % _fmt(
            section['ratio_vs_zero_fill'], 4),
        '| erase + verify by writes (no zero-range) | %s | |' % _fmt(
            section.get('erase_verify_by_writes_s')),
        '| reading every byte back (holes included) | %s | |' % _fmt(
            section['read_every_byte_s']),
        '| file allocated after the erase | %s | |' % (
            'yes' if section['allocated_after_erase'] else 'no'),
    ]
    if 'populate_sparse_s' in section:
        lines += [
            '| every page faulted in for writing (`MADV_POPULATE_WRITE`), '
            'sparse file | %s | |' % _fmt(section['populate_sparse_s']),
            '| the same, allocated and erased file | %s | |'
            % _fmt(section['populate_allocated_s']),
        ]
    if 'api_to_active_s' in section:
        lines += ['', 'Forced live migration of a server with one %d MiB '
                  'namespace between two emulated hosts, through the API, '
                  'median of %d:' % (section['migration_namespace_mib'],
                                      section['migrations']), '']
        lines += _migration_table(section)
    return '\n'.join(lines)


def _migration_table(section):
    series = [('erase by zero-range', section)]
    if section.get('erase_by_writes'):
        series.append(('erase by writes (no zero-range)',
                       section['erase_by_writes']))
    rows = [('server ACTIVE on the destination', 'api_to_active_s'),
            ('source namespace erased (leaves `erasing`)',
             'api_to_source_erased_s'),
            ('(erased after ACTIVE, median of the differences)',
             'source_erased_after_active_s')]
    lines = ['| s from the API request to | %s |' % ' | '.join(
                 name for name, _data in series),
             '|%s|' % '|'.join(['---'] * (len(series) + 1))]
    for label, key in rows:
        lines.append('| %s | %s |' % (label, ' | '.join(
            _fmt(data.get(key)) for _name, data in series)))
    return lines


def plots(section, outdir):
    return []
