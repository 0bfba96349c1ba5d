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

"""The emulated guest's workload: a writer into its persistent memory.

A ``Workload`` plays the guest OS of one domain. While the domain runs it
writes stamped 4 KiB pages into the domain's nvdimm backing files at a set
rate, and it may also dirty (modelled) RAM. Every page it writes is:

* recorded (page -> last sequence number), so ``verify()`` can later prove
  that a file holds the last write of every page that was ever written;
* marked dirty while a migration logs dirty pages, which is what makes the
  migration iterate as QEMU's dirty bitmap would.

A page is written and marked dirty under one lock, and the migration's
bitmap sync takes the same lock, so a write is either wholly before a sync
(and copied by the pass that follows it) or wholly after it (and in the
next sync). ``pause()`` returns only when no write is in flight: that is
what makes the switchover copy final.

Page layout: magic (8 bytes) | domain uuid (16) | page index (u64) |
sequence (u64) | crc32 of all the rest (u32) | pattern derived from page
and sequence up to 4096 bytes. Only pages the workload wrote are checked by
``verify()``; pages it never wrote are not its business (compare whole
files for those).
"""

import os
import random
import struct
import threading
import time
import uuid as uuidlib
import zlib

from nova.virt.libvirt.emulator import constants as c

PAGE = c.PAGE_SIZE
MAGIC = b'EMUVPMEM'
_HEAD = struct.Struct('<8s16sQQ')
_CRC = struct.Struct('<I')
_BODY_LEN = PAGE - _HEAD.size - _CRC.size
# How often the writer wakes up; also bounds how late pause() can be.
_TICK = 0.01


