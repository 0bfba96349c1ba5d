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

"""Post-copy only where both hosts can: detection and the driver's use.

The host's facts (vm.unprivileged_userfaultfd, /dev/userfaultfd, QEMU's
version) are read from files the tests point elsewhere; the driver tests
run two emulated hosts, one of which may be told it has no userfaultfd.
"""

import os
from unittest import mock

import fixtures

from nova.compute import power_state
from nova import objects
from nova import test
from nova.tests.unit.virt.libvirt import test_live_migration as base
from nova.virt.libvirt import emulator
from nova.virt.libvirt import host as libvirt_host

LV = emulator
QEMU_7_2 = 7002022
QEMU_8_1 = 8001000


class CapabilityRuleTestCase(test.NoDBTestCase):
    """userfaultfd_capability: (sysctl, /dev usable, QEMU) -> answer."""

    CASES = [
        # unprivileged, dev usable, qemu version, can, words in reason
        (None, False, None, True, 'no vm.unprivileged_userfaultfd'),
        (1, False, None, True, '= 1'),
        (2, False, QEMU_7_2, True, '= 1'),
        (0, False, QEMU_8_1, False, 'missing or not open'),
        (0, True, QEMU_7_2, False, 'QEMU 7.2.22 predates 8.1'),
        (0, True, QEMU_8_1, True, 'QEMU 8.1.0 may open /dev/userfaultfd'),
        (0, True, None, False, 'version is unknown'),
    ]

    def test_table(self):
        for unpriv, dev, qemu, can, words in self.CASES:
            with self.subTest(unprivileged=unpriv, dev=dev, qemu=qemu):
                got, reason = libvirt_host.userfaultfd_capability(
                    unpriv, dev, qemu)
                self.assertIs(can, got)
                self.assertIn(words, reason)


class HostFactsTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.switch = os.path.join(self.tmp, 'unprivileged_userfaultfd')
        self.dev = os.path.join(self.tmp, 'userfaultfd')
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.UNPRIVILEGED_USERFAULTFD', self.switch))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.host.DEV_USERFAULTFD', self.dev))

    def write_switch(self, text):
        with open(self.switch, 'w') as f:
            f.write(text)

    def make_dev(self, mode):
        with open(self.dev, 'w'):
            pass
        os.chmod(self.dev, mode)

    def test_read_switch(self):
        self.assertIsNone(libvirt_host.read_unprivileged_userfaultfd(
            self.switch))
        self.write_switch('0\n')
        self.assertEqual(0, libvirt_host.read_unprivileged_userfaultfd(
            self.switch))
        self.write_switch('garbage')
        self.assertRaises(ValueError,
                          libvirt_host.read_unprivileged_userfaultfd,
                          self.switch)

    def test_may_read_write(self):
        rw_owner, rw_group, rw_all = 0o600, 0o660, 0o666
        # owner, group member, other user
        self.assertTrue(libvirt_host.may_read_write(rw_owner, 5, 7, 5, {9}))
        self.assertFalse(libvirt_host.may_read_write(rw_owner, 5, 7, 6, {7}))
        self.assertTrue(libvirt_host.may_read_write(rw_group, 5, 7, 6, {7}))
        self.assertFalse(libvirt_host.may_read_write(rw_group, 5, 7, 6, {8}))
        self.assertTrue(libvirt_host.may_read_write(rw_all, 5, 7, 6, set()))
        # Readable but not writable is not enough.
        self.assertFalse(libvirt_host.may_read_write(0o644, 5, 7, 6, set()))
        # The owner's bits decide for the owner, even if others have more.
        self.assertFalse(libvirt_host.may_read_write(0o066, 5, 7, 5, set()))

    def test_dev_usable_unknown_user_only_when_open_to_all(self):
        self.assertFalse(libvirt_host.dev_userfaultfd_usable(None))
        self.make_dev(0o600)
        self.assertFalse(libvirt_host.dev_userfaultfd_usable(None))
        self.make_dev(0o666)
        self.assertTrue(libvirt_host.dev_userfaultfd_usable(None))
        self.make_dev(0o604)
        self.assertFalse(libvirt_host.dev_userfaultfd_usable(None))

    def test_dev_usable_for_a_known_user(self):
        self.make_dev(0o600)
        owner = os.stat(self.dev).st_uid
        self.assertTrue(libvirt_host.dev_userfaultfd_usable(owner))
        self.assertFalse(libvirt_host.dev_userfaultfd_usable(owner + 4242))

    def test_session_daemon_uid(self):
        sock = os.path.join(self.tmp, 'libvirt-sock')
        with open(sock, 'w'):
            pass
        uid = libvirt_host.session_daemon_uid
        self.assertEqual(os.stat(sock).st_uid,
                         uid('qemu+unix:///session?socket=%s' % sock))
        self.assertEqual(os.geteuid(), uid('qemu:///session'))
        self.assertIsNone(uid('qemu+unix:///session?socket=/nonexistent'))
        self.assertIsNone(uid('qemu:///system'))
        self.assertIsNone(uid('qemu+tcp://far/session'))

    def real_host(self, uri='qemu:///system', version=QEMU_7_2):
        host = libvirt_host.Host(uri)
        host.get_version = mock.Mock(return_value=version)
        return host

    def test_host_switch_on(self):
        self.write_switch('1\n')
        host = self.real_host()
        self.assertEqual((True, 'vm.unprivileged_userfaultfd = 1'),
                         host.post_copy_capability())
        # QEMU is not asked: the switch settles it.
        host.get_version.assert_not_called()

    def test_host_switch_off_no_device(self):
        self.write_switch('0\n')
        can, reason = self.real_host().post_copy_capability()
        self.assertFalse(can)
        self.assertIn('vm.unprivileged_userfaultfd = 0', reason)

    def test_host_switch_off_device_open_to_all(self):
        self.write_switch('0\n')
        self.make_dev(0o666)
        self.assertFalse(self.real_host().post_copy_capability()[0])
        self.assertTrue(self.real_host(
            version=QEMU_8_1).post_copy_capability()[0])

    def test_host_session_device_owned_by_the_daemons_user(self):
        self.write_switch('0\n')
        self.make_dev(0o600)
        # System mode: QEMU's user is unknown, the device is not open to all.
        self.assertFalse(self.real_host(
            version=QEMU_8_1).post_copy_capability()[0])
        # Session daemon of this process's user, who owns the device.
        self.assertTrue(self.real_host(
            'qemu:///session', version=QEMU_8_1).post_copy_capability()[0])
        with mock.patch.object(os, 'geteuid',
                               return_value=os.stat(self.dev).st_uid + 4242):
            self.assertFalse(self.real_host(
                'qemu:///session',
                version=QEMU_8_1).post_copy_capability()[0])

    def test_host_old_kernel_without_switch(self):
        can, reason = self.real_host().post_copy_capability()
        self.assertTrue(can)
        self.assertIn('not restricted', reason)

    def test_host_unreadable_switch_is_unable(self):
        self.write_switch('')
        can, reason = self.real_host().post_copy_capability()
        self.assertFalse(can)
        self.assertIn('cannot read %s' % self.switch, reason)

    def test_emulated_host_answers_its_setting(self):
        self.addCleanup(emulator.reset)
        host = libvirt_host.Host('emulated://cn-uffd')
        self.assertTrue(host.post_copy_capability()[0])
        emulator.get_host('cn-uffd').configure(userfaultfd=False)
        can, reason = host.post_copy_capability()
        self.assertFalse(can)
        self.assertIn('cannot use userfaultfd', reason)

    def test_reads_are_fresh_at_every_call(self):
        # An operator's sysctl change counts without a restart.
        host = self.real_host()
        self.write_switch('0\n')
        self.assertFalse(host.post_copy_capability()[0])
        self.write_switch('1\n')
        self.assertTrue(host.post_copy_capability()[0])


