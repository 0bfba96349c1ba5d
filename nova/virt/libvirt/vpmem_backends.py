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

"""Where persistent memory namespaces come from, and how they are erased.

Both backends offer the same four things to ``nova.virt.libvirt.vpmem``:

- ``discover(names)``: ``{name: LibvirtVPMEMDevice}`` (label not set) for
  the requested names this host has. A backend that lists the whole host
  (ndctl) returns every namespace it sees, so the caller can tell the
  operator what is there when a configured name is missing.
- ``erase(device)``: make the whole namespace read as zeros.
- ``verify(device)``: read it back; raise ``VPMEMEraseVerifyFailed``
  unless it is all zeros.
- ``kind`` (``'devdax'`` or ``'file'``) and ``source``, the place the
  operator can look at to see the namespaces.

``NdctlBackend`` drives real nvdimm hardware through privsep (``ndctl``,
``daxio``); ``FileBackend`` uses plain files and needs no root, for the
emulated hypervisor, development and tests. Its files are kept allocated
on disk from creation on (see ``FileBackend``).
"""

import collections
import ctypes
import errno
import functools
import mmap
import os
import re
import stat

from oslo_concurrency import processutils
from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova import exception
from nova import objects
from nova.privsep import pmem as privsep_pmem
from nova.virt import hardware

LOG = logging.getLogger(__name__)

KiB = 1024
MiB = 1024 * KiB

# Values from <linux/falloc.h>; Python's os module does not expose them.
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_ZERO_RANGE = 0x10

# The fallback erase writes zeros in pieces this big.
ZERO_WRITE_CHUNK = 1 * MiB

# Allocating namespace files never leaves less than this share of their
# filesystem free: the host needs the rest (logs, databases, images).
MIN_FREE_SHARE = 0.05

# A sampled verification reads this many blocks of this size (plus the
# first and the last one).
VERIFY_SAMPLE_BLOCK = 64 * KiB
VERIFY_SAMPLE_COUNT = 256


def describe(device):
    """How a device is named in messages: its name and where it lives."""
    return '%s (%s)' % (device.name, device.devpath)


class NamespaceBackend:
    """Interface of a namespace backend; see the module docstring."""

    kind = None
    source = None

    def discover(self, names):
        raise NotImplementedError()

    def erase(self, device):
        raise NotImplementedError()

    def read_back(self, device, blocks=None):
        """None when the namespace reads as zeros, else what is wrong.

        ``blocks`` (``[(offset, size)]``) limits the read to a sample.
        """
        raise NotImplementedError()

    def verify(self, device, sample=False):
        """Raise VPMEMEraseVerifyFailed unless the device reads as zeros.

        With ``sample``, only the blocks of a random sample are read
        (see ``nova.privsep.pmem.sample_blocks``).
        """
        blocks = None
        if sample:
            blocks = privsep_pmem.sample_blocks(
                device.size, VERIFY_SAMPLE_BLOCK, VERIFY_SAMPLE_COUNT)
        try:
            problem = self.read_back(device, blocks=blocks)
        except Exception as exc:
            # Unreadable is not clean: the namespace must stay reserved.
            problem = 'the read-back failed: %s' % exc
        if problem:
            raise exception.VPMEMEraseVerifyFailed(dev=describe(device),
                                                   detail=problem)


# ndctl / device-dax
#
# ndctl's output is checked field by field before anything is built from
# it: its chardev becomes the path an erase running as root zeroes, and a
# malformed field must stop nova-compute with a message that names it,
# not with a TypeError. Only a problem with a namespace the operator
# configured stops the service; any other broken record is logged and
# left out, like namespaces in other modes and unnamed ones.

# Byte counts go to libvirt and QEMU as 64-bit numbers.
MAX_BYTES = 2 ** 63 - 1
# A device-dax character device, /dev/dax<region>.<instance>.
_DAX_CHARDEV = re.compile(r'dax[0-9]{1,9}\.[0-9]{1,9}')
# How ndctl calls a namespace (its "dev"), shown to tell records apart.
_NDCTL_DEV = re.compile(r'namespace[0-9]{1,9}\.[0-9]{1,9}')

# What is wrong with one record of ``ndctl list -X``. ``name`` is the
# record's name when it is a string (so a configured name can be matched),
# else None; ``where`` says which record it is, for messages.
NdctlProblem = collections.namedtuple('NdctlProblem', 'name where reason')


