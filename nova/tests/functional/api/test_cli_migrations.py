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

"""The real ``openstack`` CLI on migrations, flavors and images.

The CLI negotiates the highest microversion both sides know (2.100 here),
so these commands exercise the newest views: the byte counts of a running
live migration, the migration list's filters and paging, flavors with
their description and extra specs, and the Image column of the server
list (asked of ``/images?id=in:...``).
"""

import datetime

from nova.compute import vm_states
from nova import objects
from nova.tests.functional.api import test_openstack_cli

BYTE_COLUMNS = ('Memory Total Bytes', 'Memory Processed Bytes',
                'Memory Remaining Bytes')


class CLIMigrationsTest(test_openstack_cli.CLITestBase):

    # The slow migration of the CLI's main test: borrowed, not inherited,
    # so its tests do not run twice.
    _wait_for_migration = (
        test_openstack_cli.OpenStackCLITest._wait_for_migration)
    _start_slow_live_migration = (
        test_openstack_cli.OpenStackCLITest._start_slow_live_migration)

    def test_show_a_running_migration_prints_its_bytes(self):
        server, source, dest, running = self._start_slow_live_migration(
            'vm1', 'SMALL')
        # By uuid: this openstacksdk swaps the server and the migration in
        # the URL of a show by id, so the CLI can only ask by uuid.
        shown = self.openstack_json('server', 'migration', 'show', 'vm1',
                                    running.uuid)
        self.assertEqual((running.id, 'running', server.uuid),
                         (shown['ID'], shown['Status'],
                          shown['Server UUID']))
        for column in BYTE_COLUMNS:
            self.assertIsInstance(shown[column], int, column)
        self.assertGreater(shown['Memory Total Bytes'], 0)
        self.assertGreater(shown['Memory Processed Bytes'], 0)
        self.assertEqual(('notused', 'notused'),
                         (shown['User ID'], shown['Project ID']))

        rows = self.openstack_json('server', 'migration', 'list',
                                   '--status', 'running')
        self.assertEqual([running.uuid], [r['UUID'] for r in rows])

        self.openstack('server', 'migration', 'abort', 'vm1',
                       str(running.id))
        self._wait_for_migration(server.uuid, 'cancelled')
        self.wait_for_state(server.uuid, vm_states.ACTIVE)

    def test_migration_list_filters_and_paging(self):
        self.create_flavor(name='f-list', pmem='SMALL', memory_mb=16)
        created = self.openstack_json(
            'server', 'create', '--flavor', 'f-list', '--image', 'cirros',
            '--nic', 'none', '--wait', 'vm2')
        uuid = created['id']
        source = objects.Instance.get_by_uuid(self.context, uuid).host
        dest = 'compute-b' if source == 'compute-a' else 'compute-a'
        before = datetime.datetime.utcnow() - datetime.timedelta(minutes=1)
        for host in (dest, source):
            self.openstack('server', 'migrate', '--live-migration', '--host',
                           host, '--wait', 'vm2')
            self.wait_for_state(uuid, vm_states.ACTIVE)

        def listed(*options):
            return [(r['Dest Compute'], r['Status'], r['Type'])
                    for r in self.openstack_json(
                        'server', 'migration', 'list', *options)]

        everything = listed()
        # Newest first: back to the source, then the first move.
        self.assertEqual([(source, 'completed', 'live-migration'),
                          (dest, 'completed', 'live-migration')],
                         everything)
        self.assertEqual(everything, listed('--server', 'vm2'))
        self.assertEqual(everything, listed('--host', source))
        self.assertEqual([], listed('--status', 'error'))
        self.assertEqual([], listed('--type', 'cold-migration'))
        self.assertEqual(everything[:1], listed('--limit', '1'))
        rows = self.openstack_json('server', 'migration', 'list')
        self.assertEqual(everything[1:], listed('--marker', rows[0]['UUID']))
        since = before.strftime('%Y-%m-%dT%H:%M:%S')
        self.assertEqual(everything, listed('--changes-since', since))
        self.assertEqual([], listed('--changes-before', since))
        self.openstack('server', 'delete', '--wait', 'vm2')

    def test_flavor_create_show_set_and_list(self):
        created = self.openstack_json(
            'flavor', 'create', '--ram', '16', '--vcpus', '1', '--disk',
            '0', '--public', '--description', 'small pmem',
            '--property', 'hw:pmem=SMALL', 'f-pub')
        self.assertTrue(created['os-flavor-access:is_public'])
        self.assertEqual('small pmem', created['description'])
        shown = self.openstack_json('flavor', 'show', 'f-pub')
        self.assertEqual(('small pmem', True, {'hw:pmem': 'SMALL'}),
                         (shown['description'],
                          shown['os-flavor-access:is_public'],
                          shown['properties']))
        self.openstack('flavor', 'set', '--description', 'renamed', 'f-pub')
        self.assertEqual('renamed', self.openstack_json(
            'flavor', 'show', 'f-pub')['description'])

        self.openstack_json('flavor', 'create', '--ram', '32', '--vcpus',
                            '1', '--disk', '0', '--private', 'f-priv')
        public = {f['Name'] for f in self.openstack_json('flavor', 'list')}
        self.assertIn('f-pub', public)
        self.assertNotIn('f-priv', public)
        private = {f['Name'] for f in self.openstack_json(
            'flavor', 'list', '--private')}
        self.assertEqual({'f-priv'}, private)
        everything = {f['Name'] for f in self.openstack_json(
            'flavor', 'list', '--all')}
        self.assertTrue({'f-pub', 'f-priv'} <= everything)
        page = self.openstack_json('flavor', 'list', '--all', '--limit',
                                   '1')
        self.assertEqual(1, len(page))

    def test_server_list_shows_the_image(self):
        self.create_flavor(name='f-img', pmem='SMALL', memory_mb=16)
        self.openstack_json('server', 'create', '--flavor', 'f-img',
                            '--image', 'cirros', '--nic', 'none', '--wait',
                            'vm3')
        rows = self.openstack_json('server', 'list')
        self.assertEqual([('vm3', 'cirros')],
                         [(r['Name'], r['Image']) for r in rows])
        shown = self.openstack_json('server', 'show', 'vm3')
        self.assertTrue(shown['image'].startswith('cirros ('), shown['image'])
