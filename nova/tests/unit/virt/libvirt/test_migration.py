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

"""Tests of nova.virt.libvirt.migration: pure functions and the monitor.

The monitor runs against a scripted domain on a fake clock, so timeouts,
downtime steps and save intervals are checked to the second without
waiting for them.
"""

import threading
import xml.etree.ElementTree as ET

from nova.compute import power_state
from nova import exception
from nova import objects
from nova import test
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import emulator as fakelibvirt
from nova.virt.libvirt.emulator import errors as emu_errors
from nova.virt.libvirt import migration as lm

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
LV = fakelibvirt
BASE_FLAGS = (LV.VIR_MIGRATE_LIVE | LV.VIR_MIGRATE_PEER2PEER |
              LV.VIR_MIGRATE_PERSIST_DEST | LV.VIR_MIGRATE_UNDEFINE_SOURCE)


def device(name, devpath, size=4 * MiB, align=2 * MiB):
    return objects.LibvirtVPMEMDevice(label='SMALL', name=name, size=size,
                                      devpath=devpath, align=align)


def guest_xml(nvdimms, devdax=False, plain_dimm=False):
    """Guest XML from domain_xml, optionally with a plain dimm first."""
    spec = domain_xml.GuestSpec(
        name='instance-1', uuid='8f0a3ad1-4f43-4b8a-9a60-8f2d6fbb0a11',
        memory_mb=64, vcpus=1,
        nvdimms=tuple(domain_xml.NvdimmSpec(path=p, size=s, align=a,
                                            devdax=devdax)
                      for p, s, a in nvdimms))
    root = domain_xml.build_domain(spec)
    if plain_dimm:
        dimm = ET.Element('memory', model='dimm')
        target = ET.SubElement(dimm, 'target')
        ET.SubElement(target, 'size', unit='KiB').text = '131072'
        ET.SubElement(target, 'node').text = '0'
        root.find('devices').insert(0, dimm)
    return domain_xml.to_string(root)


def nvdimms_of(xml_text):
    return lm.nvdimm_elements(ET.fromstring(xml_text))


class UpdateVpmemXmlTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.src = guest_xml([('/src/ns0', 4 * MiB, 2 * MiB),
                              ('/src/ns1', 8 * MiB, 2 * MiB)])

    def test_paths_assigned_in_device_order(self):
        new = lm.update_vpmem_xml(self.src, [device('d0', '/dst/a'),
                                             device('d1', '/dst/b',
                                                    size=8 * MiB)])
        self.assertEqual(['/dst/a', '/dst/b'], domain_xml.nvdimm_paths(new))
        # Nothing but the paths changed.
        for before, after in zip(nvdimms_of(self.src), nvdimms_of(new),
                                 strict=True):
            self.assertEqual(before.findtext('./target/size'),
                             after.findtext('./target/size'))
            self.assertEqual(before.findtext('./source/alignsize'),
                             after.findtext('./source/alignsize'))
        restored = new.replace('/dst/a', '/src/ns0').replace('/dst/b',
                                                             '/src/ns1')
        self.assertEqual(ET.tostring(ET.fromstring(self.src)),
                         ET.tostring(ET.fromstring(restored)))

    def test_size_mismatch_refused_naming_device_and_sizes(self):
        exc = self.assertRaises(
            exception.DestinationVPMEMMismatch, lm.update_vpmem_xml,
            self.src, [device('d0', '/dst/a'), device('d1', '/dst/b')])
        message = exc.format_message()
        self.assertIn('nvdimm 1', message)
        self.assertIn('8192 KiB', message)
        self.assertIn('4096 KiB', message)
        self.assertIn('d1', message)

    def test_align_mismatch_refused(self):
        exc = self.assertRaises(
            exception.DestinationVPMEMMismatch, lm.update_vpmem_xml,
            self.src, [device('d0', '/dst/a', align=4 * KiB),
                       device('d1', '/dst/b', size=8 * MiB)])
        message = exc.format_message()
        self.assertIn('nvdimm 0', message)
        self.assertIn('2048 KiB', message)
        self.assertIn('4 KiB', message)

    def test_count_mismatch_refused(self):
        for devices in ([device('d0', '/dst/a')],
                        [device('d0', '/dst/a'),
                         device('d1', '/dst/b', size=8 * MiB),
                         device('d2', '/dst/c')]):
            exc = self.assertRaises(exception.DestinationVPMEMMismatch,
                                    lm.update_vpmem_xml, self.src, devices)
            self.assertIn('2 nvdimm device(s)', exc.format_message())

    def test_guest_without_nvdimm_and_no_devices(self):
        xml = guest_xml([])
        self.assertEqual([], domain_xml.nvdimm_paths(
            lm.update_vpmem_xml(xml, [])))
        self.assertRaises(exception.DestinationVPMEMMismatch,
                          lm.update_vpmem_xml, xml, [device('d0', '/x')])

    def test_plain_dimm_not_counted(self):
        xml = guest_xml([('/src/ns0', 4 * MiB, 2 * MiB)], plain_dimm=True)
        new = lm.update_vpmem_xml(xml, [device('d0', '/dst/a')])
        self.assertEqual(['/dst/a'], domain_xml.nvdimm_paths(new))
        memories = ET.fromstring(new).findall('./devices/memory')
        self.assertEqual(['dimm', 'nvdimm'],
                         [m.get('model') for m in memories])
        self.assertIsNone(memories[0].find('./source'))

    def test_units_are_honoured(self):
        root = ET.fromstring(self.src)
        first, second = lm.nvdimm_elements(root)
        first.find('./target/size').set('unit', 'b')
        first.find('./target/size').text = str(4 * MiB)
        second.find('./target/size').set('unit', 'MiB')
        second.find('./target/size').text = '8'
        second.find('./source/alignsize').set('unit', 'MiB')
        second.find('./source/alignsize').text = '2'
        del first.find('./source/alignsize').attrib['unit']  # KiB default
        xml = ET.tostring(root, encoding='unicode')
        devices = [device('d0', '/dst/a'),
                   device('d1', '/dst/b', size=8 * MiB)]
        self.assertEqual(['/dst/a', '/dst/b'], domain_xml.nvdimm_paths(
            lm.update_vpmem_xml(xml, devices)))
        second.find('./target/size').set('unit', 'GiB')
        second.find('./target/size').text = '1'
        self.assertRaises(exception.DestinationVPMEMMismatch,
                          lm.update_vpmem_xml,
                          ET.tostring(root, encoding='unicode'), devices)

    def test_pmem_kept_for_devdax(self):
        xml = guest_xml([('/dev/dax0.0', 4 * MiB, 2 * MiB)], devdax=True)
        new = lm.update_vpmem_xml(xml, [device('d0', '/dev/dax1.0')])
        self.assertIsNotNone(nvdimms_of(new)[0].find('./source/pmem'))

    def test_no_pmem_for_files(self):
        xml = guest_xml([('/src/ns0', 4 * MiB, 2 * MiB)])
        new = lm.update_vpmem_xml(xml, [device('d0', '/dst/a')])
        self.assertIsNone(nvdimms_of(new)[0].find('./source/pmem'))

    def test_pmem_change_refused(self):
        file_guest = guest_xml([('/src/ns0', 4 * MiB, 2 * MiB)])
        exc = self.assertRaises(exception.DestinationVPMEMMismatch,
                                lm.update_vpmem_xml, file_guest,
                                [device('d0', '/dev/dax1.0')])
        self.assertIn('lacks <pmem/>', exc.format_message())
        dax_guest = guest_xml([('/dev/dax0.0', 4 * MiB, 2 * MiB)],
                              devdax=True)
        self.assertRaises(exception.DestinationVPMEMMismatch,
                          lm.update_vpmem_xml, dax_guest,
                          [device('d0', '/dst/a')])
        # The explicit flag overrides the path.
        self.assertRaises(exception.DestinationVPMEMMismatch,
                          lm.update_vpmem_xml, dax_guest,
                          [device('d0', '/dev/dax1.0')], devdax=False)

    def test_namespace_prefixes_survive(self):
        metadata = ('<metadata><nova:instance xmlns:nova="http://openstack.'
                    'org/xmlns/libvirt/nova/1.1"><nova:name>vm</nova:name>'
                    '</nova:instance></metadata>')
        xml = self.src.replace('<name>', metadata + '<name>', 1)
        self.assertIn('<nova:name>', xml)
        new = lm.update_vpmem_xml(
            xml, [device('d0', '/dst/a'), device('d1', '/dst/b',
                                                 size=8 * MiB)])
        self.assertIn('<nova:name>vm</nova:name>', new)

    def test_nvdimm_sizes(self):
        self.assertEqual([4 * MiB, 8 * MiB], lm.nvdimm_sizes(self.src))
        self.assertEqual([], lm.nvdimm_sizes(guest_xml([], plain_dimm=True)))