class _BadRecord(Exception):
    """One ndctl record cannot be used; the argument says why."""


def _shown(value):
    """A short description of a JSON value for a message.

    Never the repr of a list or object: those may be huge or nested deep
    enough to make repr() itself fail.
    """
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'the boolean %s' % ('true' if value else 'false')
    if isinstance(value, int):
        # No str() of a huge one: Python refuses past 4300 digits.
        return str(value) if abs(value) < 10 ** 30 else (
            'a number of more than 30 digits')
    if isinstance(value, float):
        return 'the non-integer number %r' % value
    if isinstance(value, str):
        return 'the string %s' % hardware.shorten(value)
    if isinstance(value, list):
        return 'a list'
    if isinstance(value, dict):
        return 'an object'
    return 'a %s' % type(value).__name__


def _field(mapping, key, path):
    if key not in mapping:
        raise _BadRecord('it has no %s (a disabled or half-configured '
                         'namespace?)' % path)
    return mapping[key]


def _object(mapping, key, path):
    value = _field(mapping, key, path)
    if not isinstance(value, dict):
        raise _BadRecord('its %s is %s, not an object' % (path,
                                                          _shown(value)))
    return value


def _byte_count(mapping, key, path, power_of_two=False):
    """A positive JSON integer, at most MAX_BYTES.

    Strings of digits are refused too: ndctl prints numbers as JSON
    numbers (a string means another output format, such as --human).
    """
    value = _field(mapping, key, path)
    if power_of_two:
        expected = 'a power of two number of bytes, 1 to 2**62'
    else:
        expected = 'a whole number of bytes, 1 to 2**63-1'
    if (isinstance(value, bool) or not isinstance(value, int) or
            not 0 < value <= MAX_BYTES or
            (power_of_two and value & (value - 1))):
        raise _BadRecord('its %s is %s; expected %s, as a JSON number'
                         % (path, _shown(value), expected))
    return value


def _chardev_path(device):
    """``/dev/<chardev>`` of a dax device, or _BadRecord.

    The chardev must be a plain name like dax0.1, never a path: what is
    built here is what an erase overwrites as root.
    """
    path = 'daxregion.devices[0].chardev'
    chardev = _field(device, 'chardev', path)
    if not isinstance(chardev, str) or not _DAX_CHARDEV.fullmatch(chardev):
        raise _BadRecord('its %s is %s; expected a dax character device '
                         'name dax<region>.<number>, like dax0.1'
                         % (path, _shown(chardev)))
    devpath = os.path.join('/dev', chardev)
    normalised = os.path.normpath(devpath)
    if normalised != devpath or os.path.dirname(normalised) != '/dev':
        raise _BadRecord('its %s %s does not name a device directly under '
                         '/dev' % (path, _shown(chardev)))
    return devpath


def _devdax_device(record, name):
    """A LibvirtVPMEMDevice for one named devdax record, or _BadRecord."""
    problem = hardware.pmem_namespace_name_problem(name)
    if problem:
        raise _BadRecord('its name cannot be configured: %s' % problem)
    region = _object(record, 'daxregion', 'daxregion')
    devices = _field(region, 'devices', 'daxregion.devices')
    if not isinstance(devices, list) or len(devices) != 1:
        count = ('%d devices' % len(devices) if isinstance(devices, list)
                 else _shown(devices))
        raise _BadRecord('its daxregion.devices is %s; expected a list of '
                         'exactly one dax device' % count)
    if not isinstance(devices[0], dict):
        raise _BadRecord('its daxregion.devices[0] is %s, not an object'
                         % _shown(devices[0]))
    devpath = _chardev_path(devices[0])
    size = _byte_count(record, 'size', 'size')
    align = _byte_count(region, 'align', 'daxregion.align',
                        power_of_two=True)
    return objects.LibvirtVPMEMDevice(name=name, devpath=devpath,
                                      size=size, align=align)


def _where(position, record, name):
    """Which record this is, for messages: its name if usable."""
    dev = record.get('dev')
    dev = (' (%s)' % dev if isinstance(dev, str) and _NDCTL_DEV.fullmatch(dev)
           else '')
    if hardware.is_valid_pmem_namespace_name(name):
        return 'devdax namespace %s%s' % (name, dev)
    return 'the devdax namespace of record %d%s' % (position, dev)


