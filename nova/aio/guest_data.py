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

"""The bytes of a server's vpmem: patterns, checksums, the handover.

Namespaces here are files (the ``file`` backend); on hosts with devdax
namespaces the same functions read the character devices.
"""

import hashlib
import os
import threading

CHUNK = 1 << 20


def write_pattern(path, label, size=None):
    """Fill ``path`` (its whole size, or ``size`` bytes) with a pattern
    naming ``label``, so a misplaced or stale copy is recognisable."""
    if size is None:
        size = os.path.getsize(path)
    unit = ('nova-aio vpmem %s ' % label).encode()
    block = (unit * (CHUNK // len(unit) + 1))[:CHUNK]
    with open(path, 'r+b') as f:
        written = 0
        while written < size:
            written += f.write(block[:min(CHUNK, size - written)])
        f.flush()
        os.fsync(f.fileno())


def file_size(path):
    return os.path.getsize(path)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def reads_as_zeros(path):
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            if chunk.count(0) != len(chunk):
                return False
    return True


class Handover:
    """Catch the moment an emulated guest leaves its source host.

    The emulator hands the guest's workload (its writer) to the
    destination with ``attach()`` while the guest is paused for the
    switchover: the source files then hold the guest's final contents
    and no write is in flight. At that moment this records their
    checksums and how many pages the guest had written, and stops the
    writer, so the destination can be compared byte for byte with the
    source's final state afterwards.
    """

    def __init__(self, workload, source_paths):
        self.workload = workload
        self.source_paths = list(source_paths)
        self.digests = None
        self.pages_written = None
        self.done = threading.Event()
        self._attach = workload.attach
        workload.attach = self._on_attach

    def _on_attach(self, spec):
        if not self.done.is_set():
            self.workload.rate = 0.0
            self.workload.ram_rate = 0.0
            self.pages_written = self.workload.pages_written
            self.digests = [sha256(path) for path in self.source_paths]
            self.done.set()
        return self._attach(spec)
