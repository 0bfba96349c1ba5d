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

"""Shared helpers for the emulated libvirt tests.

Based on testtools + fixtures directly: the emulator needs no database,
configuration or RPC, so these tests stay independent of nova.test.
"""

import hashlib
import logging
import os
import threading
import time
import uuid as uuidlib

import fixtures
import testtools

from nova.virt.libvirt import emulator as libvirt

KiB = 1024
MiB = 1024 * 1024
GiB = 1024 * MiB

# The guest XML of the real libvirt 9 / QEMU 7.2 run in
# shared/reference/libvirt-lm/REPORT.md ("Step 4"), with a name, uuid and
# path filled in.
REPORT_XML = """<domain type='kvm'>
  <name>%(name)s</name>
  <uuid>%(uuid)s</uuid>
  <maxMemory slots='16' unit='KiB'>4194304</maxMemory>
  <memory unit='KiB'>196608</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <cpu><numa><cell id='0' cpus='0' memory='131072' unit='KiB'/></numa></cpu>
  <devices>
    <memory model='nvdimm' access='shared'>
      <source><path>%(path)s</path>
              <alignsize unit='KiB'>2048</alignsize></source>
      <target><size unit='KiB'>65536</size><node>0</node>
              <label><size unit='KiB'>128</size></label></target>
      <address type='dimm' slot='0' base='0x100000000'/>
    </memory>
    <memballoon model='none'/>
  </devices>
</domain>"""

LIVE_P2P = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER
NOVA_FLAGS = (LIVE_P2P | libvirt.VIR_MIGRATE_PERSIST_DEST |
              libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)


def guest_xml(name, dom_uuid, nvdimms=(), ram_kib=16 * 1024, label_kib=128,
              align_kib=2048, acpi=True, numa=True, max_memory_kib=None,
              slots=16, memory_kib=None, virt_type='kvm', nvdimm_extra=''):
    """A guest with RAM and one nvdimm per (path, size KiB) pair."""
    devices = []
    for path, size_kib in nvdimms:
        label = ("<label><size unit='KiB'>%d</size></label>" % label_kib
                 if label_kib else '')
        align = ("<alignsize unit='KiB'>%d</alignsize>" % align_kib
                 if align_kib else '')
        devices.append(
            "<memory model='nvdimm' access='shared'>"
            "<source><path>%s</path>%s</source>"
            "<target><size unit='KiB'>%d</size><node>0</node>%s</target>"
            "%s</memory>" % (path, align, size_kib, label, nvdimm_extra))
    total = memory_kib or ram_kib + sum(size for _p, size in nvdimms)
    max_memory = ''
    if slots:
        max_memory = ("<maxMemory slots='%d' unit='KiB'>%d</maxMemory>"
                      % (slots, max_memory_kib or total + 4 * 1024 * 1024))
    cell = ("<cpu><numa><cell id='0' cpus='0' memory='%d' unit='KiB'/>"
            "</numa></cpu>" % ram_kib if numa else '')
    return ("<domain type='%s'><name>%s</name><uuid>%s</uuid>%s"
            "<memory unit='KiB'>%d</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os>%s%s"
            "<devices>%s</devices></domain>"
            % (virt_type, name, dom_uuid, max_memory, total,
               '<features><acpi/></features>' if acpi else '', cell,
               ''.join(devices)))


def sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(MiB), b''):
            digest.update(block)
    return digest.hexdigest()


def job_stats(dom):
    """jobStats() as a monitor polls it: a guest gone means no job."""
    try:
        return dom.jobStats()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in (libvirt.VIR_ERR_NO_DOMAIN,
                                        libvirt.VIR_ERR_OPERATION_INVALID):
            raise
        return {'type': libvirt.VIR_DOMAIN_JOB_NONE}


class Migration:
    """migrateToURI3 in a thread, as the driver runs it."""

    def __init__(self, dom, uri, params, flags):
        self.error = None
        self.seconds = None
        self._thread = threading.Thread(
            target=self._run, args=(dom, uri, params, flags), daemon=True)
        self._thread.start()

    def _run(self, dom, uri, params, flags):
        start = time.monotonic()
        try:
            dom.migrateToURI3(uri, params, flags)
        except libvirt.libvirtError as exc:
            self.error = exc
        self.seconds = time.monotonic() - start

    def running(self):
        return self._thread.is_alive()

    def wait(self, timeout=20):
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError('migration did not finish in %ss' % timeout)
        return self.error


class EmulatorTestCase(testtools.TestCase):
    """Fresh registry and a temporary directory per test."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.Timeout(60, gentle=True))
        self.logger = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        # Registered after the directory so it runs first: guests stop
        # writing before their files go.
        self.addCleanup(libvirt.reset)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def make_file(self, name, size, fill=None, random=False):
        """A backing file: sparse, filled with a byte, or random."""
        path = self.path(name)
        with open(path, 'wb') as f:
            if random:
                f.write(os.urandom(size))
            elif fill is not None:
                f.write(fill * size)
            else:
                f.truncate(size)
        return path

    def new_uuid(self):
        return str(uuidlib.uuid4())

    def assertLibvirtError(self, code, message, func, *args, **kwargs):
        """Call func, expect libvirtError with code; return it.

        ``message`` must be a substring of str(error), or None.
        """
        exc = self.assertRaises(libvirt.libvirtError, func, *args, **kwargs)
        self.assertEqual(code, exc.get_error_code(), str(exc))
        if message is not None:
            self.assertIn(message, str(exc))
        return exc

    def wait_for(self, predicate, timeout=10, interval=0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(interval)
        raise AssertionError('condition not met in %ss' % timeout)