def _ndctl_records(json_text):
    """The records of ``ndctl list -X`` output, as a list of anything."""
    if not isinstance(json_text, (str, bytes)):
        raise exception.GetPMEMNamespacesFailed(
            reason='ndctl list -X gave %s instead of text'
                   % type(json_text).__name__)
    if not json_text.strip():
        # ndctl prints nothing at all when there is no namespace.
        return []
    try:
        parsed = jsonutils.loads(json_text)
    except ValueError as exc:
        raise exception.GetPMEMNamespacesFailed(
            reason='ndctl list -X printed something that is not JSON (%s): '
                   '%.200r' % (exc, json_text))
    except RecursionError:
        raise exception.GetPMEMNamespacesFailed(
            reason='ndctl list -X printed JSON nested too deeply to read: '
                   '%.200r' % json_text)
    # ndctl prints a bare object instead of a list when there is only one.
    if isinstance(parsed, dict):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise exception.GetPMEMNamespacesFailed(
            reason='ndctl list -X printed JSON that is neither a list nor an '
                   'object: %.200r' % json_text)
    return parsed


def read_ndctl_namespaces(json_text):
    """``([LibvirtVPMEMDevice], [NdctlProblem])`` of ``ndctl list -X``.

    Devices are the usable named devdax namespaces, in ndctl's order,
    without label. Namespaces in other modes (fsdax, sector, raw) and
    unnamed ones cannot be configured, so they are left out silently; a
    named devdax record that breaks a rule (see ``_devdax_device``), or a
    record that is not a JSON object, is a problem instead. Raises
    GetPMEMNamespacesFailed, and nothing else, when the output as a whole
    cannot be read.
    """
    devices = []
    problems = []
    for position, record in enumerate(_ndctl_records(json_text), start=1):
        if not isinstance(record, dict):
            problems.append(NdctlProblem(
                None, 'record %d' % position,
                'it is %s, not an object' % _shown(record)))
            continue
        name = record.get('name')
        if record.get('mode') != 'devdax' or name is None or name == '':
            continue
        try:
            devices.append(_devdax_device(record, name))
        except _BadRecord as exc:
            problems.append(NdctlProblem(
                name if isinstance(name, str) else None,
                _where(position, record, name), str(exc)))
    return devices, problems


def parse_ndctl_namespaces(json_text, wanted=()):
    """Usable named devdax namespaces in ``ndctl list -X`` output.

    Returns LibvirtVPMEMDevice objects without label, in ndctl's order.
    A broken record named in ``wanted`` (the configured names) raises
    GetPMEMNamespacesFailed saying which record and field; other broken
    records are logged and left out, so a namespace nobody configured
    cannot stop the host.
    """
    devices, problems = read_ndctl_namespaces(json_text)
    wanted = set(wanted)
    for problem in problems:
        if problem.name is not None and problem.name in wanted:
            raise exception.GetPMEMNamespacesFailed(
                reason='%s in ndctl list -X cannot be used: %s'
                       % (problem.where, problem.reason))
    for problem in problems:
        LOG.warning('Ignoring %s from ndctl list -X (not configured): %s',
                    problem.where, problem.reason)
    return devices


