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

"""Live migration by the libvirt driver between two emulated hosts.

Nothing below the driver is faked: each host is a LibvirtDriver with its
own options and file-backed namespaces, the emulated libvirt copies the
real bytes between the namespace files, and the tests read them back.
"""

import hashlib
import itertools
import os
import time
import types
from unittest import mock

import fixtures
from oslo_utils import uuidutils

from nova.compute import power_state
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova import test
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import emulator
from nova.virt.libvirt import live_migration
from nova.virt.libvirt import migration as lm
from nova.virt.libvirt import preflight

MiB = 1024 * 1024
GiB = 1024 * MiB
PAGE = 4096
HUGE_SIZE = 64 * GiB
NAMESPACES = ['SMALL:ns_s1|ns_s2|ns_s3', 'HUGE:ns_h1']
LV = emulator


def digest(path):
    sha = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(MiB), b''):
            sha.update(chunk)
    return sha.hexdigest()


def read_at(path, offset, length):
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(length)


def is_zero(path):
    with open(path, 'rb') as f:
        return not f.read().strip(b'\0')


class UriTestCase(test.NoDBTestCase):
    """How the hosts reach each other (pure functions)."""

    def test_own_uri(self):
        own = live_migration.own_libvirt_uri
        self.assertEqual('emulated://cn-b', own('emulated://cn-b', 'b'))
        session = 'qemu+unix:///session?socket=/r/b/libvirt-sock'
        self.assertEqual(session, own(session, 'compute-b'))
        self.assertEqual('qemu+tcp://compute-b/system',
                         own('qemu:///system', 'compute-b'))
        self.assertEqual('qemu+ssh://10.0.0.2/system',
                         own('qemu:///system', 'compute-b', scheme='ssh',
                             inbound_addr='10.0.0.2'))
        self.assertEqual('qemu+tcp://[fd00::2]/system',
                         own('qemu:///system', 'b', inbound_addr='fd00::2'))
        # A session-mode daemon reached over TCP answers /session only.
        self.assertEqual('qemu+tcp://10.77.0.12/session',
                         own('qemu+tcp://10.77.0.12:16509/session', 'b',
                             inbound_addr='10.77.0.12'))

    def test_derived_dest_uri(self):
        derive = live_migration.derive_dest_uri
        self.assertEqual('emulated://compute-b',
                         derive('emulated://cn-a', 'compute-b'))
        self.assertEqual('qemu+tcp://10.0.0.2/system',
                         derive('qemu:///system', 'compute-b',
                                dest_addr='10.0.0.2'))
        self.assertEqual('qemu+ssh://compute-b/system',
                         derive('qemu+ssh://a/system', 'compute-b'))
        self.assertEqual('qemu+tcp://10.77.0.12/session',
                         derive('qemu+tcp://10.77.0.11/session', 'b',
                                dest_addr='10.77.0.12'))

    def test_stream_address(self):
        stream = live_migration.migration_stream_address
        local = 'qemu+unix:///session?socket=/r/b/libvirt-sock'
        remote = 'qemu+tcp://b/system'
        self.assertEqual(('tcp://127.0.0.1', '127.0.0.1'),
                         stream(local, None, False))
        self.assertEqual(('tcp://10.0.0.2', '10.0.0.2'),
                         stream(remote, '10.0.0.2', False))
        self.assertEqual(('tcp://[fd00::2]', 'fd00::2'),
                         stream(remote, 'fd00::2', False))
        # libvirt picks the destination's host name by itself.
        self.assertEqual((None, None), stream(remote, None, False))
        self.assertEqual((None, None), stream(local, '10.0.0.2', True))
        self.assertEqual((None, None),
                         stream('emulated://b', '10.0.0.2', False))