class FlagsTestCase(test.NoDBTestCase):
    def flags_for(self, has_vpmem, post_copy=False, auto_converge=False,
                  tunnelled=False, parallel=1, block=False):
        return lm.migration_flags(LV, has_vpmem, post_copy, auto_converge,
                                  tunnelled, parallel, block_migration=block)

    def test_base(self):
        self.assertEqual(BASE_FLAGS, self.flags_for(True))
        self.assertEqual(BASE_FLAGS, self.flags_for(False))

    def test_vpmem_never_post_copy_but_keeps_auto_converge(self):
        flags = self.flags_for(True, post_copy=True, auto_converge=True)
        self.assertFalse(flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertTrue(flags & LV.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(BASE_FLAGS, self.flags_for(True, post_copy=True))

    def test_non_vpmem_post_copy_excludes_auto_converge(self):
        flags = self.flags_for(False, post_copy=True, auto_converge=True)
        self.assertTrue(flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertFalse(flags & LV.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(BASE_FLAGS | LV.VIR_MIGRATE_AUTO_CONVERGE,
                         self.flags_for(False, auto_converge=True))

    def test_post_copy_needs_both_hosts(self):
        # permitted, vpmem, source can, destination can, auto-converge
        # permitted -> POSTCOPY, AUTO_CONVERGE
        cases = [
            (True, False, True, True, True, True, False),
            (True, False, True, True, False, True, False),
            (True, False, False, True, True, False, True),
            (True, False, True, False, True, False, True),
            (True, False, False, False, True, False, True),
            (True, False, True, False, False, False, False),
            (True, True, True, True, True, False, True),
            (False, False, True, True, True, False, True),
            (False, False, False, False, False, False, False),
        ]
        for (permit, vpmem, src, dst, converge, want_post,
                want_converge) in cases:
            with self.subTest(permit=permit, vpmem=vpmem, src=src, dst=dst,
                              converge=converge):
                self.assertIs(want_post, lm.use_post_copy(permit, vpmem,
                                                          src, dst))
                flags = lm.migration_flags(
                    LV, vpmem, permit, converge, False, 1,
                    source_can_post_copy=src, dest_can_post_copy=dst)
                self.assertEqual(want_post,
                                 bool(flags & LV.VIR_MIGRATE_POSTCOPY))
                self.assertEqual(want_converge,
                                 bool(flags & LV.VIR_MIGRATE_AUTO_CONVERGE))

    def test_fallback_warning(self):
        warn = lm.post_copy_fallback_warning
        # Nothing to say: not permitted, vpmem (the rule), both able.
        self.assertIsNone(warn(False, False, True, 'src off', 'dst off'))
        self.assertIsNone(warn(True, True, True, 'src off', 'dst off'))
        self.assertIsNone(warn(True, False, True))
        text = warn(True, False, True, dest_reason='b (sysctl 0)')
        self.assertIn('destination: b (sysctl 0)', text)
        self.assertNotIn('source:', text)
        self.assertIn('pre-copy with auto-converge', text)
        for setting in ('vm.unprivileged_userfaultfd = 1',
                        '/dev/userfaultfd',
                        'live_migration_permit_post_copy = False'):
            self.assertIn(setting, text)
        text = warn(True, False, False, source_reason='a (x)',
                    dest_reason='b (y)')
        self.assertIn('source: a (x); destination: b (y)', text)
        self.assertIn('plain pre-copy', text)

    def test_tunnelled_parallel_block(self):
        self.assertEqual(BASE_FLAGS | LV.VIR_MIGRATE_TUNNELLED,
                         self.flags_for(True, tunnelled=True))
        self.assertEqual(BASE_FLAGS | LV.VIR_MIGRATE_PARALLEL,
                         self.flags_for(True, parallel=4))
        self.assertEqual(BASE_FLAGS, self.flags_for(True, parallel=1))
        self.assertEqual(BASE_FLAGS | LV.VIR_MIGRATE_NON_SHARED_INC,
                         self.flags_for(True, block=True))

    def test_no_parallel_connections_through_a_tunnel(self):
        # libvirt: "Flags 'VIR_MIGRATE_TUNNELLED' and
        # 'VIR_MIGRATE_PARALLEL' are mutually exclusive".
        self.assertEqual(BASE_FLAGS | LV.VIR_MIGRATE_TUNNELLED,
                         self.flags_for(True, tunnelled=True, parallel=4))
        self.assertEqual(1, lm.stream_connections(True, 4))
        self.assertEqual(4, lm.stream_connections(False, 4))
        self.assertEqual(1, lm.stream_connections(False, None))


class ParamsTestCase(test.NoDBTestCase):
    def test_params(self):
        self.assertEqual(
            {LV.VIR_MIGRATE_PARAM_DEST_XML: '<x/>',
             LV.VIR_MIGRATE_PARAM_PERSIST_XML: '<x/>'},
            lm.build_params(LV, '<x/>', 0))
        self.assertEqual(
            {LV.VIR_MIGRATE_PARAM_DEST_XML: '<x/>',
             LV.VIR_MIGRATE_PARAM_PERSIST_XML: '<x/>',
             LV.VIR_MIGRATE_PARAM_BANDWIDTH: 16,
             LV.VIR_MIGRATE_PARAM_URI: 'tcp://127.0.0.1',
             LV.VIR_MIGRATE_PARAM_LISTEN_ADDRESS: '127.0.0.1',
             LV.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS: 4},
            lm.build_params(LV, '<x/>', 16, 'tcp://127.0.0.1', '127.0.0.1',
                            4))


class BudgetTestCase(test.NoDBTestCase):
    def test_data_counts_ram_disk_and_vpmem(self):
        self.assertEqual(65.0, lm.data_gib(1024, 0, 64 * GiB))
        self.assertEqual(11.5, lm.data_gib(512, 10, GiB))
        self.assertEqual(0.0, lm.data_gib(0, 0, 0))

    def test_vpmem_gets_proportionally_larger_budget(self):
        ram_only = lm.completion_timeout(800, lm.data_gib(1024, 0, 0))
        with_vpmem = lm.completion_timeout(800,
                                           lm.data_gib(1024, 0, 64 * GiB))
        self.assertEqual(800, ram_only)
        self.assertEqual(65 * 800, with_vpmem)

    def test_zero_disables_timeout(self):
        self.assertEqual(0, lm.completion_timeout(0, 65))
        self.assertEqual(0, lm.completion_timeout(-1, 65))

    def test_downtime_steps_grow_to_max(self):
        steps = lm.downtime_steps(500, 10, 75, 2.0)
        self.assertEqual(10, len(steps))
        self.assertEqual((0, 50), steps[0])
        self.assertEqual((9 * 150.0, 500), steps[-1])
        times = [t for t, _ms in steps]
        values = [ms for _t, ms in steps]
        self.assertEqual(sorted(times), times)
        self.assertEqual(sorted(values), values)
        self.assertEqual(len(set(values)), len(values))

    def test_downtime_steps_stretch_with_vpmem(self):
        ram_only = lm.downtime_steps(500, 5, 75, lm.data_gib(1024, 0, 0))
        vpmem = lm.downtime_steps(500, 5, 75,
                                  lm.data_gib(1024, 0, 64 * GiB))
        self.assertEqual([ms for _t, ms in ram_only],
                         [ms for _t, ms in vpmem])
        self.assertEqual(65 * ram_only[1][0], vpmem[1][0])

    def test_downtime_steps_odd_values(self):
        steps = lm.downtime_steps(100, 3, 3, 0.0)
        self.assertEqual([(0, 34), (0, 67), (0, 100)], steps)
        self.assertEqual([(0, 7)], lm.downtime_steps(7, 0, 3, 1))


class ProgressTestCase(test.NoDBTestCase):
    def test_memory_and_disk(self):
        stats = {'type': 2, 'memory_total': 100, 'memory_processed': 40,
                 'memory_remaining': 60, 'disk_total': 10,
                 'disk_processed': 5, 'disk_remaining': 5,
                 'data_total': 110}
        self.assertEqual({'memory_total': 100, 'memory_processed': 40,
                          'memory_remaining': 60, 'disk_total': 10,
                          'disk_processed': 5, 'disk_remaining': 5},
                         lm.progress_from_job_stats(stats))

    def test_data_minus_disk_without_memory_keys(self):
        stats = {'data_total': 110, 'data_processed': 45,
                 'data_remaining': 65, 'disk_total': 10,
                 'disk_processed': 5, 'disk_remaining': 5}
        progress = lm.progress_from_job_stats(stats)
        self.assertEqual((100, 40, 60), (progress['memory_total'],
                                         progress['memory_processed'],
                                         progress['memory_remaining']))

    def test_empty(self):
        self.assertEqual(dict.fromkeys(lm.PROGRESS_FIELDS, 0),
                         lm.progress_from_job_stats({}))


# -- the monitor, on a fake clock ---------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeRun:
    """A scripted migration: the job, its domain and its guest at once.

    Memory moves at ``speed`` bytes/s from ``start`` seconds on; the job
    ends by itself at ``complete_at`` (None: never, the guest dirties too
    fast), 1 s after a pause (if ``pause_completes``), 1 s after a
    post-copy switch, at once on abortJob (code 78), or with an error at
    ``fail_at``.
    """

    def __init__(self, clock, total=64 * MiB, speed=8 * MiB, start=0.0,
                 complete_at=None, fail_at=None, flags=BASE_FLAGS,
                 paused=False, abort_failures=0, pause_completes=True,
                 fail_code=LV.VIR_ERR_OPERATION_FAILED):
        self.clock = clock
        self.total = total
        self.speed = speed
        self.start = start
        self.complete_at = complete_at
        self.fail_at = fail_at
        self.flags = flags
        self.error = None
        self.state = LV.VIR_DOMAIN_PAUSED if paused else LV.VIR_DOMAIN_RUNNING
        self.calls = []
        self.abort_failures = abort_failures
        self.pause_completes = pause_completes
        self.fail_code = fail_code
        self._ended = False
        # Guest interface for the monitor.
        self.domain = self
        self.libvirt = LV

    # job
    def done(self):
        now = self.clock.now
        if not self._ended:
            if self.fail_at is not None and now >= self.fail_at:
                self._end(emu_errors.error(self.fail_code,
                                           'Connection reset by peer'))
            elif self.complete_at is not None and now >= self.complete_at:
                self._end(None)
        return self._ended

    def _end(self, error):
        self._ended = True
        self.error = error

    def wait(self, seconds):
        self.clock.now += seconds
        return self.done()

    # domain
    def jobStats(self):
        now = self.clock.now
        if self._ended:
            raise emu_errors.no_domain_uuid('x')
        if now < self.start:
            return {'type': LV.VIR_DOMAIN_JOB_NONE}
        processed = int((now - self.start) * self.speed)
        return {'type': LV.VIR_DOMAIN_JOB_UNBOUNDED,
                'memory_total': self.total, 'memory_processed': processed,
                'memory_remaining': max(self.total - processed, 4 * MiB),
                'data_total': self.total, 'memory_iteration':
                    1 + processed // self.total, 'downtime': 30}

    def abortJob(self):
        self.calls.append(('abortJob', self.clock.now))
        if self.abort_failures:
            self.abort_failures -= 1
            raise emu_errors.error(LV.VIR_ERR_OPERATION_INVALID,
                                   'no job is active on the domain')
        self._end(emu_errors.error(LV.VIR_ERR_OPERATION_ABORTED,
                                   "job 'migration out' canceled by client"))

    def migrateSetMaxDowntime(self, ms, flags=0):  # noqa: N802
        self.calls.append(('downtime', ms, self.clock.now))

    def migrateStartPostCopy(self, flags=0):  # noqa: N802
        self.calls.append(('postcopy', self.clock.now))
        if not self.flags & LV.VIR_MIGRATE_POSTCOPY:
            raise emu_errors.error(LV.VIR_ERR_OPERATION_INVALID,
                                   'requires VIR_MIGRATE_POSTCOPY')
        self.complete_at = self.clock.now + 1

    # guest
    def get_power_state(self):
        return (power_state.PAUSED if self.state == LV.VIR_DOMAIN_PAUSED
                else power_state.RUNNING)

    def pause(self):
        self.calls.append(('pause', self.clock.now))
        self.state = LV.VIR_DOMAIN_PAUSED
        if self.pause_completes:
            self.complete_at = self.clock.now + 1

    def resume(self):
        self.calls.append(('resume', self.clock.now))
        self.state = LV.VIR_DOMAIN_RUNNING

    def names(self):
        return [call[0] for call in self.calls]


class MonitorTestCase(test.NoDBTestCase):
    def setUp(self):
        super().setUp()
        self.clock = FakeClock()
        self.migration = objects.Migration(id=7, memory_total=None)
        self.saved = []

        def save():
            self.saved.append((self.clock.now, self.migration.memory_total,
                               self.migration.memory_processed,
                               self.migration.memory_remaining))
        self.migration.save = save

    def monitor(self, run, callback=None, spawn=None, **settings):
        settings.setdefault('poll_interval', 0.5)
        return lm.MigrationMonitor(
            run, self.migration, 'uuid-1', lm.MonitorSettings(**settings),
            run, progress_callback=callback, clock=self.clock,
            spawn=spawn or (lambda func, *args: func(*args)))

    def test_progress_saved_at_most_every_interval(self):
        run = FakeRun(self.clock, complete_at=7.2)
        seen = []
        result = self.monitor(run, callback=seen.append,
                              progress_interval=2).run()
        self.assertEqual([0.0, 2.0, 4.0, 6.0],
                         [when for when, *_rest in self.saved])
        processed = [p for _w, _t, p, _r in self.saved]
        self.assertEqual(sorted(processed), processed)
        self.assertEqual(len(set(processed)), len(processed))
        self.assertTrue(all(t == 64 * MiB for _w, t, _p, _r in self.saved))
        # Every poll reports, not only those that save.
        self.assertEqual(15, len(seen))
        # The end is recorded on the object for the caller's next save.
        self.assertEqual(0, self.migration.memory_remaining)
        self.assertEqual(64 * MiB, self.migration.memory_processed)
        self.assertEqual(4, len(self.saved))
        self.assertFalse(result.paused_to_complete)
        self.assertEqual(30, result.downtime_ms)
        self.assertEqual(64 * MiB, result.data_total)

    def test_stats_callback_sees_records_until_it_is_done(self):
        run = FakeRun(self.clock, speed=32 * MiB, complete_at=7.2)
        seen = []

        def late(stats):
            seen.append((self.clock.now, stats['memory_iteration']))
            return stats['memory_iteration'] >= 2
        monitor = lm.MigrationMonitor(
            run, self.migration, 'uuid-1',
            lm.MonitorSettings(poll_interval=0.5), run, clock=self.clock,
            spawn=lambda func, *args: func(*args), stats_callback=late)
        monitor.run()
        # 32 MiB/s over 64 MiB: the second pass from 2 s; no call after.
        self.assertEqual((2.0, 2), seen[-1])
        self.assertEqual([1] * 4, [it for _when, it in seen[:-1]])

    def test_a_failing_stats_callback_stops_only_itself(self):
        run = FakeRun(self.clock, complete_at=3)
        calls = []

        def broken(stats):
            calls.append(stats)
            raise ValueError('bug')
        monitor = lm.MigrationMonitor(
            run, self.migration, 'uuid-1',
            lm.MonitorSettings(poll_interval=0.5, progress_interval=1), run,
            clock=self.clock, spawn=lambda func, *args: func(*args),
            stats_callback=broken)
        result = monitor.run()
        self.assertEqual(1, len(calls))
        # Progress is still followed to the end.
        self.assertEqual(64 * MiB, result.data_total)
        self.assertGreater(len(self.saved), 1)

    def test_save_failure_does_not_stop_the_monitor(self):
        run = FakeRun(self.clock, complete_at=3)

        def broken():
            raise exception.MigrationNotFound(migration_id=7)
        self.migration.save = broken
        # The timeout is still enforced, progress still recorded.
        self.assertRaises(exception.LiveMigrationTimedOut,
                          self.monitor(run, progress_interval=1,
                                       completion_timeout=2).run)
        self.assertEqual(20 * MiB, self.migration.memory_processed)

    def test_downtime_steps_applied_when_due(self):
        run = FakeRun(self.clock, complete_at=10)
        steps = lm.downtime_steps(500, 5, 3, 1.0)   # every 3 s
        self.monitor(run, downtime_steps=tuple(steps)).run()
        applied = [(ms, when) for name, ms, when in
                   (c for c in run.calls if c[0] == 'downtime')]
        self.assertEqual([(100, 0.0), (200, 3.0), (300, 6.0), (400, 9.0)],
                         applied)

    def test_late_poll_applies_only_the_latest_due_step(self):
        run = FakeRun(self.clock, complete_at=10)
        self.monitor(run, poll_interval=4,
                     downtime_steps=((0, 10), (1, 20), (2, 30))).run()
        self.assertEqual([('downtime', 10, 0.0), ('downtime', 30, 4.0)],
                         run.calls)

    def test_downtime_waits_until_data_flows(self):
        # The destination takes 2 s to start: no downtime call before.
        run = FakeRun(self.clock, start=2.0, complete_at=6)
        self.monitor(run, downtime_steps=((0, 10), (1, 20), (4, 30))).run()
        self.assertEqual([('downtime', 20, 2.0), ('downtime', 30, 4.0)],
                         run.calls)

    def test_a_blocked_downtime_call_holds_up_nothing(self):
        # migrateSetMaxDowntime blocks (seen on real QEMU): the abort
        # still goes out at the next poll, and no second downtime call
        # piles up behind the first.
        run = FakeRun(self.clock)
        release = threading.Event()
        entered = threading.Event()

        def blocked(ms, flags=0):
            run.calls.append(('downtime', ms, self.clock.now))
            entered.set()
            release.wait(10)
        run.migrateSetMaxDowntime = blocked
        monitor = self.monitor(run, spawn=lm._spawn_daemon,
                               downtime_steps=((0, 10), (1, 20)))
        def wait(seconds):
            if self.clock.now >= 2:
                self.assertTrue(entered.wait(5))
                monitor.request_abort()
            run.wait(seconds)
        monitor._wait = wait
        try:
            self.assertRaises(exception.LiveMigrationAborted, monitor.run)
        finally:
            release.set()
        self.assertEqual([('downtime', 10, 0.0), ('abortJob', 2.5)],
                         run.calls)

    def test_job_never_seen_is_aborted_at_the_budget(self):
        # libvirt never reports the job (stuck setting up the
        # destination): the budget still ends it.
        run = FakeRun(self.clock, start=1000.0)
        self.assertRaises(
            exception.LiveMigrationTimedOut,
            self.monitor(run, completion_timeout=5,
                         timeout_action='abort',
                         downtime_steps=((0, 10),)).run)
        self.assertEqual([('abortJob', 5.5)], run.calls)

    def test_timeout_abort(self):
        run = FakeRun(self.clock)
        exc = self.assertRaises(
            exception.LiveMigrationTimedOut,
            self.monitor(run, completion_timeout=5,
                         timeout_action='abort').run)
        self.assertIsInstance(exc, exception.LiveMigrationFailed)
        self.assertEqual([('abortJob', 5.5)], run.calls)
        self.assertIn('uuid-1', exc.format_message())

    def test_timeout_force_complete_pauses_vpmem_guest(self):
        run = FakeRun(self.clock)
        result = self.monitor(run, completion_timeout=5, has_vpmem=True,
                              post_copy=False,
                              timeout_action='force_complete').run()
        self.assertEqual([('pause', 5.5)], run.calls)
        self.assertTrue(result.paused_to_complete)
        self.assertFalse(result.post_copy_started)

    def test_force_complete_request_pauses_vpmem_guest(self):
        run = FakeRun(self.clock, flags=BASE_FLAGS)
        monitor = self.monitor(run, has_vpmem=True, post_copy=False,
                               callback=lambda p: monitor.
                               request_force_complete())
        result = monitor.run()
        self.assertEqual(['pause'], run.names())
        self.assertTrue(result.paused_to_complete)

    def test_force_complete_switches_non_vpmem_guest_to_post_copy(self):
        run = FakeRun(self.clock,
                      flags=BASE_FLAGS | LV.VIR_MIGRATE_POSTCOPY)
        monitor = self.monitor(run, has_vpmem=False, post_copy=True,
                               callback=lambda p: monitor.
                               request_force_complete())
        result = monitor.run()
        self.assertEqual(['postcopy'], run.names())
        self.assertTrue(result.post_copy_started)
        self.assertFalse(result.paused_to_complete)
        # The guest runs on the destination now: no abort possible.
        self.assertRaises(exception.LiveMigrationNotAbortable,
                          monitor.request_abort)

    def test_post_copy_never_tried_for_vpmem_guest(self):
        # Even if the settings claim the flag, a vpmem guest is paused.
        run = FakeRun(self.clock,
                      flags=BASE_FLAGS | LV.VIR_MIGRATE_POSTCOPY)
        monitor = self.monitor(run, has_vpmem=True, post_copy=True,
                               callback=lambda p: monitor.
                               request_force_complete())
        monitor.run()
        self.assertEqual(['pause'], run.names())

    def test_failed_post_copy_switch_falls_back_to_pause(self):
        run = FakeRun(self.clock, flags=BASE_FLAGS)
        monitor = self.monitor(run, has_vpmem=False, post_copy=True,
                               callback=lambda p: monitor.
                               request_force_complete())
        result = monitor.run()
        self.assertEqual(['postcopy', 'pause'], run.names())
        self.assertTrue(result.paused_to_complete)

    def test_user_paused_guest_not_paused_again_nor_resumed(self):
        run = FakeRun(self.clock, paused=True, fail_at=3)
        monitor = self.monitor(run, has_vpmem=True, callback=lambda p:
                               monitor.request_force_complete())
        self.assertRaises(exception.LiveMigrationFailed, monitor.run)
        self.assertEqual([], run.names())
        self.assertEqual(power_state.PAUSED, run.get_power_state())

    def test_abort_request(self):
        run = FakeRun(self.clock)
        monitor = self.monitor(run, callback=lambda p: (
            monitor.request_abort() if p['memory_processed'] >= 16 * MiB
            else None))
        exc = self.assertRaises(exception.LiveMigrationAborted, monitor.run)
        self.assertNotIsInstance(exc, exception.LiveMigrationFailed)
        self.assertEqual([('abortJob', 2.0)], run.calls)

    def test_abort_that_ends_on_a_broken_stream_is_an_abort(self):
        # Real QEMU may report the cancelled job as a write error once the
        # destination hung up first.
        run = FakeRun(self.clock)
        run.abortJob = lambda: run._end(emu_errors.error(
            LV.VIR_ERR_OPERATION_FAILED, "job 'migration out' failed: "
            "Unable to write to socket: Broken pipe"))
        monitor = self.monitor(run, callback=lambda p: (
            monitor.request_abort() if p['memory_processed'] >= 16 * MiB
            else None))
        self.assertRaises(exception.LiveMigrationAborted, monitor.run)

    def test_abort_waits_for_the_job_and_is_retried(self):
        run = FakeRun(self.clock, start=1.2, abort_failures=1)
        monitor = self.monitor(run)
        monitor.request_abort()
        self.assertRaises(exception.LiveMigrationAborted, monitor.run)
        # Not before libvirt reported a job (1.5 s); refused once, retried.
        self.assertEqual([('abortJob', 1.5), ('abortJob', 2.0)], run.calls)

    def test_failure_after_pause_resumes_the_source(self):
        # The link breaks before the paused guest's copy completes.
        run = FakeRun(self.clock, fail_at=2.7, pause_completes=False)
        monitor = self.monitor(run, has_vpmem=True, completion_timeout=2,
                               timeout_action='force_complete')
        exc = self.assertRaises(exception.LiveMigrationFailed, monitor.run)
        self.assertNotIsInstance(exc, exception.LiveMigrationTimedOut)
        self.assertIn('Connection reset by peer', exc.format_message())
        self.assertEqual(['pause', 'resume'], run.names())
        self.assertEqual(power_state.RUNNING, run.get_power_state())

    def test_abort_by_someone_else_is_an_abort(self):
        run = FakeRun(self.clock, fail_at=1,
                      fail_code=LV.VIR_ERR_OPERATION_ABORTED)
        self.assertRaises(exception.LiveMigrationAborted,
                          self.monitor(run).run)
        self.assertEqual([], run.calls)

    def test_monitor_bug_does_not_orphan_the_job(self):
        run = FakeRun(self.clock, complete_at=3)
        run.migrateSetMaxDowntime = None   # calling it raises TypeError
        result = self.monitor(run, downtime_steps=((0, 100),)).run()
        self.assertIsInstance(result, lm.LiveMigrationResult)
        self.assertEqual(3.0, self.clock.now)
