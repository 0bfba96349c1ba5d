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

"""The migration model: dirty pages, convergence, abort, post-copy, speed."""

import os
import time

import fixtures

from nova.tests.unit.virt.libvirt.emulator import base
from nova.tests.unit.virt.libvirt.emulator import test_migration
from nova.virt.libvirt import emulator as libvirt
from nova.virt.libvirt.emulator import migration

PAGE = 4096


class DirtyingGuestTest(test_migration.MigrationTestBase):

    def test_guest_writing_during_migration_loses_nothing(self):
        host = libvirt.get_host('src')
        load = host.set_workload(self.uuid, dirty_pages_per_second=1000)
        self.wait_for(lambda: load.pages_written > 50)
        original = {}
        self.dom.migrateSetMaxDowntime(100)
        # 24 MiB (16 RAM + 2 x 4 nvdimm) at 16 MiB/s: about 1.5 s.
        mig = base.Migration(self.dom, 'emulated://dst', self.params(**{
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 16}), base.NOVA_FLAGS)
        samples = []
        while mig.running():
            stats = base.job_stats(self.dom)
            if stats['type'] == libvirt.VIR_DOMAIN_JOB_UNBOUNDED:
                samples.append(stats)
            time.sleep(0.1)
        self.assertIsNone(mig.wait())

        # Progress as a monitor sees it.
        first_pass = [s for s in samples if s['memory_iteration'] == 1]
        self.assertGreater(len(first_pass), 3)
        processed = [s['memory_processed'] for s in first_pass]
        self.assertEqual(sorted(processed), processed)
        self.assertGreater(processed[-1], processed[0])
        self.assertLess(first_pass[-1]['data_remaining'],
                        first_pass[1]['data_remaining'])
        self.assertEqual(24 * base.MiB, first_pass[-1]['data_total'])
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
                         first_pass[-1]['operation'])
        bps = first_pass[-1]['memory_bps']
        self.assertTrue(10 * base.MiB < bps < 20 * base.MiB, bps)

        ddom = self.dst.lookupByUUIDString(self.uuid)
        stats = ddom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertGreater(stats['memory_iteration'], 1)
        # The rate is reported while the job runs, from the end of the
        # first pass on; as real QEMU, not once it completed.
        self.assertEqual(0, stats['memory_dirty_rate'])
        self.assertTrue(any(s['memory_dirty_rate'] > 0 for s in samples
                            if s['memory_iteration'] > 1), samples)

        # The guest goes on writing, now into the destination files.
        self.assertIs(load, libvirt.get_host('dst').get_workload(self.uuid))
        written = load.pages_written
        self.wait_for(lambda: load.pages_written > written + 50)
        ddom.suspend()
        for index, path in enumerate(self.dst_paths):
            ok, bad = load.verify(path)
            self.assertEqual([], bad)
            self.assertTrue(ok)
            # Pages the guest never wrote hold the source's bytes.
            original[index] = set(load.records[index])
            with open(path, 'rb') as dst, \
                    open(self.src_paths[index], 'rb') as src:
                for page in range(4 * base.MiB // PAGE):
                    dst_page, src_page = dst.read(PAGE), src.read(PAGE)
                    if page not in original[index]:
                        self.assertEqual(src_page, dst_page, page)

    def test_job_stats_while_setting_up_are_zero(self):
        libvirt.get_host('dst').configure(migration_setup_seconds=0.5)
        mig = base.Migration(self.dom, 'emulated://dst', self.params(),
                             base.NOVA_FLAGS)
        self.wait_for(lambda: self.dom.jobStats()['type'] != 0)
        stats = self.dom.jobStats()
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_UNBOUNDED, stats['type'])
        self.assertEqual(0, stats['memory_total'])
        self.assertEqual(0, stats['data_remaining'])
        # The destination shows the arriving guest, paused.
        ddom = self.dst.lookupByUUIDString(self.uuid)
        self.assertEqual([libvirt.VIR_DOMAIN_PAUSED,
                          libvirt.VIR_DOMAIN_PAUSED_MIGRATION], ddom.state())
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN,
                         ddom.jobStats()['operation'])
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'cannot abort incoming migration',
                                ddom.abortJob)
        self.assertIsNone(mig.wait())


