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

"""Data plane bench: real QEMU live migrations between two local libvirtds.

For each namespace size (256 and 1024 MiB) it measures, in one run:

(a) ``raw_loopback_s``: the same number of bytes copied over loopback TCP
    from a file to a reader that discards them (median of 3);
(b) ``bare_libvirt_s``: ``migrateToURI3`` of a guest like ours (same
    kernel, RAM and NVDIMM size, TCG) with the flags and parameters our
    driver sends, its namespace files allocated and erased as ours are;
(c) ``api_s``: ``POST os-migrateLive`` until the migration is
    ``completed``, on a nova-aio cloud whose computes drive the same two
    hosts. (b) and (c) alternate; medians.

and splits one API run into phases from the logs (nova's, and the debug
logs of both session daemons). This process adopts and reaps the QEMU
processes of its daemons (``local_hosts.adopt_qemu_processes``) and
every run starts after ``SETTLE_S`` of quiet: both for reasons of the
machine, explained in doc/source/contributor/performance/data_plane.inc.

Each size runs in a child process: the cloud configures process-global
state (oslo.config, logging), and a bench framework may host another
cloud in its own process.
"""

import argparse
import calendar
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid as uuid_lib
import xml.etree.ElementTree as ET

SECTION = 'data_plane'
SIZES_MIB = (256, 1024)
QUICK_SIZES_MIB = (256,)
ROUNDS = 3            # (b) and (c) each; alternated
QUICK_ROUNDS = 2
RAW_REPEATS = 3
# Seconds of quiet before each migration. This machine is a VM whose
# kernel reports freed memory to its host (free page reporting) about two
# seconds after it is freed; a page the host took back costs a host fault
# when touched again, and a destination QEMU touches the whole namespace
# while it starts. Without the pause a run started just after the other
# kind's clean-up freed memory got warm pages and the other cold ones.
SETTLE_S = 4
PAGE_REPORTING = '/sys/module/page_reporting/parameters/reported_kib'
RAM_MB = 64           # the guest's RAM (the flavor's)
WORKER_TIMEOUT = 1800
MIGRATION_TIMEOUT = 300
MiB = 1 << 20
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
RESULT_PREFIX = 'DATA_PLANE_RESULT '
PHASES = ('api_conductor', 'preflight', 'dest_qemu_start', 'copy',
          'switchover', 'libvirt_tail', 'post', 'erase')
# Debug logs of the daemons' QEMU driver: the migration phases,
# monitor events and process start/stop, with millisecond timestamps.
LOG_FILTERS = ('1:qemu.qemu_migration 1:qemu.qemu_process '
               '1:qemu.qemu_monitor 1:qemu.qemu_domain 1:qemu.qemu_driver '
               '1:conf.domain_conf 1:daemon.remote 3:util 3:rpc 3:object '
               '3:event 3:json 3:security 3:access')


# -- the parent: one child per size -----------------------------------------

def missing_requirements():
    """Why real hosts cannot run here; empty when they can."""
    if REPO not in sys.path:
        sys.path.insert(0, REPO)
    from nova.virt.libvirt import local_hosts
    return local_hosts.missing_requirements()


def _skipped(reason, sizes):
    section = {'skipped': reason}
    for size in sizes:
        section[str(size)] = {'raw_loopback_s': None, 'bare_libvirt_s': None,
                              'api_s': None, 'api_over_bare': None,
                              'api_over_raw': None, 'phases': None,
                              'skipped': reason}
    return section