class LiveMigrationTestBase(test.NoDBTestCase):
    """Host A (source, cn-a) and host B (destination, cn-b)."""

    # Options every host gets; the minimum allowed downtime and steps keep
    # a busy guest from converging without help.
    LIBVIRT_OPTS = {'live_migration_downtime': 100,
                    'live_migration_downtime_steps': 3,
                    'live_migration_downtime_delay': 3}

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.addCleanup(emulator.reset)
        self.a = self.make_host('a', 'cn-a', 'compute-a')
        self.b = self.make_host('b', 'cn-b', 'compute-b')
        self.saves = []
        self.migration = objects.Migration(
            id=1, source_compute='compute-a', dest_compute='compute-b',
            migration_type='live-migration')
        self.migration.save = self._record_save

    def _record_save(self):
        self.saves.append((time.monotonic(), self.migration.memory_total,
                           self.migration.memory_processed,
                           self.migration.memory_remaining))

    def make_host(self, key, node, host, rp_uuid=None, **opts):
        pmem_dir = os.path.join(self.tmp, key)
        huge = os.path.join(pmem_dir, 'ns_h1')
        if not os.path.exists(huge):
            os.makedirs(pmem_dir, exist_ok=True)
            with open(huge, 'wb') as f:
                f.truncate(HUGE_SIZE)   # sparse
        self.flags(host=host)
        libvirt_opts = dict(self.LIBVIRT_OPTS, **opts)
        self.flags(group='libvirt', connection_uri='emulated://' + node,
                   pmem_backend='file', pmem_file_dir=pmem_dir,
                   pmem_file_size_mb=4, pmem_namespaces=NAMESPACES,
                   **libvirt_opts)
        drv = libvirt_driver.LibvirtDriver()
        drv.init_host(host)
        drv.live_migration_poll_interval = 0.02
        drv.live_migration_progress_interval = 0.2
        rp_uuid = rp_uuid or uuidutils.generate_uuid()
        resources = drv.get_vpmem_resources(node, rp_uuid)
        # Back to the defaults, so the next host starts from them.
        for name in libvirt_opts:
            self.conf.clear_override(name, group='libvirt')
        return types.SimpleNamespace(
            drv=drv, node=node, host=host, dir=pmem_dir, rp_uuid=rp_uuid,
            emu=emulator.get_host(node),
            resources={r.identifier: r for r in resources})

    def rebuild(self, side, **opts):
        """A new driver for host ``side`` with other options."""
        old = getattr(self, side)
        new = self.make_host(side, old.node, old.host, rp_uuid=old.rp_uuid,
                             **opts)
        setattr(self, side, new)
        return new

    def path(self, side, name):
        return os.path.join(getattr(self, side).dir, name)

    def make_instance(self, names=('ns_s1', 'ns_s2'), pmem='SMALL,SMALL',
                      memory_mb=8):
        flavor = objects.Flavor(
            name='f', flavorid='f1', memory_mb=memory_mb, vcpus=1, root_gb=0,
            ephemeral_gb=0, extra_specs={'hw:pmem': pmem} if pmem else {})
        instance = objects.Instance(
            uuid=uuidutils.generate_uuid(), flavor=flavor, host='compute-a',
            vm_state=vm_states.ACTIVE,
            resources=objects.ResourceList(
                objects=[self.a.resources[n] for n in names]))
        self.migration.instance_uuid = instance.uuid
        return instance

    def boot(self, instance, fill=True):
        if fill:
            for resource in instance.resources:
                with open(resource.metadata.devpath, 'r+b') as f:
                    f.write(os.urandom(resource.metadata.size))
        self.a.drv.spawn(self.context, instance)
        return instance

    def dest_resources(self, names=('ns_s2', 'ns_s3')):
        return objects.ResourceList(
            objects=[self.b.resources[n] for n in names])

    def migrate(self, instance, dest_resources=None, callback=None):
        if dest_resources is None:
            dest_resources = self.dest_resources()
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        migrate_data = self.b.drv.pre_live_migration(
            self.context, instance, dest_resources, migrate_data)
        return self.a.drv.live_migration(
            self.context, instance, 'compute-b', self.migration,
            migrate_data, dest_resources, progress_callback=callback)

    def busy(self, instance, nvdimm_rate=3000, ram_rate=40000):
        """The guest writes its nvdimms (first 1 MiB) and dirties all RAM
        faster than any bandwidth below moves it."""
        return self.a.emu.set_workload(
            instance.uuid, dirty_pages_per_second=nvdimm_rate,
            pages=range(0, 256), ram_dirty_pages_per_second=ram_rate)

    def state(self, side, instance):
        return getattr(self, side).drv.get_info(instance).state

    def assert_left_on_source(self, instance, workload=None, before=None):
        """Source runs with its data; the destination has nothing."""
        self.assertEqual(power_state.RUNNING, self.state('a', instance))
        self.assertFalse(self.b.drv.instance_exists(instance))
        self.assertEqual([], list(self.b.emu.guests))
        for resource in instance.resources:
            path = resource.metadata.devpath
            if workload is not None:
                ok, bad = workload.verify(path)
                self.assertTrue(ok, bad[:10])
            if before is not None:
                # Beyond what the guest writes (first MiB), untouched.
                self.assertEqual(before[path][MiB:],
                                 read_at(path, MiB, resource.metadata.size))

    def snapshot(self, instance):
        return {r.metadata.devpath: read_at(r.metadata.devpath, 0,
                                            r.metadata.size)
                for r in instance.resources}


