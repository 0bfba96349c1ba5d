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

"""Moving pages: file extents, real copies, and a bandwidth pacer.

The migration model charges every byte of guest memory against the
migration bandwidth, but only bytes that exist are copied: the holes of a
sparse backing file cost modelled time and no I/O, so a large, mostly empty
namespace migrates quickly at a high modelled bandwidth.
"""

import ctypes
import ctypes.util
import errno
import os
import time

from nova.virt.libvirt.emulator import constants as c

PAGE = c.PAGE_SIZE
# Largest real read/write done in one go (memory use, not modelled time).
MAX_IO = 4 * 1024 * 1024
# Time slice of the pacer: control requests (abort, speed, downtime,
# suspend) are noticed within this long.
SLICE_SECONDS = 0.05

_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_ZERO_RANGE = 0x10
_libc = None


def _page_down(value):
    return value - value % PAGE


def _page_up(value):
    return -(-value // PAGE) * PAGE


def extents(fd, size, start=0):
    """Yield (offset, length, is_data) covering [start, size), page aligned.

    Uses SEEK_DATA/SEEK_HOLE; a filesystem without them reports one data
    extent, which is merely slower.
    """
    pos = _page_down(start)
    while pos < size:
        try:
            data = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                yield pos, size - pos, True
                return
            data = size
        data = min(_page_down(data), size)
        if data >= size:
            yield pos, size - pos, False
            return
        if data > pos:
            yield pos, data - pos, False
        try:
            hole = os.lseek(fd, data, os.SEEK_HOLE)
        except OSError:
            hole = size
        hole = min(_page_up(hole), size)
        if hole <= data:
            hole = min(data + PAGE, size)
        yield data, hole - data, True
        pos = hole


def _zero_range(fd, offset, length):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
        _libc.fallocate.argtypes = (ctypes.c_int, ctypes.c_int,
                                    ctypes.c_longlong, ctypes.c_longlong)
    # Zeroed, not punched: namespace files stay allocated (see
    # nova.virt.libvirt.vpmem_backends.FileBackend).
    mode = _FALLOC_FL_ZERO_RANGE | _FALLOC_FL_KEEP_SIZE
    return _libc.fallocate(fd, mode, offset, length) == 0


def zero_range(fd, offset, length):
    """Make [offset, offset+length) of ``fd`` read as zeros.

    Only the parts holding data are touched, so a fresh sparse destination
    costs nothing; they are zeroed in place (FALLOC_FL_ZERO_RANGE, blocks
    kept), or overwritten where the filesystem cannot.
    """
    end = offset + length
    size = os.fstat(fd).st_size
    for ext_off, ext_len, is_data in extents(fd, min(end, size), offset):
        lo, hi = max(ext_off, offset), min(ext_off + ext_len, end)
        if not is_data or lo >= hi:
            continue
        try:
            punched = _zero_range(fd, lo, hi - lo)
        except (OSError, AttributeError):
            punched = False
        if not punched:
            zeros = bytes(min(MAX_IO, hi - lo))
            pos = lo
            while pos < hi:
                n = min(len(zeros), hi - pos)
                os.pwrite(fd, zeros[:n], pos)
                pos += n


def copy_range(src_fd, dst_fd, offset, length):
    """Copy real bytes; a source shorter than the range reads as zeros."""
    pos, end = offset, offset + length
    while pos < end:
        n = min(MAX_IO, end - pos)
        data = os.pread(src_fd, n, pos)
        if len(data) < n:
            data += bytes(n - len(data))
        os.pwrite(dst_fd, data, pos)
        pos += n


def page_runs(pages):
    """Group page numbers into (first page, count) runs."""
    runs = []
    for page in sorted(pages):
        if runs and runs[-1][0] + runs[-1][1] == page:
            runs[-1][1] += 1
        else:
            runs.append([page, 1])
    return [tuple(r) for r in runs]


class Pacer:
    """Makes transferred bytes take the time the bandwidth says.

    ``bandwidth`` is a callable returning bytes/s, read for every charge so
    a speed change applies at once; ``check`` is called at least every
    SLICE_SECONDS while waiting and raises to stop the transfer.
    """

    def __init__(self, bandwidth, check):
        self._bandwidth = bandwidth
        self._check = check
        self._due = time.monotonic()

    def slice_bytes(self):
        """How many bytes one time slice carries at the current speed."""
        return max(PAGE, _page_down(int(self._bandwidth() * SLICE_SECONDS)))

    def charge(self, nbytes):
        now = time.monotonic()
        # A transfer that fell behind (slow disk) does not earn a burst.
        self._due = max(self._due, now - SLICE_SECONDS)
        self._due += nbytes / float(self._bandwidth())
        while True:
            self._check()
            now = time.monotonic()
            if now >= self._due:
                return
            time.sleep(min(SLICE_SECONDS, self._due - now))

    def reset(self):
        self._due = time.monotonic()