def run(options, progress):
    """The ``data_plane`` section (see the module docstring)."""
    quick = bool(getattr(options, 'quick', False))
    sizes = QUICK_SIZES_MIB if quick else SIZES_MIB
    missing = missing_requirements()
    if missing:
        return _skipped('real libvirt hosts unavailable: missing %s'
                        % ', '.join(missing), SIZES_MIB)
    workdir = os.path.join(options.workdir, 'data-plane')
    section = {'sizes_mib': list(sizes),
               'rounds': QUICK_ROUNDS if quick else ROUNDS,
               'guest_ram_mb': RAM_MB}
    for size in sizes:
        progress('data plane: %d MiB namespace' % size)
        result = _run_child(size, section['rounds'], workdir, progress)
        section[str(size)] = result
        versions = result.pop('versions', None)
        if versions:
            section['versions'] = versions
    for size in SIZES_MIB:
        if size not in sizes:
            # The contract's keys, present in a --quick run too.
            section[str(size)] = _skipped('--quick: %s MiB only' % ', '.join(
                map(str, sizes)), [size])[str(size)]
    failed = [str(s) for s in sizes if section[str(s)].get('skipped')]
    if failed:
        section['skipped'] = '; '.join(
            '%s MiB: %s' % (s, section[s]['skipped']) for s in failed)
    return section