class MigrateTestCase(LiveMigrationTestBase):

    def test_bytes_copied_source_gone_destination_runs(self):
        instance = self.boot(self.make_instance())
        dest = self.dest_resources()
        result = self.migrate(instance, dest)

        # Guest device i landed on destination namespace i.
        for source, target in zip(instance.resources, dest, strict=True):
            self.assertEqual(digest(source.metadata.devpath),
                             digest(target.metadata.devpath))
        self.assertTrue(is_zero(self.path('b', 'ns_s1')))
        self.assertFalse(self.a.drv.instance_exists(instance))
        self.assertEqual([], list(self.a.emu.guests))
        guest = self.b.drv.host.get_guest(instance)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        self.assertTrue(guest.is_persistent())
        self.assertEqual([r.metadata.devpath for r in dest],
                         guest.get_nvdimm_paths())

        self.assertFalse(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertEqual('emulated://cn-b', result.dest_uri)
        self.assertGreaterEqual(result.data_total, 16 * MiB)
        self.assertIsNotNone(result.downtime_ms)
        self.assertGreaterEqual(result.iterations, 1)
        # Memory progress counts RAM (8 MiB) and both namespaces.
        self.assertEqual(16 * MiB, self.migration.memory_total)
        self.assertEqual(0, self.migration.memory_remaining)

        self.b.drv.post_live_migration_at_destination(self.context,
                                                      instance)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        self.a.drv.post_live_migration_at_source(self.context, instance)
        self.assertFalse(self.a.drv.instance_exists(instance))
        # The source's data stays until the resource tracker erases it.
        self.assertFalse(is_zero(self.path('a', 'ns_s2')))
        erased = self.a.drv.erase_vpmems(self.context, instance.resources)
        self.assertEqual(['ns_s1', 'ns_s2'],
                         sorted(r.identifier for r in erased))
        for resource in instance.resources:
            self.assertTrue(is_zero(resource.metadata.devpath))
        self.assertFalse(is_zero(self.path('b', 'ns_s2')))

    def test_vpmem_guest_never_sends_post_copy(self):
        self.rebuild('a', live_migration_permit_post_copy=True,
                     live_migration_permit_auto_converge=True)
        instance = self.boot(self.make_instance())
        # The emulator, as QEMU, refuses post-copy for this guest: had
        # the driver sent the flag, the migration would have failed.
        domain = self.a.drv.host.get_guest(instance).domain
        exc = self.assertRaises(
            LV.libvirtError, domain.migrateToURI3, 'emulated://cn-b', {},
            LV.VIR_MIGRATE_LIVE | LV.VIR_MIGRATE_PEER2PEER |
            LV.VIR_MIGRATE_POSTCOPY)
        self.assertIn('Postcopy is not supported', str(exc))

        with mock.patch.object(emulator.virDomain, 'migrateToURI3',
                               autospec=True,
                               side_effect=emulator.virDomain.migrateToURI3
                               ) as spy:
            result = self.migrate(instance)
        sent_flags = spy.call_args.args[3]
        self.assertFalse(sent_flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertTrue(sent_flags & LV.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(sent_flags, result.flags)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))

    def test_tunnelled_migration_sends_no_parallel_connections(self):
        self.rebuild('a', live_migration_tunnelled=True,
                     live_migration_parallel_connections=4)
        instance = self.boot(self.make_instance())
        with mock.patch.object(emulator.virDomain, 'migrateToURI3',
                               autospec=True,
                               side_effect=emulator.virDomain.migrateToURI3
                               ) as spy:
            self.migrate(instance)
        _domain, _uri, params, flags = spy.call_args.args
        self.assertTrue(flags & LV.VIR_MIGRATE_TUNNELLED)
        self.assertFalse(flags & LV.VIR_MIGRATE_PARALLEL)
        self.assertNotIn(LV.VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS, params)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))

    def test_non_vpmem_guest_gets_post_copy(self):
        self.rebuild('a', live_migration_permit_post_copy=True,
                     live_migration_permit_auto_converge=True)
        instance = self.boot(self.make_instance(names=(), pmem=None))
        result = self.migrate(instance, objects.ResourceList(objects=[]))
        self.assertTrue(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertFalse(result.flags & LV.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))

    def test_progress_written_into_the_migration(self):
        self.rebuild('a', live_migration_bandwidth=16)
        instance = self.boot(self.make_instance())
        self.migrate(instance)
        self.assertGreaterEqual(len(self.saves), 3)
        processed = [p for _t, _total, p, _r in self.saves]
        self.assertEqual(sorted(processed), processed)
        self.assertEqual(len(set(processed)), len(processed))
        self.assertTrue(all(total == 16 * MiB
                            for _t, total, _p, _r in self.saves))
        self.assertGreater(self.saves[0][3], self.saves[-1][3])
        times = [t for t, *_rest in self.saves]
        # Not more often than the interval (0.2 s).
        self.assertTrue(all(later - earlier > 0.18 for earlier, later
                            in itertools.pairwise(times)), times)

    def test_job_ending_between_polls_still_records_its_totals(self):
        # The whole job (~0.1 s) fits between two polls.
        self.a.drv.live_migration_poll_interval = 30
        instance = self.boot(self.make_instance())
        started = time.monotonic()
        result = self.migrate(instance)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(16 * MiB, self.migration.memory_total)
        self.assertEqual(16 * MiB, result.data_total)
        self.assertGreaterEqual(self.migration.memory_processed, 16 * MiB)
        self.assertEqual(0, self.migration.memory_remaining)
        self.assertEqual(0, self.migration.disk_total)

    def test_large_sparse_vpmem_fits_the_budget_because_it_counts(self):
        # 1 s per GiB; 64 GiB at 64 GiB/s takes about 1 s.
        self.rebuild('a', live_migration_completion_timeout=1,
                     live_migration_bandwidth=64 * 1024,
                     live_migration_timeout_action='abort')
        instance = self.make_instance(names=('ns_h1',), pmem='HUGE')
        source = instance.resources[0].metadata.devpath
        offsets = (0, 32 * GiB + 12345, HUGE_SIZE - PAGE)
        with open(source, 'r+b') as f:
            for offset in offsets:
                f.seek(offset)
                f.write(b'vpmem data at %d' % offset)
        self.boot(instance, fill=False)
        started = time.monotonic()
        self.migrate(instance, self.dest_resources(('ns_h1',)))
        took = time.monotonic() - started
        dest = self.path('b', 'ns_h1')
        for offset in offsets:
            self.assertEqual(b'vpmem data at %d' % offset,
                             read_at(dest, offset, len(b'vpmem data at %d'
                                                       % offset)))
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        self.assertEqual(8 * MiB + HUGE_SIZE, self.migration.memory_total)
        # A budget of RAM alone would have aborted it long before.
        ram_only = lm.completion_timeout(1, lm.data_gib(8, 0, 0))
        counted = lm.completion_timeout(1, lm.data_gib(8, 0, HUGE_SIZE))
        self.assertLess(ram_only, took)
        self.assertLess(took, counted)


