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

"""The vpmem stamp guest: build it, and read back what it wrote.

``stamp.S`` is a multiboot kernel of a few hundred bytes that QEMU boots
straight from ``<os><kernel>`` (no disk). It keeps stamping every page of
the guest's NVDIMMs with the pass number it is in, so after a live
migration the destination's namespace files show whether any guest write
was lost (a page older than the guest's cursor says) or torn (a page whose
words disagree). The layout is described at the top of ``stamp.S``; this
module is its host side:

* :func:`build` assembles and links it with the machine's binutils;
* :func:`command_line` is the kernel command line that sets its pace
  (without one it writes at its own, a few hundred pages a second);
* :func:`read_control` reads the guest's control page from a namespace;
* :func:`request_stop` / :func:`wait_halted` stop the guest between two
  pages, so the files can be checked at rest, :func:`request_resume`
  lets it go on;
* :func:`verify` checks the namespace files of one guest page by page.
"""

import dataclasses
import os
import shutil
import struct
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, 'stamp.S')
LINKER_SCRIPT = os.path.join(HERE, 'stamp.ld')
KERNEL_NAME = 'vpmem-stamp.elf'

PAGE = 4096
CHUNK_PAGES = 512                  # 2 MiB, the guest's probing unit
# The guest looks at 32 GiB of NVDIMM space, a GiB at a time; its control
# page marks the chunks it found, one bit each.
WINDOW_CHUNKS = 16384
_BITMAP_BYTES = WINDOW_CHUNKS // 8
PAGE_MAGIC = 0x534D5056            # 'VPMS'
CTRL_MAGIC = 0x434D5056            # 'VPMC'
RUNNING = b'RUN!'
HALTED = b'HALT'
STOP = b'STOP'
GOLDEN = 0x9E3779B1
# QEMU keeps an NVDIMM's label area at the end of its backing file and
# maps what precedes it, rounded down to the alignment, into the guest.
LABEL_BYTES = 128 * 1024
ALIGN_BYTES = 2 * 1024 * 1024

_CTRL = struct.Struct('<IIII4s4sIIII')  # magic, pass, cursor, written,
_CTRL_REQUEST_OFFSET = 20              # status, request, first, chunks,
                                       # TSC Hz, pages/s asked for
_BITMAP_OFFSET = 64


class BuildError(Exception):
    pass


def command_line(pages_per_second):
    """The kernel command line that paces the guest (image property
    ``cmdline``): at most ``pages_per_second`` data pages a second."""
    return 'pages_per_second=%d' % int(pages_per_second)


def tools_missing():
    """The binutils programs :func:`build` needs that are not installed."""
    return [tool for tool in ('as', 'ld') if shutil.which(tool) is None]


def build(out_dir):
    """Assemble and link the guest into ``out_dir``; the kernel's path."""
    missing = tools_missing()
    if missing:
        raise BuildError('cannot build the stamp guest: %s not found '
                         '(apt-get install binutils)' % ', '.join(missing))
    os.makedirs(out_dir, exist_ok=True)
    obj = os.path.join(out_dir, 'vpmem-stamp.o')
    kernel = os.path.join(out_dir, KERNEL_NAME)
    for cmd in (['as', '--32', '-o', obj, SOURCE],
                ['ld', '-m', 'elf_i386', '-T', LINKER_SCRIPT, '-o', kernel,
                 obj]):
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode:
            raise BuildError('%s failed (exit %d): %s' % (
                ' '.join(cmd), result.returncode, result.stderr.strip()))
    os.chmod(kernel, 0o644)
    return kernel


# -- the control page ---------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Control:
    """The guest's control page (first page of its first NVDIMM)."""

    pass_number: int       # the pass being written
    cursor: int            # last page of that pass written completely
    written: int           # pages written since boot
    status: bytes          # RUNNING or HALTED
    first_page: int        # page number of the control page
    present_chunks: tuple  # 2 MiB chunk numbers the guest found
    # Page numbers count from the start of the NVDIMM space (guest
    # physical 4 GiB), across every NVDIMM of the guest.
    tsc_hz: int = 0              # its TSC calibration (paced guests)
    pages_per_second: int = 0    # the pace it was given, 0: its own


def read_control(path):
    """The Control of the namespace file ``path``, or None if it has none."""
    with open(path, 'rb') as f:
        head = f.read(_BITMAP_OFFSET + _BITMAP_BYTES)
    if len(head) < _BITMAP_OFFSET + _BITMAP_BYTES:
        return None
    (magic, pass_number, cursor, written, status, _request, first,
     _count, tsc_hz, pace) = _CTRL.unpack_from(head)
    if magic != CTRL_MAGIC:
        return None
    bitmap = head[_BITMAP_OFFSET:_BITMAP_OFFSET + _BITMAP_BYTES]
    return Control(pass_number, cursor, written, status, first,
                   chunks_of_bitmap(bitmap), tsc_hz, pace)


def chunks_of_bitmap(bitmap):
    """Chunk numbers whose bit is set (bit c of byte c // 8, as x86 bts)."""
    return tuple(index * 8 + bit for index, byte in enumerate(bitmap)
                 if byte for bit in range(8) if byte >> bit & 1)


