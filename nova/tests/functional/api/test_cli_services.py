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

"""An operator drains a host with the real ``openstack`` CLI.

``compute service set/list/delete`` and ``hypervisor list/show/stats``
against the in-process API, three emulated compute hosts and the real
placement (CLITestBase).
"""

from nova.compute import vm_states
from nova import objects
from nova.tests.functional.api import test_openstack_cli


class ServicesCLITest(test_openstack_cli.CLITestBase):

    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1'],
        'compute-b': ['SMALL:ns0|ns1'],
        'compute-c': ['SMALL:ns0|ns1'],
    }

    def setUp(self):
        super().setUp()
        self.flags(my_ip='192.0.2.55')
        for host in self.computes:
            self.run_periodic(host)

    def computes_listed(self):
        return {s['Host']: s for s in self.openstack_json(
            'compute', 'service', 'list', '--long', '--service',
            'nova-compute')}

    def boot(self, name):
        self.create_flavor(name='f-' + name, memory_mb=16)
        created = self.openstack_json(
            'server', 'create', '--flavor', 'f-' + name, '--image',
            'cirros', '--nic', 'none', '--wait', name)
        return objects.Instance.get_by_uuid(self.context, created['id'])

    def live_migrate(self, name, uuid):
        self.openstack('server', 'migrate', '--live-migration', '--wait',
                       name)
        return self.wait_for_state(uuid, vm_states.ACTIVE).host

    def test_disable_enable_down_up_and_scheduling(self):
        server = self.boot('vm1')
        others = sorted(h for h in self.computes if h != server.host)

        self.openstack('compute', 'service', 'set', '--disable',
                       '--disable-reason', 'DIMM swap', others[0],
                       'nova-compute')
        listed = self.computes_listed()[others[0]]
        self.assertEqual('disabled', listed['Status'])
        self.assertEqual('DIMM swap', listed['Disabled Reason'])
        self.assertTrue(objects.Service.get_by_compute_host(
            self.context, others[0]).disabled)

        # The scheduler does not choose the disabled host, though it sorts
        # first (same free room, name order).
        self.assertEqual(others[1], self.live_migrate('vm1', server.uuid))

        self.openstack('compute', 'service', 'set', '--enable', others[0],
                       'nova-compute')
        listed = self.computes_listed()[others[0]]
        self.assertEqual(('enabled', None),
                         (listed['Status'], listed['Disabled Reason']))

        self.openstack('compute', 'service', 'set', '--down', others[0],
                       'nova-compute')
        listed = self.computes_listed()[others[0]]
        self.assertEqual(('down', True),
                         (listed['State'], listed['Forced Down']))
        self.openstack('compute', 'service', 'set', '--up', others[0],
                       'nova-compute')
        self.assertEqual('up', self.computes_listed()[others[0]]['State'])

        # Refusals reach the operator.
        stderr = self.openstack('compute', 'service', 'set',
                                '--disable-reason', 'why', others[0],
                                'nova-compute', expect_fail=True)
        self.assertIn('--disable', stderr)

    def test_per_action_calls_before_2_53(self):
        # The CLI then uses PUT /os-services/{disable-log-reason,enable,
        # force-down} with host and binary.
        old = ('--os-compute-api-version', '2.52')
        self.openstack(*old, 'compute', 'service', 'set', '--disable',
                       '--disable-reason', 'firmware', 'compute-b',
                       'nova-compute')
        service = objects.Service.get_by_compute_host(self.context,
                                                      'compute-b')
        self.assertEqual((True, 'firmware'),
                         (service.disabled, service.disabled_reason))
        self.openstack(*old, 'compute', 'service', 'set', '--enable',
                       '--down', 'compute-b', 'nova-compute')
        listed = {s['Host']: s for s in self.openstack_json(
            *old, 'compute', 'service', 'list', '--long')}['compute-b']
        self.assertEqual(('enabled', 'down', True),
                         (listed['Status'], listed['State'],
                          listed['Forced Down']))
        self.assertIsInstance(listed['ID'], int)
        self.openstack(*old, 'compute', 'service', 'set', '--up',
                       'compute-b', 'nova-compute')
        self.assertEqual('up', self.computes_listed()['compute-b']['State'])

    def test_hypervisors(self):
        listed = self.openstack_json('hypervisor', 'list')
        self.assertEqual(sorted(self.computes),
                         sorted(h['Hypervisor Hostname'] for h in listed))
        self.assertEqual({'192.0.2.55'}, {h['Host IP'] for h in listed})

        shown = self.openstack_json('hypervisor', 'show', 'compute-a')
        self.assertEqual('compute-a', shown['hypervisor_hostname'])
        self.assertEqual('192.0.2.55', shown['host_ip'])
        self.assertEqual('up', shown['state'])
        self.assertEqual('compute-a', shown['service_host'])
        # The uptime came from compute-a over RPC, parsed by the CLI.
        self.assertIn('load_average', shown)

        stats = self.openstack_json('hypervisor', 'stats', 'show')
        self.assertEqual(3, stats['count'])
        node = self.node('compute-a')
        self.assertEqual(3 * node.memory_mb, stats['memory_mb'])

    def test_delete_a_drained_host(self):
        server = self.boot('vm2')
        host = server.host
        service = objects.Service.get_by_compute_host(self.context, host)
        node = self.node(host)

        stderr = self.openstack('compute', 'service', 'delete',
                                service.uuid, expect_fail=True)
        self.assertIn('hosts instances', stderr)

        self.openstack('server', 'delete', '--wait', 'vm2')
        self.wait_for_deleted(server.uuid)
        self.stop_compute(host)
        self.openstack('compute', 'service', 'delete', service.uuid)

        self.assertNotIn(host, self.computes_listed())
        self.assertNotIn(host, [h['Hypervisor Hostname'] for h in
                                self.openstack_json('hypervisor', 'list')])
        self.assertIsNone(self.reportclient.get_provider(self.context,
                                                         node.uuid))
