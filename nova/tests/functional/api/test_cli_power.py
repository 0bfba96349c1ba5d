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

"""``openstack server stop|start|pause|unpause|reboot`` with the real CLI.

Each command's result is waited for through ``openstack server show``
(only ``reboot`` has a ``--wait`` of its own); the database, the
hypervisor and the namespaces are then asked too.
"""

import hashlib
import time

from nova.compute import power_state
from nova.compute import vm_states
from nova import objects
from nova.tests.functional.api import test_openstack_cli as cli_base
from nova.tests.functional import base


def _digests(instance):
    result = {}
    for resource in instance.resources:
        with open(resource.metadata.devpath, 'rb') as f:
            result[resource.identifier] = hashlib.sha256(f.read()).digest()
    return result


class PowerCLITest(cli_base.CLITestBase):

    def wait_for_status(self, name, status, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            shown = self.openstack_json('server', 'show', name)
            if shown['status'] == status and not shown.get(
                    'OS-EXT-STS:task_state'):
                return shown
            self.assertLess(time.monotonic(), deadline,
                            'server %s is %s, not %s' % (
                                name, shown['status'], status))
            time.sleep(0.2)

    def domain_state(self, instance):
        conn = base.emulator.open('emulated://%s' % instance.host)
        return conn.lookupByUUIDString(instance.uuid).state()[0]

    def test_power_commands(self):
        self.openstack('flavor', 'create', '--ram', '16', '--vcpus', '1',
                       '--disk', '0', '--property', 'hw:pmem=SMALL', 'f1')
        server = self.openstack_json(
            'server', 'create', '--flavor', 'f1', '--image', 'cirros',
            '--nic', 'none', '--wait', 'vm1')
        instance = objects.Instance.get_by_uuid(
            self.context, server['id'], expected_attrs=['resources'])
        for resource in instance.resources:
            with open(resource.metadata.devpath, 'r+b') as f:
                f.write(b'tenant data via the CLI' * 1000)
        digests = _digests(instance)
        emulator = base.emulator

        self.openstack('server', 'stop', 'vm1')
        shown = self.wait_for_status('vm1', 'SHUTOFF')
        self.assertEqual(power_state.SHUTDOWN,
                         int(shown['OS-EXT-STS:power_state']))
        self.assertEqual(emulator.VIR_DOMAIN_SHUTOFF,
                         self.domain_state(instance))
        # Refused with the reason: it is stopped already.
        stderr = self.openstack('server', 'pause', 'vm1', expect_fail=True)
        self.assertIn('409', stderr)
        self.assertIn('vm_state stopped', stderr)

        self.openstack('server', 'start', 'vm1')
        self.wait_for_status('vm1', 'ACTIVE')
        self.assertEqual(emulator.VIR_DOMAIN_RUNNING,
                         self.domain_state(instance))

        self.openstack('server', 'pause', 'vm1')
        self.wait_for_status('vm1', 'PAUSED')
        self.assertEqual(emulator.VIR_DOMAIN_PAUSED,
                         self.domain_state(instance))
        self.openstack('server', 'unpause', 'vm1')
        self.wait_for_status('vm1', 'ACTIVE')
        self.assertEqual(emulator.VIR_DOMAIN_RUNNING,
                         self.domain_state(instance))

        self.openstack('server', 'reboot', '--soft', '--wait', 'vm1')
        self.wait_for_status('vm1', 'ACTIVE')
        self.openstack('server', 'reboot', '--hard', '--wait', 'vm1')
        self.wait_for_status('vm1', 'ACTIVE')
        current = self.wait_for_state(instance.uuid, vm_states.ACTIVE)
        self.assertEqual(power_state.RUNNING, current.power_state)
        self.assertEqual(emulator.VIR_DOMAIN_RUNNING,
                         self.domain_state(instance))

        # Every step kept the server's namespaces and their bytes.
        self.assertEqual(digests, _digests(current))
        self.assert_host_consistent(current.host)
        events = self.openstack_json('server', 'event', 'list', 'vm1')
        self.assertEqual(['reboot', 'reboot', 'unpause', 'pause', 'start',
                          'stop', 'create'],
                         [e['Action'] for e in events])
