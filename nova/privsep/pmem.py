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

"""Root operations on persistent memory namespaces: list, zero, read back.

``ndctl`` needs to read the whole nvdimm bus and ``daxio`` opens
device-dax character devices that only root may write, so both run in the
privsep daemon. Errors are left as they are (``ProcessExecutionError``,
``OSError``, ``ValueError``): they cross back to the caller intact, and
the unprivileged caller turns them into messages that say what to do.
"""

import mmap
import os
import random
import re

from oslo_concurrency import processutils

import nova.privsep

# daxio as root zeroes whatever it is pointed at; accept only device-dax
# character devices so this entry point cannot wipe an arbitrary file.
_DEVDAX_PATH = re.compile(r'^/dev/dax[0-9]+\.[0-9]+$')

# Big enough that the Python loop costs nothing next to the memory reads.
SCAN_CHUNK = 4 * 1024 * 1024


def check_devdax_path(devpath):
    """Raise ValueError unless ``devpath`` names a device-dax device."""
    if not isinstance(devpath, str) or not _DEVDAX_PATH.match(devpath):
        raise ValueError('%r is not a device-dax path (/dev/daxN.M)'
                         % (devpath,))


@nova.privsep.sys_admin_pctxt.entrypoint
def list_namespaces():
    """Return the JSON text printed by ``ndctl list -X``."""
    stdout, _stderr = processutils.execute('ndctl', 'list', '-X')
    return stdout


@nova.privsep.sys_admin_pctxt.entrypoint
def zero_devdax(devpath):
    """Overwrite a whole device-dax namespace with zeros."""
    check_devdax_path(devpath)
    processutils.execute('daxio', '-z', '-o', devpath)


@nova.privsep.sys_admin_pctxt.entrypoint
def devdax_first_nonzero(devpath, length, blocks=None):
    """Offset of the first non-zero byte of a device-dax namespace, or None.

    ``blocks`` (``[(offset, size)]``) limits the scan to those ranges (a
    sampled check); None scans everything. Device-dax supports neither
    read() nor lseek(), only mmap(), hence the read-only shared mapping.
    """
    check_devdax_path(devpath)
    return first_nonzero_in_mapping(devpath, length, blocks)


def first_nonzero_in_mapping(path, length, blocks=None):
    """Map ``length`` bytes of ``path`` read-only and scan them for data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with mmap.mmap(fd, length, flags=mmap.MAP_SHARED,
                       prot=mmap.PROT_READ) as mapping:
            if blocks is None:
                return first_nonzero(mapping, 0, length)
            return first_nonzero_in_blocks(mapping, blocks, length)
    finally:
        os.close(fd)


def sample_blocks(length, block_size, count, rng=None):
    """``[(offset, size)]`` of a sampled check of ``length`` bytes.

    The first and the last block, and ``count`` others picked at random
    (by ``rng``, a ``random.Random``; the system's by default) so that a
    device cannot keep data exactly where a fixed sample never looks.
    """
    blocks = (length + block_size - 1) // block_size
    if blocks <= count + 2:
        picked = range(blocks)
    else:
        rng = rng or random.SystemRandom()
        picked = sorted({0, blocks - 1} |
                        set(rng.sample(range(1, blocks - 1), count)))
    return [(index * block_size,
             min(block_size, length - index * block_size))
            for index in picked]


def first_nonzero_in_blocks(buf, blocks, length):
    """Offset of the first non-zero byte within ``blocks`` of ``buf``."""
    for offset, size in blocks:
        found = first_nonzero(buf, offset, min(offset + size, length))
        if found is not None:
            return found
    return None


def first_nonzero(buf, start, end):
    """Offset of the first non-zero byte of ``buf[start:end]``, or None.

    Whole chunks are compared with a zero chunk (a memcmp), and only a
    chunk that differs is searched byte by byte.
    """
    zeros = bytes(SCAN_CHUNK)
    for offset in range(start, end, SCAN_CHUNK):
        chunk = buf[offset:min(offset + SCAN_CHUNK, end)]
        if chunk != zeros[:len(chunk)]:
            return offset + len(chunk) - len(chunk.lstrip(b'\0'))
    return None