def stamp_page(domain_uuid, page, seq):
    """The exact 4 KiB a workload writes as the ``seq``-th write."""
    head = _HEAD.pack(MAGIC, uuidlib.UUID(domain_uuid).bytes, page, seq)
    seed = struct.pack('<QQ', (page * 0x9E3779B97F4A7C15) & (2 ** 64 - 1),
                       seq ^ 0x5A5A5A5A5A5A5A5A)
    body = (seed * (_BODY_LEN // len(seed) + 1))[:_BODY_LEN]
    crc = zlib.crc32(head + body)
    return head + _CRC.pack(crc) + body


def read_stamp(data):
    """Decode a page: (uuid, page, seq) if it is a valid stamp, else None."""
    if len(data) != PAGE or not data.startswith(MAGIC):
        return None
    magic, raw_uuid, page, seq = _HEAD.unpack_from(data)
    (crc,) = _CRC.unpack_from(data, _HEAD.size)
    body = data[_HEAD.size + _CRC.size:]
    if zlib.crc32(data[:_HEAD.size] + body) != crc:
        return None
    return str(uuidlib.UUID(bytes=raw_uuid)), page, seq


class _Target:
    """One nvdimm the workload writes to."""

    def __init__(self, index, path, pages):
        self.index = index
        self.path = path
        self.pages = pages            # range of page indexes it may write
        self.fd = None


class Workload:
    """Writes stamped pages into a domain's nvdimm files while it runs.

    ``dirty_pages_per_second`` is the rate of real page writes (spread over
    all the domain's nvdimms); ``pages`` limits where they land: a range of
    page indexes, or a fraction of each namespace's guest-visible pages
    (from its start). ``ram_dirty_pages_per_second`` dirties modelled RAM
    (no bytes written) so a guest without nvdimm can still be busy.
    """

    def __init__(self, domain_uuid, dirty_pages_per_second=0, pages=1.0,
                 ram_dirty_pages_per_second=0, seed=None):
        self.domain_uuid = domain_uuid
        self.rate = float(dirty_pages_per_second)
        self.ram_rate = float(ram_dirty_pages_per_second)
        self.pages = pages
        self._rng = random.Random(seed if seed is not None else domain_uuid)
        self._lock = threading.Lock()      # held while a page is written
        self._gate = threading.Event()     # set while the guest runs
        self._stop = threading.Event()
        self._thread = None
        self._targets = []
        self._ram_pages = 0
        self._seq = 0
        self._next_target = 0
        # page records per nvdimm index, and every path an index ever had
        self.records = {}
        self._paths = {}
        self._logging = False
        self._dirty = {}
        self._ram_dirty = 0.0
        self.throttle = 0.0
        self.pages_written = 0
        # libvirt's dirty rate calculation: pages written (each counted
        # once) and RAM dirtied while the window is open.
        self._rate_pages = set()
        self._rate_ram = 0.0
        self._rate_until = None
        self._measuring = False

    # -- wiring to the domain ------------------------------------------------

    def attach(self, spec):
        """Point the writer at ``spec``'s nvdimms (the guest is paused)."""
        with self._lock:
            self._close_files()
            self._targets = []
            for nvdimm in spec.nvdimms:
                visible = nvdimm.visible_size // PAGE
                self._targets.append(
                    _Target(nvdimm.index, nvdimm.path,
                            self._page_range(visible)))
                self._paths[os.path.realpath(nvdimm.path)] = nvdimm.index
                self.records.setdefault(nvdimm.index, {})
            self._ram_pages = max(spec.ram_bytes // PAGE, 0)

    def _page_range(self, visible):
        if isinstance(self.pages, range):
            return range(max(self.pages.start, 0),
                         min(self.pages.stop, visible))
        count = int(visible * float(self.pages))
        return range(0, max(min(count, visible), 0))

    def _close_files(self):
        for target in self._targets:
            if target.fd is not None:
                os.close(target.fd)
                target.fd = None

    def resume(self):
        """The guest runs (again): start or release the writer thread."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, daemon=True,
                name='emulated-guest-%s' % self.domain_uuid)
            self._thread.start()
        self._gate.set()

    def pause(self):
        """The guest's vCPUs stop: no write is in flight when this returns."""
        self._gate.clear()
        with self._lock:
            pass

    def stop(self):
        """The guest is gone (destroyed or migrated away and shut off)."""
        self._stop.set()
        self._gate.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._gate.clear()
        with self._lock:
            self._close_files()

    @property
    def running(self):
        return self._gate.is_set() and not self._stop.is_set()

    # -- dirty page logging (the migration's view) ------------------------

    def start_dirty_log(self):
        with self._lock:
            self._logging = True
            self._dirty = {t.index: set() for t in self._targets}
            self._ram_dirty = 0.0

    def sync_dirty(self):
        """Return and reset what was dirtied since the last sync.

        Returns ({nvdimm index: set(pages)}, modelled RAM pages).
        """
        with self._lock:
            dirty = self._dirty
            self._dirty = {t.index: set() for t in self._targets}
            ram = int(min(self._ram_dirty, self._ram_pages))
            self._ram_dirty = 0.0
        return dirty, ram

    def pending_dirty_pages(self):
        """Pages dirtied since the last sync (for memory_remaining)."""
        count = sum(len(s) for s in list(self._dirty.values()))
        return count + int(min(self._ram_dirty, self._ram_pages))

    def start_rate_window(self, seconds):
        """Count what the guest dirties over the next ``seconds``."""
        with self._lock:
            self._rate_pages = set()
            self._rate_ram = 0.0
            self._rate_until = time.monotonic() + max(seconds, 0)

    def rate_window_bytes(self):
        """Bytes dirtied in the window so far, each page counted once
        (as QEMU's sampling sees a page rewritten twice as one)."""
        with self._lock:
            ram = min(self._rate_ram, self._ram_pages)
            return int((len(self._rate_pages) + ram) * PAGE)

    def stop_dirty_log(self):
        with self._lock:
            self._logging = False
            self._dirty = {}
            self._ram_dirty = 0.0

    # -- the guest ------------------------------------------------------------

    def _run(self):
        credit = 0.0
        last = time.monotonic()
        while not self._stop.is_set():
            if not self._gate.wait(0.05):
                last = time.monotonic()
                continue
            if self._stop.is_set():
                break
            now = time.monotonic()
            elapsed, last = min(now - last, 0.1), now
            speed = 1.0 - self.throttle
            credit += self.rate * speed * elapsed
            count = int(credit)
            credit -= count
            with self._lock:
                if not self._gate.is_set() or self._stop.is_set():
                    continue
                if self._logging:
                    self._ram_dirty += self.ram_rate * speed * elapsed
                self._measuring = (self._rate_until is not None and
                                   now <= self._rate_until)
                if self._measuring:
                    self._rate_ram += self.ram_rate * speed * elapsed
                for _ in range(count):
                    if not self._write_one():
                        break
            time.sleep(_TICK)

    def _write_one(self):
        """Write the next page; the caller holds the lock."""
        usable = [t for t in self._targets if len(t.pages)]
        if not usable:
            return False
        target = usable[self._next_target % len(usable)]
        self._next_target += 1
        page = target.pages[self._rng.randrange(len(target.pages))]
        if target.fd is None:
            target.fd = os.open(target.path, os.O_RDWR)
        self._seq += 1
        data = stamp_page(self.domain_uuid, page, self._seq)
        os.pwrite(target.fd, data, page * PAGE)
        self.records[target.index][page] = self._seq
        self.pages_written += 1
        if self._logging:
            self._dirty.setdefault(target.index, set()).add(page)
        if self._measuring:
            self._rate_pages.add((target.index, page))
        return True

    # -- checking -------------------------------------------------------------

    def index_of(self, path):
        return self._paths.get(os.path.realpath(path))

    def verify(self, path, index=None):
        """Check ``path`` against the record of the nvdimm it belongs to.

        Returns (ok, bad_pages): bad_pages lists every page the workload
        wrote whose last stamp is not what the file holds. ``index`` picks
        the nvdimm when ``path`` was never one of this guest's files.
        """
        if index is None:
            index = self.index_of(path)
        if index is None:
            raise ValueError('%s is not a backing file of domain %s'
                             % (path, self.domain_uuid))
        bad = []
        # Hold the writer off so no page is read half written.
        with self._lock:
            record = dict(self.records.get(index, {}))
            fd = os.open(path, os.O_RDONLY)
            try:
                for page in sorted(record):
                    got = os.pread(fd, PAGE, page * PAGE)
                    if got != stamp_page(self.domain_uuid, page,
                                         record[page]):
                        bad.append(page)
            finally:
                os.close(fd)
        return not bad, bad