def bitmap_of_chunks(chunks):
    """The control page's bitmap marking ``chunks`` (the inverse)."""
    bitmap = bytearray(_BITMAP_BYTES)
    for chunk in chunks:
        bitmap[chunk // 8] |= 1 << (chunk % 8)
    return bytes(bitmap)


def request_stop(path):
    """Ask the guest whose control page is in ``path`` to stop stamping."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, STOP, _CTRL_REQUEST_OFFSET)
    finally:
        os.close(fd)


def request_resume(path, timeout=30):
    """Withdraw the stop request; returns once the guest writes again."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes(len(STOP)), _CTRL_REQUEST_OFFSET)
    finally:
        os.close(fd)
    return _wait_status(path, RUNNING, timeout)


def wait_halted(path, timeout=30):
    """Wait until the guest acknowledged the stop; its Control."""
    return _wait_status(path, HALTED, timeout)


def _wait_status(path, status, timeout):
    deadline = time.monotonic() + timeout
    while True:
        control = read_control(path)
        if control is not None and control.status == status:
            return control
        if time.monotonic() > deadline:
            raise TimeoutError('the stamp guest in %s did not reach status '
                               '%s within %d s (control page: %s)'
                               % (path, status.decode(), timeout, control))
        time.sleep(0.1)


# -- checking the pages ------------------------------------------------------

# Words 3..1023 of a stamped page are key ^ k; XOR of whole big integers
# computes the 1021 words at once.
_FILL_WORDS = 1024 - 3
_WORD_INDEXES = int.from_bytes(struct.pack('<%dI' % _FILL_WORDS,
                                           *range(3, 1024)), 'little')
_REPEAT_WORD = int.from_bytes(struct.pack('<%dI' % _FILL_WORDS,
                                          *[1] * _FILL_WORDS), 'little')


def expected_page(page_number, pass_number):
    """The bytes pass ``pass_number`` writes into page ``page_number``."""
    if pass_number == 0:
        return bytes(PAGE)
    # The guest computes in 32-bit registers: beyond 16 GiB of NVDIMM
    # space g << 10 loses its high bits there, so it must here too.
    key = ((pass_number * GOLDEN) ^ (page_number << 10)) & 0xFFFFFFFF
    fill = (_WORD_INDEXES ^ (_REPEAT_WORD * key)).to_bytes(
        _FILL_WORDS * 4, 'little')
    return struct.pack('<3I', PAGE_MAGIC, page_number, pass_number) + fill


def guest_pages(file_size, label=LABEL_BYTES, align=ALIGN_BYTES):
    """Pages of a namespace file that QEMU maps into the guest."""
    return (file_size - label) // align * align // PAGE


@dataclasses.dataclass
class PatternReport:
    """What :func:`verify` found, over every file of one guest."""

    control: Control = None
    pages_checked: int = 0
    pages_stamped: int = 0       # pages holding a stamp of some pass
    problems: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return self.control is not None and not self.problems

    def __str__(self):
        head = ('%d pages checked, %d stamped, pass %s, cursor %s'
                % (self.pages_checked, self.pages_stamped,
                   getattr(self.control, 'pass_number', None),
                   getattr(self.control, 'cursor', None)))
        if not self.problems:
            return head + ': OK'
        return '%s: %d problem(s): %s' % (head, len(self.problems),
                                           '; '.join(self.problems[:10]))


def _describe_page(data):
    if not any(data):
        return 'zeros'
    magic, number, pass_number = struct.unpack_from('<III', data)
    if magic != PAGE_MAGIC:
        return 'no stamp (first word %#x)' % magic
    if data == expected_page(number, pass_number):
        return 'page %d of pass %d' % (number, pass_number)
    return 'a torn stamp (header says page %d pass %d)' % (number,
                                                           pass_number)


def verify(paths, label=LABEL_BYTES, align=ALIGN_BYTES, max_problems=50):
    """Check the namespace files of one guest, in its device order.

    The control page (in the first file) gives the guest's pass and
    cursor and the chunks it stamps; each file takes the next present
    chunks in order. A data page must be exactly what its pass wrote:
    pages up to the cursor the current pass, later ones the previous pass
    (zeros before the first pass ended). Stop the guest first
    (:func:`request_stop`); a running guest's files change under reading.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    report = PatternReport(control=read_control(paths[0]))
    control = report.control
    if control is None:
        report.problems.append('%s has no control page: the guest never '
                               'ran on it' % paths[0])
        return report
    chunks = list(control.present_chunks)

    def problem(text):
        if len(report.problems) < max_problems:
            report.problems.append(text)
        elif len(report.problems) == max_problems:
            report.problems.append('more problems not listed')

    for path in paths:
        size = os.path.getsize(path)
        pages = guest_pages(size, label, align)
        own, chunks = chunks[:pages // CHUNK_PAGES], chunks[
            pages // CHUNK_PAGES:]
        if len(own) * CHUNK_PAGES != pages:
            problem('%s maps %d pages, the guest found only %d chunks of '
                    '%d pages left for it' % (path, pages, len(own),
                                               CHUNK_PAGES))
            continue
        with open(path, 'rb') as f:
            for index, chunk in enumerate(own):
                f.seek(index * CHUNK_PAGES * PAGE)
                block = f.read(CHUNK_PAGES * PAGE)
                for offset in range(CHUNK_PAGES):
                    number = chunk * CHUNK_PAGES + offset
                    data = block[offset * PAGE:(offset + 1) * PAGE]
                    if number == control.first_page:
                        continue
                    report.pages_checked += 1
                    if data[:4] == struct.pack('<I', PAGE_MAGIC):
                        report.pages_stamped += 1
                    wanted = (control.pass_number
                              if number <= control.cursor
                              else control.pass_number - 1)
                    if data != expected_page(number, wanted):
                        problem('%s offset %#x (page %d): expected pass '
                                '%d, found %s' % (
                                    path, (index * CHUNK_PAGES + offset) *
                                    PAGE, number, wanted,
                                    _describe_page(data)))
    if chunks:
        problem('the guest stamps %d chunk(s) beyond the given files'
                % len(chunks))
    return report