class ConvergenceTest(base.EmulatorTestCase):
    """A guest dirtying RAM faster than the link (modelled RAM)."""

    def setUp(self):
        super().setUp()
        self.src = libvirt.open('emulated://src')
        self.dst = libvirt.open('emulated://dst')
        self.uuid = self.new_uuid()
        src_path = self.make_file('src.img', 4 * base.MiB, random=True)
        self.dst_path = self.make_file('dst.img', 4 * base.MiB)
        self.dom = self.src.defineXML(base.guest_xml(
            'g', self.uuid, nvdimms=[(src_path, 4096)], ram_kib=4096))
        self.dom.create()
        self.dest_xml = base.guest_xml(
            'g', self.uuid, nvdimms=[(self.dst_path, 4096)], ram_kib=4096)
        # 16000 pages/s (62.5 MiB/s) of RAM over a 32 MiB/s link, and
        # some real nvdimm writes; with 20 ms downtime it cannot converge.
        self.load = libvirt.get_host('src').set_workload(
            self.uuid, dirty_pages_per_second=100,
            ram_dirty_pages_per_second=16000)
        self.dom.migrateSetMaxDowntime(20)

    def migrate(self, flags=base.NOVA_FLAGS):
        return base.Migration(self.dom, 'emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: self.dest_xml,
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 32}, flags)

    def test_keeps_iterating_until_the_guest_is_paused(self):
        mig = self.migrate()
        self.wait_for(lambda: mig.running() and
                      self.dom.jobStats().get('memory_iteration', 0) >= 5)
        self.assertTrue(mig.running())
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.dom.state()[0])
        self.assertGreater(self.dom.jobStats()['memory_dirty_rate'], 2000)
        self.dom.suspend()           # what Nova's force-complete does
        self.assertIsNone(mig.wait())
        ddom = self.dst.lookupByUUIDString(self.uuid)
        # Paused during (not before) the migration: it runs on arrival.
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, ddom.state()[0])
        stats = ddom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertGreaterEqual(stats['memory_iteration'], 5)
        # As real QEMU: a completed job reports no dirty rate.
        self.assertEqual(0, stats['memory_dirty_rate'])
        self.assertEqual([], self.load.verify(self.dst_path)[1])

    def test_auto_converge_throttles_until_it_converges(self):
        mig = self.migrate(base.NOVA_FLAGS |
                           libvirt.VIR_MIGRATE_AUTO_CONVERGE)
        throttles = []
        while mig.running():
            throttles.append(base.job_stats(self.dom).get(
                'auto_converge_throttle', 0))
            time.sleep(0.05)
        self.assertIsNone(mig.wait())
        # 20% first, then 10 points more per iteration, until it converges.
        seen = [t for t in throttles if t]
        self.assertEqual(sorted(seen), seen)
        self.assertTrue(all(t >= 20 and (t % 10 == 0 or t == 99)
                            for t in seen), seen)
        self.assertGreaterEqual(max(seen), 40)
        ddom = self.dst.lookupByUUIDString(self.uuid)
        stats = ddom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertGreaterEqual(stats['memory_iteration'], 3)
        self.assertEqual(0, self.load.throttle)   # released on arrival

    def test_speed_change_applies_at_once(self):
        self.load.ram_rate = 0
        mig = base.Migration(self.dom, 'emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: self.dest_xml,
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 1}, base.NOVA_FLAGS)
        self.wait_for(lambda: self.dom.jobStats()['type'] != 0)
        self.assertEqual(1, self.dom.migrateGetMaxSpeed())
        time.sleep(0.3)
        self.assertTrue(mig.running())   # 8 MiB at 1 MiB/s takes 8 s
        self.dom.migrateSetMaxSpeed(0)   # unlimited
        self.assertIsNone(mig.wait(timeout=3))


