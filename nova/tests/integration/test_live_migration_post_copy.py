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

"""Post-copy permitted, a guest without vpmem, on real libvirt + QEMU.

The hosts are session-mode libvirtd daemons, so QEMU runs as this user.
Where the kernel keeps userfaultfd to privileged processes
(vm.unprivileged_userfaultfd = 0) QEMU refuses post-copy ("Postcopy is not
supported") and a migration asking for it fails; it must then run
pre-copy with a warning. Where QEMU can, post-copy is asked for. Either
way the migration completes.
"""

import re

import fixtures
try:
    import libvirt
except ImportError:
    # IntegrationTestBase.setUp fails each test with what to install.
    libvirt = None

from nova.compute import vm_states
from nova.tests.integration import base

FALLBACK = 'live_migration_permit_post_copy is True but post-copy'


class PostCopyWithoutVPMEMTest(base.IntegrationTestBase):

    LIBVIRT_FLAGS = {'live_migration_permit_post_copy': True}

    def test_plain_guest_migrates_whatever_the_host_allows(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova.virt.libvirt.live_migration', level=20))
        plain = self.create_flavor(name='plain', pmem=None,
                                   memory_mb=self.FLAVOR_MEMORY_MB)
        self._set_disabled('host-b', True)
        try:
            server = self.rest('POST', '/servers', {'server': {
                'name': 'plain', 'flavorRef': plain.flavorid,
                'imageRef': base.IMAGE_NAME, 'networks': 'none'}},
                expect=202)['server']
            instance = self.wait_for_state(server['id'], vm_states.ACTIVE)
        finally:
            self._set_disabled('host-b', False)
        self.assertEqual('host-a', instance.host)
        # Both hosts share this machine's kernel: one answer for both.
        can, reason = self.manager('host-a').driver.host \
            .post_copy_capability()

        self.live_migrate(instance.uuid, host='host-b', force=True)
        migration = self.wait_for_migration(
            instance.uuid, ('completed', 'failed', 'error'))
        self.assertEqual('completed', migration['status'], logs.output)
        moved = self.wait_for_state(instance.uuid, vm_states.ACTIVE)
        self.assertEqual('host-b', moved.host)
        self.assertEqual(['host-b'], self.domain_hosts(instance.uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state('host-b', instance.uuid))

        started = re.findall(r'starts: flags (0x[0-9a-f]+)', logs.output)
        self.assertEqual(1, len(started), logs.output)
        flags = int(started[0], 16)
        self.assertEqual(can, bool(flags & libvirt.VIR_MIGRATE_POSTCOPY),
                         reason)
        warnings = [line for line in logs.output.splitlines()
                    if FALLBACK in line]
        if can:
            self.assertEqual([], warnings)
        else:
            self.assertEqual(1, len(warnings), logs.output)
            self.assertIn(reason, warnings[0])
            self.assertIn('vm.unprivileged_userfaultfd = 1', warnings[0])