def _run_child(size, rounds, workdir, progress):
    out_dir = os.path.join(workdir, str(size))
    command = [sys.executable, os.path.abspath(__file__), '--size',
               str(size), '--rounds', str(rounds), '--workdir', out_dir]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    result = None
    try:
        child = subprocess.Popen(command, cwd=REPO, env=env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        return _skipped('could not start the worker: %s' % exc,
                        [size])[str(size)]
    tail = []
    timer = threading.Timer(WORKER_TIMEOUT, child.kill)
    timer.start()
    try:
        for line in child.stdout:
            line = line.rstrip('\n')
            if line.startswith(RESULT_PREFIX):
                result = json.loads(line[len(RESULT_PREFIX):])
            elif line.startswith('progress: '):
                progress('data plane %d MiB: %s' % (size, line[10:]))
            else:
                tail = (tail + [line])[-20:]
        child.wait()
    finally:
        timer.cancel()
    if result is None:
        return _skipped('worker exited %s without a result: %s' % (
            child.returncode, ' | '.join(tail[-5:])), [size])[str(size)]
    return result


# -- the child: hosts, cloud, guests ----------------------------------------

def _say(text):
    print('progress: %s' % text, flush=True)


def _traced_host_class():
    from nova.virt.libvirt import local_hosts

    class TracedHost(local_hosts.LocalHost):
        """A local host whose daemon logs its QEMU driver at debug level."""

        def _write_config(self):
            super()._write_config()
            path = os.path.join(self.base_dir, 'config', 'libvirt',
                                'libvirtd.conf')
            with open(path, 'w') as f:
                f.write('host_uuid = "%s"\n' % self.host_uuid)
                f.write('log_filters = "%s"\n' % LOG_FILTERS)
                f.write('log_outputs = "1:file:%s"\n' % self.log_path)

    return TracedHost


def start_hosts(base_dir, names, reap):
    """Two traced local hosts; ``reap``: see local_hosts.start_hosts."""
    from nova.virt.libvirt import local_hosts
    return local_hosts.start_hosts(base_dir, names, reap=reap,
                                   host_class=_traced_host_class())


def allocated_bytes(path):
    try:
        return os.stat(path).st_blocks * 512
    except OSError:
        return None


def bare_xml(xml_text, name, domain_uuid, nvdimm_path):
    """Our guest's migratable XML as another domain on another file."""
    root = ET.fromstring(xml_text)
    root.find('name').text = name
    root.find('uuid').text = domain_uuid
    for memory in root.iter('memory'):
        if memory.get('model') == 'nvdimm':
            memory.find('source/path').text = nvdimm_path
    return ET.tostring(root, encoding='unicode')


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def ratio(numerator, denominator):
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


# -- namespace files like ours ----------------------------------------------

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10


def make_allocated(path, size):
    """A namespace file with disk blocks for all its bytes (fallocate)."""
    from nova.virt.libvirt import vpmem_backends
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.ftruncate(fd, size)
        if not vpmem_backends.fallocate(fd, 0, 0, size):
            _write_zeros(fd, size)
    finally:
        os.close(fd)


def erase_allocated(path):
    """Zero a namespace file keeping its blocks, as an allocated erase
    does (zero range: unwritten extents; the page cache dropped)."""
    from nova.virt.libvirt import vpmem_backends
    fd = os.open(path, os.O_RDWR)
    try:
        size = os.fstat(fd).st_size
        if not vpmem_backends.fallocate(
                fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, size):
            _write_zeros(fd, size)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, size, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def punch_holes(path):
    """Make a namespace file sparse, as the erase of earlier releases
    left every namespace a guest gave up (to measure what it cost)."""
    from nova.virt.libvirt import vpmem_backends
    fd = os.open(path, os.O_RDWR)
    try:
        vpmem_backends.fallocate(fd, FALLOC_FL_PUNCH_HOLE |
                                 FALLOC_FL_KEEP_SIZE, 0,
                                 os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _write_zeros(fd, size):
    chunk = b'\0' * (4 * MiB)
    offset = 0
    while offset < size:
        offset += os.pwrite(fd, chunk[:min(len(chunk), size - offset)],
                            offset)


# -- (a) raw loopback copy --------------------------------------------------

def raw_loopback_seconds(path, size):
    """Seconds to send ``size`` bytes of ``path`` over loopback TCP to a
    reader that discards them (sendfile on the sender)."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    received = []

    def reader():
        conn, _ = server.accept()
        total = 0
        with conn:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        received.append(total)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    started = time.monotonic()
    with socket.create_connection(server.getsockname()) as sender, \
            open(path, 'rb') as f:
        sent = 0
        while sent < size:
            sent += os.sendfile(sender.fileno(), f.fileno(), sent,
                                size - sent)
    thread.join()
    elapsed = time.monotonic() - started
    server.close()
    if received != [size]:
        raise RuntimeError('loopback copy received %s of %d bytes'
                           % (received, size))
    return elapsed


# -- phases from the logs ---------------------------------------------------

_LIBVIRT_TS = re.compile(
    r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\+0000: \d+: \w+ : (.*)$')
_NOVA_TS = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \d+ (.*)$')


def _utc_epoch(stamp):
    base, millis = stamp.split('.')
    return calendar.timegm(time.strptime(base, '%Y-%m-%d %H:%M:%S')) + \
        int(millis) / 1000.0


def _local_epoch(stamp):
    base, millis = stamp.split('.')
    return time.mktime(time.strptime(base, '%Y-%m-%d %H:%M:%S')) + \
        int(millis) / 1000.0


def read_log(path, pattern, to_epoch, since, until):
    """``[(epoch, text)]`` of the log's lines between two epochs."""
    lines = []
    try:
        with open(path, errors='replace') as f:
            for line in f:
                match = pattern.match(line)
                if not match:
                    continue
                when = to_epoch(match.group(1))
                # Runs follow each other closely: no slack.
                if since - 0.005 <= when <= until + 0.005:
                    lines.append((when, match.group(2)))
    except OSError:
        pass
    return lines


def _first(lines, *needles, after=None):
    for when, text in lines:
        if after is not None and when < after:
            continue
        if all(n in text for n in needles):
            return when
    return None


def _last(lines, *needles):
    found = None
    for when, text in lines:
        if all(n in text for n in needles):
            found = when
    return found


def marks_of_run(nova_log, source_log, dest_log, domain_name, posted,
                 completed_seen, settled):
    """Timestamps (epoch) of one API migration's milestones."""
    nova = read_log(nova_log, _NOVA_TS, _local_epoch, posted, settled)
    src = read_log(source_log, _LIBVIRT_TS, _utc_epoch, posted, settled)
    dst = read_log(dest_log, _LIBVIRT_TS, _utc_epoch, posted, settled)
    marks = {'posted': posted, 'completed_seen': completed_seen}
    marks['preflight_start'] = _first(src, 'startDirtyRateCalc') or \
        _first(src, 'qemuDomainStartDirtyRateCalc')
    marks['driver_start'] = _first(nova, 'Live migration of', 'starts')
    marks['dest_qemu_start'] = _first(dst, 'qemuProcessLaunch')
    marks['copy_start'] = _first(src, '"MIGRATION"', '"active"')
    marks['copy_end'] = _first(src, '"MIGRATION"', '"completed"')
    marks['source_qemu_stop'] = _first(src, 'qemuProcessStop',
                                       domain_name)
    marks['driver_done'] = _first(nova, 'Live migration of', 'completed:')
    erase = re.search(r'erase took ([\d.]+)s', next(
        (text for _w, text in nova
         if 'Namespaces given up by instance' in text), ''))
    marks['erase_s'] = float(erase.group(1)) if erase else None
    return marks


def phases_from_marks(marks):
    """Seconds per phase of one API run (None where a mark is missing)."""
    def span(start, end):
        a, b = marks.get(start), marks.get(end)
        return round(b - a, 3) if a is not None and b is not None else None

    preflight_from = 'preflight_start' if marks.get('preflight_start') \
        else 'driver_start'
    return {
        'api_conductor': span('posted', preflight_from),
        'preflight': span('preflight_start', 'driver_start'),
        'dest_qemu_start': span('driver_start', 'copy_start'),
        'copy': span('copy_start', 'copy_end'),
        'switchover': span('copy_end', 'source_qemu_stop'),
        'libvirt_tail': span('source_qemu_stop', 'driver_done'),
        'post': span('driver_done', 'completed_seen'),
        'erase': marks.get('erase_s'),
    }


# -- the child's measurement -------------------------------------------------

class Bench:
    """One size: hosts, a cloud on them, our guest and a bare one."""

    def __init__(self, size_mib, rounds, workdir, reaper=True, conf=(),
                 bare_first=False, punch_holes=False):
        self.bare_first = bare_first
        self.punch_holes = punch_holes
        self.reaper = reaper
        self.conf = list(conf)
        self.size = size_mib * MiB
        self.size_mib = size_mib
        self.rounds = rounds
        self.workdir = os.path.abspath(workdir)
        self.hosts = {}
        self.cloud = None
        self.conns = {}

    # set-up and tear-down

    def start(self):
        from nova.aio import cloud as aio_cloud
        from nova.virt.libvirt import local_hosts
        if os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir)
        os.makedirs(self.workdir)
        state = os.path.join(self.workdir, 'state')
        aio_cloud.init_process(state)
        if self.reaper:
            # Before any daemon starts: QEMU is adopted when it is
            # daemonized. local_hosts may do it itself one day.
            from nova.virt.libvirt import local_hosts
            self.reaper = local_hosts.adopt_qemu_processes()
        for item in self.conf:
            name, value = item.split('=', 1)
            group, option = name.split('.', 1)
            aio_cloud.CONF.set_override(option, value, group=group)
        _say('starting two local libvirt hosts')
        started = start_hosts(os.path.join(self.workdir, 'hosts'),
                              aio_cloud.HOSTS, reap=bool(self.reaper))
        self.hosts = {h.name: h for h in started}
        kernel = local_hosts.build_guest(os.path.join(self.workdir,
                                                      'guest'))
        images = os.path.join(self.workdir, 'images.json')
        with open(images, 'w') as f:
            json.dump([{'id': str(uuid_lib.uuid4()), 'name': 'bench-guest',
                        'properties': {'kernel': kernel}}], f)
        aio_cloud.CONF.set_override('images_file', images, group='api')
        options = aio_cloud.CloudOptions(
            state_dir=state, namespace_mib=self.size_mib,
            namespaces_per_host=1, bandwidth_mib=0)
        self.cloud = aio_cloud.Cloud(options, hypervisor_overrides={
            name: host.conf_overrides() for name, host in self.hosts.items()})
        _say('starting the cloud')
        self.cloud.start()
        self.nova_log = os.path.join(state, aio_cloud.LOG_FILE)

    def stop(self):
        from nova.virt.libvirt import local_hosts
        for conn in self.conns.values():
            try:
                conn.close()
            except Exception:
                pass
        if self.cloud is not None:
            self.cloud.stop()
        if self.hosts:
            local_hosts.stop_hosts(list(self.hosts.values()))

    def conn(self, host):
        import libvirt
        if host not in self.conns:
            self.conns[host] = libvirt.open(self.hosts[host].uri)
        return self.conns[host]

    # our guest, through the API

    def boot(self):
        from nova.aio import demo
        from nova.aio import http
        self.api = http.compute_client(self.cloud.api_endpoint, '2.30')
        demo.create_flavor(self.api, argparse.Namespace(ram_mb=RAM_MB,
                                                        vpmem_count=1))
        server = demo.boot_on(self.cloud, self.api, 'compute-a',
                              'bench-guest')
        self.server_id = server['id']
        self.where = 'compute-a'

    def api_migration(self, dest):
        """Seconds from POST to ``completed``; marks for the phases."""
        before = {r['id'] for r in self.api.get(
            '/os-migrations?instance_uuid=%s' % self.server_id)['migrations']}
        dest_file = os.path.join(self.hosts[dest].namespace_dir, 'ns0')
        if self.punch_holes:
            punch_holes(dest_file)
        allocated = allocated_bytes(dest_file)
        erased_before = self._erase_lines()
        log = open(self.nova_log, errors='replace')
        log.seek(0, os.SEEK_END)
        posted = time.time()
        started = time.monotonic()
        self.api.post('/servers/%s/action' % self.server_id,
                      {'os-migrateLive': {'host': dest,
                                          'block_migration': 'auto'}})
        try:
            status = self._wait_final(log, before, started)
        finally:
            log.close()
        elapsed = time.monotonic() - started
        completed_seen = time.time()
        rows = [r for r in self.api.get(
            '/os-migrations?instance_uuid=%s' % self.server_id)[
            'migrations'] if r['id'] not in before]
        if status != 'completed' or rows[0]['status'] != 'completed':
            raise RuntimeError('API migration ended %s (API: %s)' % (
                status, rows[0]['status'] if rows else None))
        source, self.where = self.where, dest
        self.wait_erased(source, erased_before)
        return elapsed, {'posted': posted, 'completed_seen': completed_seen,
                         'settled': time.time(), 'source': source,
                         'dest': dest,
                         'dest_file_allocated_bytes': allocated}

    def _wait_final(self, log, before, started):
        """The migration's final status, seen as soon as it is reached.

        The source compute logs the completion right after saving it, so
        the log is watched every 20 ms (cheap); the API, which costs the
        cloud's process CPU that QEMU on this small machine would miss,
        only every second, for the other final statuses.
        """
        from nova.aio import demo
        needle = '%s to ' % self.server_id
        pending = ''
        next_api = started + 1.0
        while True:
            pending += log.read()
            lines = pending.split('\n')
            pending = lines.pop()
            if any(needle in line and 'after it was requested' in line
                   for line in lines):
                return 'completed'
            now = time.monotonic()
            if now >= next_api:
                next_api = now + 1.0
                rows = [r for r in self.api.get(
                    '/os-migrations?instance_uuid=%s' % self.server_id)[
                    'migrations'] if r['id'] not in before]
                status = rows[0]['status'] if rows else None
                if status in demo.FINAL_STATUSES:
                    return status
            if now > started + MIGRATION_TIMEOUT:
                raise RuntimeError('API migration not done after %d s'
                                   % MIGRATION_TIMEOUT)
            time.sleep(0.02)

    def wait_erased(self, host, erased_before, timeout=120):
        """Until ``host`` logged the erase of what the guest left there
        (off the migration's critical path, but it must not overlap the
        next run)."""
        deadline = time.monotonic() + timeout
        while self._erase_lines() <= erased_before:
            if time.monotonic() > deadline:
                raise RuntimeError('the erase on %s did not end' % host)
            time.sleep(0.1)

    def _erase_lines(self):
        try:
            with open(self.nova_log, errors='replace') as f:
                return sum('Namespaces given up by instance' in line
                           for line in f)
        except OSError:
            return 0

    # the bare guest, through libvirt only

    def define_bare(self):
        import libvirt
        ours = self.conn(self.where).lookupByUUIDString(self.server_id)
        self.template = ours.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        self.bare_uuid = str(uuid_lib.uuid4())
        self.bare_name = 'bench-bare'
        self.bare_files = {}
        for name, host in self.hosts.items():
            path = os.path.join(host.namespace_dir, 'bare.img')
            make_allocated(path, self.size)
            host.grant(path)
            self.bare_files[name] = path
        xml = bare_xml(self.template, self.bare_name, self.bare_uuid,
                       self.bare_files['compute-a'])
        domain = self.conn('compute-a').defineXML(xml)
        domain.create()
        self.bare_where = 'compute-a'

    def bare_migration(self, dest):
        """Seconds of migrateToURI3, flags and params as our driver's."""
        import libvirt
        from nova import conf
        from nova.virt.libvirt import live_migration as dlm
        from nova.virt.libvirt import migration as lm
        opts = conf.CONF.libvirt
        domain = self.conn(self.bare_where).lookupByUUIDString(
            self.bare_uuid)
        xml = bare_xml(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE),
                       self.bare_name, self.bare_uuid, self.bare_files[dest])
        flags = lm.migration_flags(
            libvirt, True, opts.live_migration_permit_post_copy,
            opts.live_migration_permit_auto_converge,
            opts.live_migration_tunnelled,
            opts.live_migration_parallel_connections)
        dest_uri = self.hosts[dest].uri
        migrate_uri, listen = dlm.migration_stream_address(
            dest_uri, '127.0.0.1', opts.live_migration_tunnelled)
        params = lm.build_params(
            libvirt, xml, 0, migrate_uri, listen, lm.stream_connections(
                opts.live_migration_tunnelled,
                opts.live_migration_parallel_connections))
        source = self.bare_where
        began = time.time()
        started = time.monotonic()
        domain.migrateToURI3(dest_uri, params, flags)
        elapsed = time.monotonic() - started
        returned = time.time()
        self.bare_where = dest
        # What our erase leaves behind, so the next arrival there meets
        # the file state ours would.
        erase_allocated(self.bare_files[source])
        return elapsed, {'began': began, 'returned': returned,
                         'source': source, 'dest': dest}

    # the whole size

    def measure(self):
        other = {'compute-a': 'compute-b', 'compute-b': 'compute-a'}
        raw = []
        for _ in range(RAW_REPEATS):
            raw.append(raw_loopback_seconds(self.bare_files['compute-a'],
                                            self.size))
        _say('raw loopback %s s' % median(raw))
        api, bare, runs, bare_runs = [], [], [], []
        for index in range(self.rounds):
            for kind in (('bare', 'api') if self.bare_first else
                         ('api', 'bare')):
                time.sleep(SETTLE_S)
                if kind == 'api':
                    seconds, marks = self.api_migration(other[self.where])
                    api.append(seconds)
                    runs.append(marks)
                else:
                    seconds, marks = self.bare_migration(
                        other[self.bare_where])
                    bare.append(seconds)
                    bare_runs.append(marks)
                _say('%s run %d: %.2f s' % (kind, index + 1, seconds))
        # The phases of the API run closest to the median.
        mid = median(api)
        pick = min(range(len(api)), key=lambda i: abs(api[i] - mid))
        chosen = runs[pick]
        marks = marks_of_run(
            self.nova_log, self.hosts[chosen['source']].log_path,
            self.hosts[chosen['dest']].log_path, self.server_id,
            chosen['posted'], chosen['completed_seen'], chosen['settled'])
        api_tails = [self.api_tail(r) for r in runs]
        bare_tails = [self.bare_tail(r) for r in bare_runs]
        result = {
            'raw_loopback_s': median(raw),
            'bare_libvirt_s': median(bare),
            'api_s': median(api),
            'raw_runs_s': [round(v, 3) for v in raw],
            'bare_runs_s': [round(v, 3) for v in bare],
            'api_runs_s': [round(v, 3) for v in api],
            'api_libvirt_tail_runs_s': api_tails,
            'bare_libvirt_tail_runs_s': bare_tails,
            # QEMU's own start on the destination (its memory backend
            # pre-allocated): from its launch to its monitor answering.
            'api_dest_qemu_init_runs_s': [
                self.qemu_init(r['dest'], r['posted'], r['completed_seen'])
                for r in runs],
            'bare_dest_qemu_init_runs_s': [
                self.qemu_init(r['dest'], r['began'], r['returned'])
                for r in bare_runs],
            # From the migration call to the copy's start (source QEMU's
            # MIGRATION "active" event): libvirt's Begin and Prepare, the
            # destination QEMU's start, the connection.
            'api_call_to_copy_runs_s': [
                self.to_copy(r['source'], r['posted'], r['completed_seen'],
                             self._driver_start(r)) for r in runs],
            'bare_call_to_copy_runs_s': [
                self.to_copy(r['source'], r['began'], r['returned'],
                             r['began']) for r in bare_runs],
            'order': 'bare first' if self.bare_first else 'API first',
            'api_dest_file': 'holes punched before each run'
                             if self.punch_holes else 'as the backend left it',
            'qemu_reaper': self.reaper,
            'settle_s': SETTLE_S,
            'free_page_reporting': os.path.exists(PAGE_REPORTING),
            'conf': self.conf,
            'dest_file_allocated_mib': [
                None if r['dest_file_allocated_bytes'] is None else
                round(r['dest_file_allocated_bytes'] / MiB, 1)
                for r in runs],
            'bare_file': 'fallocate, erased by zero range, page cache '
                         'dropped',
            'phases': phases_from_marks(marks),
            'phase_run': pick + 1,
            'marks': {k: v for k, v in marks.items()},
            'logs': {'nova': self.nova_log,
                     'source_libvirtd': self.hosts[
                         chosen['source']].log_path,
                     'dest_libvirtd': self.hosts[chosen['dest']].log_path},
        }
        result['api_over_bare'] = ratio(result['api_s'],
                                        result['bare_libvirt_s'])
        result['api_over_raw'] = ratio(result['api_s'],
                                       result['raw_loopback_s'])
        result['versions'] = self.versions()
        return result

    def _stop_time(self, host, name, since, until):
        lines = read_log(self.hosts[host].log_path, _LIBVIRT_TS, _utc_epoch,
                         since, until)
        return _last([(w, t) for w, t in lines if w <= until],
                     'qemuProcessStop', 'Shutting down', name)

    def qemu_init(self, host, since, until):
        lines = read_log(self.hosts[host].log_path, _LIBVIRT_TS, _utc_epoch,
                         since, until)
        launched = _first(lines, 'Waiting for monitor to show up')
        answered = _first(lines, 'setting up hotpluggable cpus',
                          after=launched)
        return round(answered - launched, 3) if launched and answered \
            else None

    def _driver_start(self, run):
        nova = read_log(self.nova_log, _NOVA_TS, _local_epoch, run['posted'],
                        run['completed_seen'])
        return _first(nova, 'Live migration of', 'starts')

    def to_copy(self, source, since, until, called):
        lines = read_log(self.hosts[source].log_path, _LIBVIRT_TS,
                         _utc_epoch, since, until)
        active = _first(lines, '"MIGRATION"', '"active"')
        return round(active - called, 3) if active and called else None

    def api_tail(self, run):
        """Source QEMU stop to our driver's end, for one API run."""
        stop = self._stop_time(run['source'], self.server_id, run['posted'],
                               run['completed_seen'])
        nova = read_log(self.nova_log, _NOVA_TS, _local_epoch, run['posted'],
                        run['completed_seen'])
        done = _first(nova, 'Live migration of', 'completed:')
        return round(done - stop, 3) if stop and done else None

    def bare_tail(self, run):
        """Source QEMU stop to migrateToURI3's return, for one bare run."""
        stop = self._stop_time(run['source'], self.bare_name,
                               run['returned'] - MIGRATION_TIMEOUT,
                               run['returned'])
        return round(run['returned'] - stop, 3) if stop else None

    def versions(self):
        from importlib import metadata
        conn = self.conn('compute-a')

        def dotted(v):
            return '%d.%d.%d' % (v // 1000000, v // 1000 % 1000, v % 1000)
        try:
            binding = metadata.version('libvirt-python')
        except metadata.PackageNotFoundError:
            binding = None
        return {'libvirt': dotted(conn.getLibVersion()),
                'qemu': dotted(conn.getVersion()),
                'libvirt_python': binding}


def child_main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--size', type=int, required=True)
    parser.add_argument('--rounds', type=int, default=ROUNDS)
    parser.add_argument('--workdir', required=True)
    parser.add_argument('--no-reaper', action='store_true',
                        help='leave orphaned QEMU processes to PID 1')
    parser.add_argument('--conf', action='append', default=[],
                        metavar='GROUP.OPTION=VALUE',
                        help='a nova option for every service')
    parser.add_argument('--bare-first', action='store_true',
                        help='in each round, the bare run before the API '
                             'run')
    parser.add_argument('--punch-holes', action='store_true',
                        help="make our destination's namespace file sparse "
                             'before each API run (the erase of earlier '
                             'releases)')
    args = parser.parse_args(argv)
    bench = Bench(args.size, args.rounds, args.workdir,
                  reaper=not args.no_reaper, conf=args.conf,
                  bare_first=args.bare_first, punch_holes=args.punch_holes)
    try:
        bench.start()
        bench.boot()
        bench.define_bare()
        result = bench.measure()
    except Exception as exc:
        import traceback
        traceback.print_exc()
        result = _skipped('%s: %s' % (type(exc).__name__, exc),
                          [args.size])[str(args.size)]
    finally:
        try:
            bench.stop()
        except Exception as exc:
            print('stopping: %s' % exc, flush=True)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# -- presentation -------------------------------------------------------------

def _fmt(value, unit=''):
    if value is None:
        return 'n/a'
    return '%.2f%s' % (value, unit)


def markdown(section):
    sizes = section.get('sizes_mib') or [
        int(k) for k in section if k.isdigit()]
    lines = ['### Data plane (real libvirt + QEMU, TCG guest)', '']
    if section.get('skipped') and not any(
            section.get(str(s), {}).get('api_s') for s in sizes):
        lines.append('Skipped: %s' % section['skipped'])
        return '\n'.join(lines) + '\n'
    lines += ['| namespace | (a) raw loopback | (b) bare libvirt | '
              '(c) API | (c)/(b) | (c)/(a) |',
              '|---|---|---|---|---|---|']
    for size in sizes:
        row = section.get(str(size)) or {}
        lines.append('| %d MiB | %s | %s | %s | %s | %s |' % (
            size, _fmt(row.get('raw_loopback_s'), ' s'),
            _fmt(row.get('bare_libvirt_s'), ' s'),
            _fmt(row.get('api_s'), ' s'), _fmt(row.get('api_over_bare')),
            _fmt(row.get('api_over_raw'))))
    lines += ['', 'Phases of one API run (s):', '',
              '| namespace | %s |' % ' | '.join(PHASES),
              '|---|%s' % ('---|' * len(PHASES))]
    for size in sizes:
        phases = (section.get(str(size)) or {}).get('phases') or {}
        lines.append('| %d MiB | %s |' % (size, ' | '.join(
            _fmt(phases.get(p)) for p in PHASES)))
    return '\n'.join(lines) + '\n'


def plots(section, outdir):
    sizes = [s for s in section.get('sizes_mib') or []
             if (section.get(str(s)) or {}).get('phases')]
    if not sizes:
        return []
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot
    figure, axes = pyplot.subplots(figsize=(7, 3.2))
    left = [0.0] * len(sizes)
    labels = ['%d MiB' % s for s in sizes]
    for phase in PHASES:
        if phase == 'erase':
            continue  # off the critical path
        widths = [(section[str(s)]['phases'].get(phase) or 0.0)
                  for s in sizes]
        axes.barh(labels, widths, left=left, label=phase)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.scatter([section[str(s)].get('bare_libvirt_s') or 0
                  for s in sizes], labels, color='black', marker='|', s=400,
                 label='bare libvirt', zorder=3)
    axes.set_xlabel('seconds (one API run; | = bare libvirt median)')
    axes.legend(fontsize='small', ncol=4, loc='upper center',
                bbox_to_anchor=(0.5, -0.25))
    figure.tight_layout()
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, 'data_plane_phases.png')
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return [path]


if __name__ == '__main__':
    sys.exit(child_main())