class AbortAndFailureTest(test_migration.MigrationTestBase):

    def slow_migration(self):
        # 24 MiB at 8 MiB/s: 3 s unless stopped.
        return base.Migration(self.dom, 'emulated://dst', self.params(**{
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 8}), base.NOVA_FLAGS)

    def test_abort_midway(self):
        checksums = [base.sha256(p) for p in self.src_paths]
        mig = self.slow_migration()
        self.wait_for(lambda: self.dom.jobStats().get(
            'memory_processed', 0) > 2 * base.MiB)
        self.assertEqual(0, self.dom.abortJob())
        exc = mig.wait()
        self.assertIsNotNone(exc)
        self.assertEqual(libvirt.VIR_ERR_OPERATION_ABORTED,
                         exc.get_error_code())
        self.assertEqual(libvirt.VIR_FROM_QEMU, exc.get_error_domain())
        self.assertEqual("operation aborted: job 'migration out' canceled "
                         "by client", str(exc))
        self.assertLess(mig.seconds, 2)
        self.assertSourceKeptGuest(checksums)
        stats = self.dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_CANCELLED, stats['type'])
        # A retry goes through (the bandwidth parameter was per call).
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
        self.assertEqual(checksums, [base.sha256(p) for p in self.dst_paths])

    def test_injected_error_midway(self):
        checksums = [base.sha256(p) for p in self.src_paths]
        libvirt.get_host('src').inject_migration_error(
            after_bytes=4 * base.MiB, message='migration stream broke',
            code=libvirt.VIR_ERR_INTERNAL_ERROR)
        exc = self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            'internal error: migration stream broke',
            self.dom.migrateToURI3, 'emulated://dst', self.params(**{
                libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 64}), base.NOVA_FLAGS)
        self.assertIsNotNone(exc)
        self.assertSourceKeptGuest(checksums)
        stats = self.dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_FAILED, stats['type'])
        self.assertGreaterEqual(stats['memory_processed'], 4 * base.MiB)
        self.assertIn('migration stream broke', stats['errmsg'])
        # Once only, by default; the default error reads like QEMU's.
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
        self.assertEqual(checksums, [base.sha256(p) for p in self.dst_paths])

    def test_default_injected_error(self):
        libvirt.get_host('src').inject_migration_error()
        self.assertLibvirtError(
            libvirt.VIR_ERR_OPERATION_FAILED,
            "operation failed: job 'migration out' failed",
            self.dom.migrateToURI3, 'emulated://dst', self.params(),
            base.NOVA_FLAGS)

    def test_error_during_switchover_resumes_the_source(self):
        host = libvirt.get_host('src')
        load = host.set_workload(self.uuid, dirty_pages_per_second=500)
        self.wait_for(lambda: load.pages_written > 10)
        host.inject_migration_error(after_bytes=24 * base.MiB)
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_FAILED, None,
                                self.dom.migrateToURI3, 'emulated://dst',
                                self.params(), base.NOVA_FLAGS)
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.dom.state()[0])
        written = load.pages_written
        self.wait_for(lambda: load.pages_written > written)
        self.assertEqual([], self.dst.listAllDomains())

    def test_destroying_the_source_fails_the_migration(self):
        mig = self.slow_migration()
        self.wait_for(lambda: self.dom.jobStats().get(
            'memory_processed', 0) > base.MiB)
        self.dom.destroy()
        exc = mig.wait()
        self.assertEqual(libvirt.VIR_ERR_OPERATION_FAILED,
                         exc.get_error_code())
        self.assertEqual([], self.dst.listAllDomains())

    def test_second_migration_of_the_same_guest_waits_its_turn(self):
        mig = self.slow_migration()
        self.wait_for(lambda: self.dom.jobStats()['type'] != 0)
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_TIMEOUT,
                                'cannot acquire state change lock',
                                self.dom.migrateToURI3, 'emulated://dst',
                                self.params(), base.NOVA_FLAGS)
        self.dom.abortJob()
        mig.wait()


class PostCopyTest(test_migration.MigrationTestBase):

    def test_refused_for_file_backed_nvdimm(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.emulator.migration.fs_type',
            lambda path: 'ext4'))
        checksums = [base.sha256(p) for p in self.src_paths]
        self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR,
            "internal error: unable to execute QEMU command "
            "'migrate-set-capabilities': Postcopy is not supported",
            self.dom.migrateToURI3, 'emulated://dst', self.params(),
            base.NOVA_FLAGS | libvirt.VIR_MIGRATE_POSTCOPY)
        self.assertSourceKeptGuest(checksums)
        # Without the flag the same migration works.
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)

    def test_allowed_for_nvdimm_on_tmpfs(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.emulator.migration.fs_type',
            lambda path: 'tmpfs'))
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS | libvirt.VIR_MIGRATE_POSTCOPY)
        self.assertEqual(1, self.dst.lookupByName('g').isActive())

    def test_fs_type_reads_the_mount_table(self):
        self.assertEqual('proc', migration.fs_type('/proc/self'))

    def test_start_post_copy_needs_the_flag_and_a_job(self):
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'outgoing migration is in progress',
                                self.dom.migrateStartPostCopy)
        mig = base.Migration(self.dom, 'emulated://dst', self.params(**{
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 8}), base.NOVA_FLAGS)
        self.wait_for(lambda: self.dom.jobStats()['type'] != 0)
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'requires migration to be started with '
                                'VIR_MIGRATE_POSTCOPY flag',
                                self.dom.migrateStartPostCopy)
        self.dom.abortJob()
        mig.wait()