class NdctlBackend(NamespaceBackend):
    """devdax namespaces of this host's nvdimms, through privsep."""

    kind = 'devdax'
    source = 'ndctl list -X'

    def discover(self, names):
        """Every usable devdax namespace ndctl shows, by name.

        Raises GetPMEMNamespacesFailed when ndctl cannot run, its output
        cannot be read, or a record named in ``names`` breaks a rule;
        broken records of other namespaces are logged and left out.
        """
        try:
            json_text = privsep_pmem.list_namespaces()
        except FileNotFoundError:
            raise exception.GetPMEMNamespacesFailed(
                reason='ndctl is not installed on this host; install it '
                       '(apt-get install ndctl, or dnf install ndctl)')
        except processutils.ProcessExecutionError as exc:
            raise exception.GetPMEMNamespacesFailed(
                reason='ndctl list -X failed: %s. Run it by hand as root; '
                       'check that the nvdimm modules (nd_pmem, dax_pmem) '
                       'are loaded' % exc)
        except Exception as exc:
            raise exception.GetPMEMNamespacesFailed(
                reason='the privileged helper could not run ndctl: %s. Check '
                       'that privsep-helper can be started (sudo/rootwrap) '
                       'and the [nova_sys_admin] options' % exc)
        found = {}
        for device in parse_ndctl_namespaces(json_text, wanted=names):
            other = found.get(device.name)
            if other is not None and device.name in names:
                # Names are only labels to ndctl; two namespaces may share
                # one, and erasing the wrong one would destroy a guest's data.
                raise exception.PMEMNamespaceUnusable(
                    name=device.name,
                    reason='ndctl list -X shows two devdax namespaces with '
                           'this name (%s and %s); give them distinct names'
                           % (other.devpath, device.devpath))
            found[device.name] = device
        return found

    def erase(self, device):
        try:
            privsep_pmem.zero_devdax(device.devpath)
        except FileNotFoundError:
            raise exception.VPMEMCleanupFailed(
                dev=describe(device),
                error='daxio is not installed on this host; install it '
                      '(apt-get install daxio, or dnf install daxio)')
        except Exception as exc:
            raise exception.VPMEMCleanupFailed(
                dev=describe(device), error='daxio -z failed: %s' % exc)

    def read_back(self, device, blocks=None):
        offset = privsep_pmem.devdax_first_nonzero(device.devpath,
                                                   device.size, blocks)
        if offset is not None:
            return 'first non-zero byte at offset %d' % offset
        return None


# Files

@functools.cache
def _libc_fallocate():
    """libc's fallocate(2), or None where the C library lacks it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        # The 64-bit variant keeps large offsets right on 32-bit builds.
        func = getattr(libc, 'fallocate64', None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64,
                     ctypes.c_int64]
    func.restype = ctypes.c_int
    return func


def fallocate(fd, mode, offset, length):
    """fallocate(2): True if done, False if the filesystem cannot do it.

    Other failures raise OSError.
    """
    func = _libc_fallocate()
    if func is None:
        return False
    if func(fd, mode, offset, length) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EOPNOTSUPP, errno.ENOSYS):
        return False
    raise OSError(err, os.strerror(err))


def data_extents(fd, size):
    """Yield ``(start, end)`` of the ranges of a file that may hold data.

    Holes, and the unwritten extents a zero-range or an allocation
    leaves, read as zeros and are skipped (ext4, XFS): an erased
    namespace file costs nothing to read back.
    """
    seek_data = getattr(os, 'SEEK_DATA', None)
    if seek_data is None:
        yield 0, size
        return
    offset = 0
    while offset < size:
        try:
            start = os.lseek(fd, offset, seek_data)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                return  # only a hole is left
            if exc.errno == errno.EINVAL:
                yield offset, size  # no SEEK_DATA on this filesystem
                return
            raise
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        if start >= end:
            return
        yield start, end
        offset = end


def _write_zeros(fd, ranges):
    zeros = bytes(ZERO_WRITE_CHUNK)
    for start, end in ranges:
        offset = start
        while offset < end:
            length = min(ZERO_WRITE_CHUNK, end - offset)
            offset += os.pwrite(fd, zeros[:length], offset)


def is_allocated(info):
    """Whether a file's disk blocks cover its size (``os.stat`` result).

    st_blocks counts 512-byte units on Linux, whatever the block size.
    """
    return info.st_blocks * 512 >= info.st_size


def no_room_for(path, needed):
    """Why ``needed`` more bytes cannot be allocated next to ``path``.

    None when they fit and leave MIN_FREE_SHARE of the filesystem free.
    """
    fs = os.statvfs(path)
    free = fs.f_bavail * fs.f_frsize
    kept = int(fs.f_blocks * fs.f_frsize * MIN_FREE_SHARE)
    if free - needed >= kept:
        return None
    return ('%d MiB needed, %d MiB free, of which %d MiB stay free for the '
            'host' % (-(-needed // MiB), free // MiB, kept // MiB))


def allocate_new_file(fd, size):
    """Give a new, empty file ``size`` bytes of disk blocks.

    fallocate(2) mode 0 where the filesystem has it (metadata only, no
    data written), else writes of zeros. Returns how.
    """
    if fallocate(fd, 0, 0, size):
        return 'fallocate'
    _write_zeros(fd, [(0, size)])
    return 'write'


def zero_file(path, keep_allocated=True):
    """Make every byte of a file read as zero, keeping its size.

    With ``keep_allocated`` (the default) the file keeps its disk blocks,
    and holes get some: QEMU would otherwise allocate the whole file
    again when a guest next arrives. Returns how: 'zero-range' (the
    blocks become unwritten extents, instant) or 'write' where the
    filesystem cannot. Without it, or when the disk has no room for the
    holes, 'punch-hole' is tried first (the file becomes sparse).
    """
    fd = os.open(path, os.O_RDWR)  # no O_CREAT: a vanished file is an error
    try:
        size = os.fstat(fd).st_size
        method = None
        if keep_allocated:
            try:
                method = _zero_keeping_blocks(fd, size)
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                    raise
                # Zeros matter more than blocks: erase it sparse.
                LOG.warning('No disk space to keep namespace file %s '
                            'allocated; erasing it sparse', path)
        if method is None:
            method = _zero_sparse(fd, size)
        os.fsync(fd)
        return method
    finally:
        os.close(fd)


def _zero_keeping_blocks(fd, size):
    if fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, size):
        return 'zero-range'
    # Holes already read as zeros: allocate them and overwrite the rest,
    # or overwrite everything where allocation is not offered either.
    if fallocate(fd, 0, 0, size):
        _write_zeros(fd, list(data_extents(fd, size)))
    else:
        _write_zeros(fd, [(0, size)])
    return 'write'


def _zero_sparse(fd, size):
    if fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, size):
        return 'punch-hole'
    if fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, size):
        return 'zero-range'
    _write_zeros(fd, list(data_extents(fd, size)))
    return 'write'


def first_nonzero_in_file(path, blocks=None):
    """``(size, offset of the first non-zero byte or None)`` of a file.

    ``blocks`` (``[(offset, size)]``) limits the scan to a sample.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, None
        with mmap.mmap(fd, size, flags=mmap.MAP_SHARED,
                       prot=mmap.PROT_READ) as mapping:
            if blocks is not None:
                return size, privsep_pmem.first_nonzero_in_blocks(
                    mapping, blocks, size)
            for start, end in data_extents(fd, size):
                offset = privsep_pmem.first_nonzero(mapping, start, end)
                if offset is not None:
                    return size, offset
        return size, None
    finally:
        os.close(fd)