class RefusedTestCase(LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        # B's ns_s3 is bigger than the guest's devices.
        with open(self.path('b', 'ns_s3'), 'r+b') as f:
            f.truncate(8 * MiB)
        self.rebuild('b', pmem_allow_mixed_sizes=True)

    def test_pre_live_migration_refuses_other_sizes(self):
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        exc = self.assertRaises(
            exception.DestinationVPMEMMismatch,
            self.b.drv.pre_live_migration, self.context, instance,
            self.dest_resources(), migrate_data)
        self.assertIn('ns_s3', exc.format_message())
        self.assertFalse(migrate_data.has_vpmems)

    def test_destination_xml_size_mismatch_refused_before_any_copy(self):
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        with mock.patch.object(emulator.virDomain,
                               'migrateToURI3') as migrate:
            exc = self.assertRaises(
                exception.LiveMigrationFailed, self.a.drv.live_migration,
                self.context, instance, 'compute-b', self.migration,
                migrate_data, self.dest_resources())
        self.assertFalse(migrate.called)
        self.assertIsInstance(exc.__cause__,
                              exception.DestinationVPMEMMismatch)
        self.assertIn('nvdimm 1 of the guest is 4096 KiB',
                      exc.format_message())
        self.assert_left_on_source(instance)
        for name in ('ns_s2', 'ns_s3'):
            self.assertTrue(is_zero(self.path('b', name)))

    def test_existing_domain_on_destination_refused(self):
        instance = self.boot(self.make_instance())
        self.b.drv.host.write_instance_config(
            self.a.drv.host.get_guest(instance).get_xml_desc(
                migratable=True))
        self.assertRaises(exception.MigrationPreCheckError,
                          self.b.drv.check_can_live_migrate_destination,
                          self.context, instance, False)


class FailureTestCase(LiveMigrationTestBase):

    def test_abort_midway(self):
        self.rebuild('a', live_migration_bandwidth=8)
        instance = self.boot(self.make_instance())
        before = self.snapshot(instance)
        workload = self.busy(instance)
        # B's unclaimed namespace holds someone's data.
        with open(self.path('b', 'ns_s1'), 'r+b') as f:
            f.write(b'other data')

        def abort_once_copying(progress):
            if progress['memory_processed'] > MiB:
                self.a.drv.live_migration_abort(instance)

        dest = self.dest_resources()
        self.assertRaises(exception.LiveMigrationAborted, self.migrate,
                          instance, dest, callback=abort_once_copying)
        self.assertGreater(self.migration.memory_processed, MiB)
        self.assert_left_on_source(instance, workload, before)
        self.assertRaises(exception.InstanceNotInMigration,
                          self.a.drv.live_migration_abort, instance)

        self.b.drv.rollback_live_migration_at_destination(self.context,
                                                          instance)
        self.assertFalse(self.b.drv.instance_exists(instance))
        erased = self.b.drv.erase_vpmems(self.context, dest)
        self.assertEqual(['ns_s2', 'ns_s3'],
                         sorted(r.identifier for r in erased))
        for name in ('ns_s2', 'ns_s3'):
            self.assertTrue(is_zero(self.path('b', name)))
        self.assertEqual(b'other data',
                         read_at(self.path('b', 'ns_s1'), 0, 10))
        self.assertEqual(power_state.RUNNING, self.state('a', instance))

    def test_injected_error_midway(self):
        self.rebuild('a', live_migration_bandwidth=16)
        instance = self.boot(self.make_instance())
        before = self.snapshot(instance)
        self.a.emu.inject_migration_error(after_bytes=4 * MiB)
        exc = self.assertRaises(exception.LiveMigrationFailed, self.migrate,
                                instance)
        self.assertNotIsInstance(exc, exception.LiveMigrationTimedOut)
        self.assertIn('Connection reset by peer', exc.format_message())
        self.assert_left_on_source(instance, before=before)

    def test_timeout_abort(self):
        # Budget: 64 s/GiB x 16 MiB = 1 s.
        self.rebuild('a', live_migration_bandwidth=16,
                     live_migration_completion_timeout=64,
                     live_migration_timeout_action='abort')
        instance = self.boot(self.make_instance())
        before = self.snapshot(instance)
        workload = self.busy(instance)
        started = time.monotonic()
        exc = self.assertRaises(exception.LiveMigrationTimedOut,
                                self.migrate, instance)
        self.assertGreater(time.monotonic() - started, 1.0)
        self.assertIsInstance(exc, exception.LiveMigrationFailed)
        self.assert_left_on_source(instance, workload, before)

    def test_rollback_refused_on_the_instances_own_host(self):
        instance = self.boot(self.make_instance())
        self.assertRaises(exception.InstanceInvalidState,
                          self.a.drv.rollback_live_migration_at_destination,
                          self.context, instance)
        self.assertEqual(power_state.RUNNING, self.state('a', instance))
        self.assertFalse(is_zero(instance.resources[0].metadata.devpath))

    def test_no_migration_to_abort_or_complete(self):
        instance = self.boot(self.make_instance())
        self.assertRaises(exception.InstanceNotInMigration,
                          self.a.drv.live_migration_abort, instance)
        self.assertRaises(exception.InstanceNotInMigration,
                          self.a.drv.live_migration_force_complete,
                          instance)


class ForceCompleteTestCase(LiveMigrationTestBase):

    def assert_arrived(self, instance, workload):
        self.assertEqual([], list(self.a.emu.guests))
        self.b.drv.post_live_migration_at_destination(self.context,
                                                      instance)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        for resource in self.dest_resources():
            ok, bad = workload.verify(resource.metadata.devpath)
            self.assertTrue(ok, bad[:10])

    def test_timeout_force_complete_pauses_vpmem_guest(self):
        self.rebuild('a', live_migration_bandwidth=16,
                     live_migration_completion_timeout=64,
                     live_migration_timeout_action='force_complete',
                     live_migration_permit_post_copy=True)
        instance = self.boot(self.make_instance())
        workload = self.busy(instance)
        result = self.migrate(instance)
        self.assertTrue(result.paused_to_complete)
        self.assertFalse(result.post_copy_started)
        self.assertGreater(workload.pages_written, 0)
        self.assert_arrived(instance, workload)

    def test_force_complete_request_pauses_vpmem_guest(self):
        self.rebuild('a', live_migration_bandwidth=16,
                     live_migration_permit_post_copy=True)
        instance = self.boot(self.make_instance())
        workload = self.busy(instance)

        def force_once_copying(progress):
            if progress['memory_processed'] > 2 * MiB:
                self.a.drv.live_migration_force_complete(instance)

        result = self.migrate(instance, callback=force_once_copying)
        self.assertTrue(result.paused_to_complete)
        self.assertFalse(result.post_copy_started)
        self.assert_arrived(instance, workload)

    def test_force_complete_switches_non_vpmem_guest_to_post_copy(self):
        self.rebuild('a', live_migration_bandwidth=32,
                     live_migration_permit_post_copy=True)
        instance = self.boot(self.make_instance(names=(), pmem=None,
                                                memory_mb=16))
        self.busy(instance, nvdimm_rate=0)
        switched = []

        def force_once_copying(progress):
            if progress['memory_processed'] > 2 * MiB and not switched:
                switched.append(progress)
                self.a.drv.live_migration_force_complete(instance)

        result = self.migrate(instance, objects.ResourceList(objects=[]),
                              callback=force_once_copying)
        self.assertTrue(result.post_copy_started)
        self.assertFalse(result.paused_to_complete)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))

    def test_arrival_resumes_a_guest_paused_to_complete(self):
        instance = self.make_instance(names=(), pmem=None)
        # As if it arrived paused: B runs it, paused.
        self.b.drv.spawn(self.context, instance)
        self.b.drv.host.get_guest(instance).pause()
        self.b.drv.post_live_migration_at_destination(self.context,
                                                      instance)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        # A guest its user paused stays paused.
        self.b.drv.host.get_guest(instance).pause()
        instance.vm_state = vm_states.PAUSED
        self.b.drv.post_live_migration_at_destination(self.context,
                                                      instance)
        self.assertEqual(power_state.PAUSED, self.state('b', instance))