class PostCopyWithoutNvdimmTest(base.EmulatorTestCase):

    def test_switch_to_post_copy(self):
        src = libvirt.open('emulated://src')
        dst = libvirt.open('emulated://dst')
        dom_uuid = self.new_uuid()
        dom = src.defineXML(base.guest_xml('ram-only', dom_uuid,
                                           ram_kib=16 * 1024))
        dom.create()
        libvirt.get_host('src').set_workload(
            dom_uuid, ram_dirty_pages_per_second=20000)
        dom.migrateSetMaxDowntime(10)
        mig = base.Migration(dom, 'emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 32},
            base.NOVA_FLAGS | libvirt.VIR_MIGRATE_POSTCOPY)
        self.wait_for(lambda: dom.jobStats().get('memory_iteration', 0) >= 2)
        dom.migrateStartPostCopy()
        self.wait_for(lambda: not mig.running() or
                      dom.state()[1] == libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)
        if mig.running():
            self.assertEqual([libvirt.VIR_DOMAIN_PAUSED,
                              libvirt.VIR_DOMAIN_PAUSED_POSTCOPY],
                             dom.state())
        self.assertIsNone(mig.wait())
        ddom = dst.lookupByUUIDString(dom_uuid)
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_MIGRATED], ddom.state())
        self.assertEqual([], src.listAllDomains())

    def test_no_abort_in_post_copy(self):
        src = libvirt.open('emulated://src')
        libvirt.open('emulated://dst')
        dom_uuid = self.new_uuid()
        dom = src.defineXML(base.guest_xml('ram-only', dom_uuid,
                                           ram_kib=16 * 1024))
        dom.create()
        # 16 MiB at 4 MiB/s: the post-copy phase lasts seconds.
        mig = base.Migration(dom, 'emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: 4},
            base.NOVA_FLAGS | libvirt.VIR_MIGRATE_POSTCOPY)
        self.wait_for(lambda: dom.jobStats()['type'] != 0)
        dom.migrateStartPostCopy()
        self.wait_for(lambda: dom.state()[1] ==
                      libvirt.VIR_DOMAIN_PAUSED_POSTCOPY)
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'cannot abort migration in post-copy mode',
                                dom.abortJob)
        dom.migrateSetMaxSpeed(0)
        self.assertIsNone(mig.wait())


class SparseNamespaceTest(base.EmulatorTestCase):

    def test_64_gib_sparse_namespace_migrates_quickly(self):
        size = 64 * base.GiB
        src_path = self.make_file('big-src.img', size)
        dst_path = self.make_file('big-dst.img', size)
        chunks = {0: os.urandom(base.MiB), 17 * base.GiB: os.urandom(8192),
                  size - base.MiB: os.urandom(base.MiB)}
        fd = os.open(src_path, os.O_RDWR)
        try:
            for offset, data in chunks.items():
                os.pwrite(fd, data, offset)
        finally:
            os.close(fd)
        src = libvirt.open('emulated://src')
        dst = libvirt.open('emulated://dst')
        dom_uuid = self.new_uuid()
        nv_kib = size // base.KiB
        dom = src.defineXML(base.guest_xml(
            'big', dom_uuid, nvdimms=[(src_path, nv_kib)]))
        dom.create()
        dom.migrateSetMaxSpeed(64 * 1024)          # 64 GiB/s modelled
        start = time.monotonic()
        dom.migrateToURI3('emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: base.guest_xml(
                'big', dom_uuid, nvdimms=[(dst_path, nv_kib)])},
            base.NOVA_FLAGS)
        seconds = time.monotonic() - start
        self.assertLess(seconds, 5)
        self.assertGreater(seconds, 0.9)           # the modelled time
        fd = os.open(dst_path, os.O_RDONLY)
        try:
            for offset, data in chunks.items():
                self.assertEqual(data, os.pread(fd, len(data), offset))
            self.assertEqual(bytes(PAGE), os.pread(fd, PAGE, 5 * base.GiB))
            # Only the data extents were written: still sparse.
            self.assertLess(os.fstat(fd).st_blocks * 512, 64 * base.MiB)
        finally:
            os.close(fd)
        stats = dst.lookupByName('big').jobStats(
            libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertEqual(size + 16 * base.MiB, stats['memory_total'])
        self.assertGreater(stats['memory_constant'],
                           (size - 4 * base.MiB) // PAGE)
        self.assertGreater(stats['memory_bps'], 30 * base.GiB)


class PassLengthTest(test_migration.MigrationTestBase):

    def test_last_pass_is_not_padded(self):
        # An idle guest converges after its first pass: the pass floor
        # (here 5 s) must not delay the switchover.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.emulator.migration.MIN_PASS_SECONDS', 5.0))
        libvirt.get_host('dst').configure(migration_setup_seconds=0)
        mig = base.Migration(self.dom, 'emulated://dst', self.params(),
                             base.NOVA_FLAGS)
        self.assertIsNone(mig.wait())
        self.assertLess(mig.seconds, 2.0)