def _check_file_name(name):
    # The name becomes a path component; it must not climb out of the
    # namespace directory.
    if name in ('.', '..') or '/' in name or '\0' in name:
        raise exception.PMEMNamespaceUnusable(
            name=name, reason='the file backend needs a plain file name '
                              '(no "/", not "." or "..")')


class FileBackend(NamespaceBackend):
    """Namespaces that are files ``<directory>/<name>``.

    Missing files are created with ``new_file_size`` bytes; existing ones
    keep their size, which must be a multiple of ``align``.

    With ``preallocate`` (the default) every file holds disk blocks for
    all its bytes through its whole life: created allocated, holes of a
    file found sparse allocated at discovery, and erased without freeing
    blocks. A destination QEMU pre-allocates the memory backend file
    before a migration's copy starts; on a sparse file that is seconds
    per GiB, on an allocated one a fraction. Without it, files are sparse
    and erases punch holes, for hosts whose disk cannot hold them all.
    """

    kind = 'file'

    def __init__(self, directory, new_file_size, align, preallocate=True):
        self.directory = directory
        self.new_file_size = new_file_size
        self.align = align
        self.preallocate = preallocate
        self.source = 'directory %s' % directory

    def discover(self, names):
        if not names:
            return {}
        if self.new_file_size % self.align:
            raise exception.InvalidConfiguration(
                reason='[libvirt]pmem_file_size_mb (%d bytes) is not a '
                       'multiple of [libvirt]pmem_file_align_kb (%d bytes)'
                       % (self.new_file_size, self.align))
        for name in names:
            _check_file_name(name)
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise exception.GetPMEMNamespacesFailed(
                reason='cannot create [libvirt]pmem_file_dir %s: %s'
                       % (self.directory, exc))
        return {name: self._namespace(name) for name in names}

    def _namespace(self, name):
        path = os.path.join(self.directory, name)
        try:
            self._create(path)
            info = os.stat(path)
        except OSError as exc:
            raise exception.GetPMEMNamespacesFailed(
                reason='cannot create or read namespace file %s: %s'
                       % (path, exc))
        if not stat.S_ISREG(info.st_mode):
            raise exception.PMEMNamespaceUnusable(
                name=name, reason='%s exists but is not a regular file; '
                                  'remove it or pick another name' % path)
        if info.st_size == 0 or info.st_size % self.align:
            raise exception.PMEMNamespaceUnusable(
                name=name, reason='%s is %d bytes, not a positive multiple '
                                  'of the alignment (%d bytes); resize it '
                                  'or remove it to have it recreated'
                                  % (path, info.st_size, self.align))
        if self.preallocate and not is_allocated(info):
            self._allocate_holes(path, info)
        return objects.LibvirtVPMEMDevice(name=name, devpath=path,
                                          size=info.st_size,
                                          align=self.align)

    def _create(self, path):
        try:
            # O_EXCL: never truncate a namespace that appeared meanwhile.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        try:
            os.ftruncate(fd, self.new_file_size)
            if self.preallocate:
                short = no_room_for(path, self.new_file_size)
                if short:
                    raise OSError(errno.ENOSPC, short)
                allocate_new_file(fd, self.new_file_size)
            self._give_to_directory_owner(fd)
        except OSError as exc:
            # Half made (out of disk space, say): gone, so that the next
            # start creates it again instead of finding it sparse.
            os.close(fd)
            os.unlink(path)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise exception.GetPMEMNamespacesFailed(
                    reason='no disk space for namespace file %s (%s): '
                           'file namespaces are allocated when created, '
                           'so %s needs [libvirt]pmem_file_size_mb times '
                           'the number of namespaces free. Free space, '
                           'make them smaller, or set [libvirt]'
                           'pmem_file_preallocate = false'
                           % (path, exc.strerror, self.directory))
            raise
        os.close(fd)
        LOG.info('Created persistent memory namespace file %s (%d MiB%s)',
                 path, self.new_file_size // MiB,
                 ', allocated' if self.preallocate else ', sparse')

    def _allocate_holes(self, path, info):
        """Give the holes of an existing file disk blocks.

        fallocate(2) mode 0 only: it leaves data as it is, so this is safe
        while a guest uses the file. Where it cannot be done the file
        stays sparse, which costs time on migration, not correctness.
        """
        try:
            short = no_room_for(path, info.st_size - info.st_blocks * 512)
            if short:
                raise OSError(errno.ENOSPC, short)
            fd = os.open(path, os.O_WRONLY)
            try:
                done = fallocate(fd, 0, 0, info.st_size)
            finally:
                os.close(fd)
        except OSError as exc:
            LOG.warning('Namespace file %s is sparse and could not be '
                        'allocated (%s): a guest arriving on it waits for '
                        'QEMU to allocate it', path, exc)
            return
        if done:
            LOG.info('Allocated the holes of namespace file %s', path)
        else:
            LOG.warning('Namespace file %s is sparse and its filesystem '
                        'cannot allocate it in place (no fallocate)', path)

    def _give_to_directory_owner(self, fd):
        # QEMU opens the file as the hypervisor's user, not as this
        # service: a session-mode libvirtd's QEMU runs as the daemon's
        # user and nothing hands it the file (system mode's DAC driver
        # would). The directory's owner is that user.
        if os.geteuid() != 0:
            return
        info = os.stat(self.directory)
        if (info.st_uid, info.st_gid) != (0, 0):
            os.fchown(fd, info.st_uid, info.st_gid)

    def erase(self, device):
        try:
            method = zero_file(device.devpath,
                               keep_allocated=self.preallocate)
        except OSError as exc:
            raise exception.VPMEMCleanupFailed(dev=describe(device),
                                               error=str(exc))
        LOG.debug('Erased %s by %s', describe(device), method)

    def read_back(self, device, blocks=None):
        size, offset = first_nonzero_in_file(device.devpath, blocks)
        if size != device.size:
            return 'its size changed from %d to %d bytes' % (device.size,
                                                              size)
        if offset is not None:
            return 'first non-zero byte at offset %d' % offset
        return None


def backend_from_conf(conf):
    """The backend [libvirt]pmem_backend selects, with today's options."""
    opts = conf.libvirt
    if opts.pmem_backend == 'file':
        return FileBackend(opts.pmem_file_dir,
                           opts.pmem_file_size_mb * MiB,
                           opts.pmem_file_align_kb * KiB,
                           preallocate=opts.pmem_file_preallocate)
    return NdctlBackend()