class DestinationCheckTestCase(LiveMigrationTestBase):

    def test_migrate_data(self):
        self.rebuild('b', live_migration_inbound_addr='10.0.0.2')
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        self.assertEqual('emulated://cn-b', migrate_data.target_libvirt_uri)
        self.assertEqual('10.0.0.2', migrate_data.target_connect_addr)
        self.assertFalse(migrate_data.block_migration)
        self.assertFalse(migrate_data.is_on_shared_storage())
        self.assertEqual([], migrate_data.supported_perf_events)

        migrate_data = self.b.drv.pre_live_migration(
            self.context, instance, self.dest_resources(('ns_s3', 'ns_s1')),
            migrate_data)
        self.assertEqual([('ns_s3', self.path('b', 'ns_s3')),
                          ('ns_s1', self.path('b', 'ns_s1'))],
                         [(d.name, d.devpath)
                          for d in migrate_data.dst_vpmems])

    def test_pre_live_migration_refuses_another_hosts_namespace(self):
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        # A's records of its own namespaces: same names, not B's.
        exc = self.assertRaises(
            exception.DestinationVPMEMMismatch,
            self.b.drv.pre_live_migration, self.context, instance,
            instance.resources, migrate_data)
        self.assertIn(self.a.rp_uuid, exc.format_message())

    def test_claim_and_destination_report_must_agree(self):
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        migrate_data = self.b.drv.pre_live_migration(
            self.context, instance, self.dest_resources(('ns_s1', 'ns_s2')),
            migrate_data)
        exc = self.assertRaises(
            exception.LiveMigrationFailed, self.a.drv.live_migration,
            self.context, instance, 'compute-b', self.migration,
            migrate_data, self.dest_resources(('ns_s2', 'ns_s3')))
        self.assertIn('the destination reported namespaces',
                      exc.format_message())
        self.assert_left_on_source(instance)

    def test_derived_uri_without_target_libvirt_uri(self):
        instance = self.boot(self.make_instance())
        migrate_data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        migrate_data.target_libvirt_uri = None
        dest = self.dest_resources()
        migrate_data = self.b.drv.pre_live_migration(
            self.context, instance, dest, migrate_data)
        # The emulated destination is named after its compute host.
        result = self.a.drv.live_migration(
            self.context, instance, 'cn-b', self.migration, migrate_data,
            dest)
        self.assertEqual('emulated://cn-b', result.dest_uri)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))