class DriverPostCopyTestCase(base.LiveMigrationTestBase):
    """Two emulated hosts; post-copy permitted on the source."""

    def setUp(self):
        super().setUp()
        self.rebuild('a', live_migration_permit_post_copy=True,
                     live_migration_permit_auto_converge=True)
        self.warnings = self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.live_migration.LOG.warning')).mock

    def plain(self):
        return self.boot(self.make_instance(names=(), pmem=None))

    def fallback_warnings(self):
        return [c for c in self.warnings.call_args_list
                if 'live_migration_permit_post_copy' in str(c.args[-1])]

    def test_destination_reports_its_answer(self):
        instance = self.plain()
        data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        self.assertTrue(data.dst_can_post_copy)
        self.b.emu.configure(userfaultfd=False)
        data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        self.assertFalse(data.dst_can_post_copy)
        self.assertIn('cannot use userfaultfd', data.dst_post_copy_reason)

    def test_both_able_asks_for_post_copy(self):
        instance = self.plain()
        result = self.migrate(instance, objects.ResourceList(objects=[]))
        self.assertTrue(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertEqual([], self.fallback_warnings())

    def _check_fell_back(self, side_named):
        instance = self.plain()
        result = self.migrate(instance, objects.ResourceList(objects=[]))
        self.assertFalse(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertTrue(result.flags & LV.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(power_state.RUNNING, self.state('b', instance))
        warnings = self.fallback_warnings()
        self.assertEqual(1, len(warnings))
        text = warnings[0].args[-1]
        self.assertIn('%s: %s' % side_named, text)
        self.assertIn('vm.unprivileged_userfaultfd = 1', text)
        self.assertIn('pre-copy with auto-converge', text)

    def test_destination_unable_falls_back(self):
        self.b.emu.configure(userfaultfd=False)
        self._check_fell_back(('destination', 'compute-b'))

    def test_source_unable_falls_back(self):
        self.a.emu.configure(userfaultfd=False)
        self._check_fell_back(('source', 'compute-a'))

    def test_older_destination_is_treated_as_unable(self):
        instance = self.plain()
        resources = objects.ResourceList(objects=[])
        data = self.b.drv.check_can_live_migrate_destination(
            self.context, instance, False)
        data = self.b.drv.pre_live_migration(self.context, instance,
                                             resources, data)
        # As a 1.3 destination sends it.
        data.obj_reset_changes()
        for name in ('dst_can_post_copy', 'dst_post_copy_reason'):
            delattr(data, name)
        result = self.a.drv.live_migration(
            self.context, instance, 'compute-b', self.migration, data,
            resources)
        self.assertFalse(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertIn('older release', self.fallback_warnings()[0].args[-1])

    def test_vpmem_guest_is_not_a_host_problem(self):
        # vpmem never gets post-copy; no warning about the hosts for it.
        self.b.emu.configure(userfaultfd=False)
        instance = self.boot(self.make_instance())
        result = self.migrate(instance)
        self.assertFalse(result.flags & LV.VIR_MIGRATE_POSTCOPY)
        self.assertEqual([], self.fallback_warnings())

    def test_emulator_refuses_post_copy_without_userfaultfd(self):
        # What the fallback avoids: QEMU's refusal fails the migration.
        self.b.emu.configure(userfaultfd=False)
        instance = self.plain()
        guest = self.a.drv.host.get_guest(instance)
        params = {LV.VIR_MIGRATE_PARAM_DEST_XML:
                  guest.get_xml_desc(migratable=True)}
        flags = (LV.VIR_MIGRATE_LIVE | LV.VIR_MIGRATE_PEER2PEER |
                 LV.VIR_MIGRATE_POSTCOPY)
        err = self.assertRaises(LV.libvirtError, guest.domain.migrateToURI3,
                                'emulated://cn-b', params, flags)
        self.assertIn('Postcopy is not supported', str(err))
        self.assertEqual(power_state.RUNNING, self.state('a', instance))