class LateEstimateTestCase(test.NoDBTestCase):
    """Warn mode's estimate from records as real QEMU 7.2 reports them."""

    # The stamp guest at 0.5 MiB/s copied at 1 MiB/s (integration tier):
    # QEMU's first rate comes with the end of the first pass; the
    # completed record has no rate (libvirt reads 0).
    RUNNING = [
        {'memory_iteration': 1, 'memory_dirty_rate': 0},
        {'memory_iteration': 2, 'memory_dirty_rate': 129},
        {'memory_iteration': 2, 'memory_dirty_rate': 127},
    ]
    COMPLETED = {'memory_iteration': 8, 'memory_dirty_rate': 0}

    def setUp(self):
        super().setUp()
        self.reports = []
        self.late = live_migration.LateEstimate(
            lambda text, converges: self.reports.append(text),
            preflight.Inputs(data_bytes=64 * MiB, dirty_rate=0,
                             bandwidth=1 * MiB))

    def feed(self, records):
        return [self.late(dict(r, memory_page_size=PAGE)) for r in records]

    def test_after_the_second_pass_during_the_copy(self):
        done = self.feed(self.RUNNING + [
            {'memory_iteration': 3, 'memory_dirty_rate': 131}])
        self.assertEqual([False, False, False, True], done)
        self.assertEqual(131 * PAGE, self.late.estimate.inputs.dirty_rate)
        self.late.finish(self.COMPLETED)
        [text] = self.reports
        self.assertIn('(during the copy, from its dirty rate)', text)

    def test_passes_missed_between_polls_keep_the_last_rate_read(self):
        # The job went through its later passes and completed between two
        # polls: the rate read during the copy, not the completed 0.
        self.assertEqual([False] * 3, self.feed(self.RUNNING))
        self.late.finish(dict(self.COMPLETED, memory_page_size=PAGE))
        self.assertEqual(127 * PAGE, self.late.estimate.inputs.dirty_rate)
        [text] = self.reports
        self.assertIn('(after the copy, from its dirty rate)', text)
        self.assertIn('guest dirtying 0.5 MiB/s', text)

    def test_no_rate_read_during_the_copy_takes_the_completed_record(self):
        self.feed(self.RUNNING[:1])
        self.late.finish({'memory_iteration': 2, 'memory_dirty_rate': 256,
                          'memory_page_size': PAGE})
        self.assertEqual(1 * MiB, self.late.estimate.inputs.dirty_rate)

    def test_no_rate_anywhere_says_so(self):
        self.feed(self.RUNNING[:1])
        self.late.finish({})
        self.assertIsNone(self.late.estimate)
        self.assertEqual(["Pre-flight estimate: none: the copy ended before "
                          "the guest's dirty rate was read"], self.reports)
