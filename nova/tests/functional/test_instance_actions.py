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

"""A server's actions and events, as its users and operators read them.

The real compute API (in-process WSGI, noauth2) in front of the
conductor, two emulated compute hosts and the real placement; the last
test drives it with the real ``openstack`` CLI over HTTP.
"""

import time


from nova.compute import vm_states
from nova import objects
from nova.tests.functional.api import test_openstack_cli as cli_base
from nova.tests.functional import base

OWNER, ADMIN, OTHER = 'alice:proj', 'admin:adminproj', 'eve:other'


class APIActionsTestBase(base.VPMEMTestBase):

    def setUp(self):
        super().setUp()
        self.api_app = self.useFixture(base.InProcessAPI(self))
        self.create_flavor(name='pmem-small', memory_mb=16)

    def request(self, method, path, token=ADMIN, version='2.100',
                body=None):
        return self.api_app.request(method, path, token, version, body)

    def ok(self, method, path, status=200, **kwargs):
        resp = self.request(method, path, **kwargs)
        self.assertEqual(status, resp.status_int, resp.text)
        return resp.json if resp.body else None

    def create_server(self, name, token=OWNER):
        body = {'server': {'name': name, 'flavorRef': 'pmem-small',
                           'imageRef': 'cirros', 'networks': 'none'}}
        server = self.ok('POST', '/servers', 202, token=token,
                         body=body)['server']
        return self.wait_for_state(server['id'], vm_states.ACTIVE)

    def action(self, server_id, body, status=202, **kwargs):
        return self.request('POST', '/servers/%s/action' % server_id,
                            body=body, **kwargs)

    def actions(self, server_id, query='', **kwargs):
        return self.ok('GET', '/servers/%s/os-instance-actions%s'
                       % (server_id, query), **kwargs)['instanceActions']

    def show(self, server_id, request_id, **kwargs):
        return self.ok('GET', '/servers/%s/os-instance-actions/%s'
                       % (server_id, request_id), **kwargs)['instanceAction']

    def other_host(self, host):
        return 'compute-b' if host == 'compute-a' else 'compute-a'

    def wait_for_host(self, uuid, host):
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            instance = objects.Instance.get_by_uuid(self.context, uuid)
            if (instance.host == host and instance.task_state is None and
                    instance.vm_state == vm_states.ACTIVE):
                return instance
            self.assertLess(time.monotonic(), deadline,
                            'instance %s not active on %s' % (uuid, host))
            time.sleep(0.05)


class TestServerHistory(APIActionsTestBase):

    def test_create_migrations_and_delete(self):
        server = self.create_server('vm1')
        uuid, source = server.uuid, server.host
        dest = self.other_host(source)
        live = {'os-migrateLive': {'host': dest, 'block_migration': 'auto'}}
        resp = self.action(uuid, live)
        self.assertEqual(202, resp.status_int, resp.text)
        moved_request = resp.headers['x-openstack-request-id']
        self.wait_for_host(uuid, dest)

        # Refused by the conductor: to the host it is on (synchronously:
        # before 2.34 the API waits for the conductor's checks).
        same = {'os-migrateLive': {'host': dest, 'block_migration': 'auto'}}
        resp = self.action(uuid, same, version='2.33')
        self.assertEqual(400, resp.status_int)
        refused_request = resp.headers['x-openstack-request-id']

        listed = self.actions(uuid, token=OWNER)
        self.assertEqual(
            [('live-migration', refused_request, 'Error'),
             ('live-migration', moved_request, None),
             ('create', listed[2]['request_id'], None)],
            [(a['action'], a['request_id'], a['message']) for a in listed])
        self.assertEqual(('alice', 'proj'), (listed[2]['user_id'],
                                             listed[2]['project_id']))
        self.assertEqual('admin', listed[0]['user_id'])

        # The owner learns that it failed and where (hashed), not why.
        refused = self.show(uuid, refused_request, token=OWNER)
        [event] = refused['events']
        self.assertEqual(('conductor_live_migrate_instance', 'Error'),
                         (event['event'], event['result']))
        self.assertEqual({'event', 'start_time', 'finish_time', 'result',
                          'hostId'}, set(event))
        # The operator reads the reason, the host and the traceback.
        [event] = self.show(uuid, refused_request)['events']
        self.assertIn('same host', event['details'])
        self.assertIn(dest, event['details'])
        self.assertEqual('conductor', event['host'])
        self.assertIn('MigrationPreCheckError', event['traceback'])

        moved = self.show(uuid, moved_request)
        conductor = [e for e in moved['events']
                     if e['event'] == 'conductor_live_migrate_instance']
        self.assertEqual(['Success'], [e['result'] for e in conductor])
        create = self.show(uuid, listed[2]['request_id'])
        self.assertIn('conductor_schedule_and_build_instances',
                      [e['event'] for e in create['events']])

        # Another project's user: no such server.
        self.assertEqual(404, self.request(
            'GET', '/servers/%s/os-instance-actions' % uuid,
            token=OTHER).status_int)

        # Deleted, its history stays readable from 2.21.
        resp = self.request('DELETE', '/servers/%s' % uuid, token=OWNER)
        self.assertEqual(204, resp.status_int, resp.text)
        deleted_request = resp.headers['x-openstack-request-id']
        self.wait_for_deleted(uuid)
        self.assertEqual(404, self.request(
            'GET', '/servers/%s/os-instance-actions' % uuid, token=OWNER,
            version='2.20').status_int)
        listed = self.actions(uuid, token=OWNER, version='2.21')
        self.assertEqual([('delete', deleted_request), ],
                         [(a['action'], a['request_id'])
                          for a in listed[:1]])
        self.assertEqual(4, len(listed))
        self.assertEqual('delete', self.show(
            uuid, deleted_request, token=OWNER, version='2.21')['action'])

        # Paging, as the CLI's --limit/--marker send it.
        page = self.ok('GET', '/servers/%s/os-instance-actions?limit=3'
                       % uuid, token=OWNER, version='2.58')
        self.assertEqual(3, len(page['instanceActions']))
        self.assertIn('marker=' + listed[2]['request_id'],
                      page['links'][0]['href'])
        rest = self.actions(uuid, '?marker=' + listed[2]['request_id'],
                            token=OWNER, version='2.58')
        self.assertEqual(['create'], [a['action'] for a in rest])

    def test_cold_migration_refused_then_confirmed(self):
        server = self.create_server('vm2')
        uuid, source = server.uuid, server.host
        dest = self.other_host(source)

        resp = self.action(uuid, {'migrate': {'host': source}},
                           version='2.56')
        self.assertEqual(400, resp.status_int)
        refused_request = resp.headers['x-openstack-request-id']
        [event] = self.show(uuid, refused_request)['events']
        self.assertEqual(('conductor_migrate_server', 'Error'),
                         (event['event'], event['result']))
        self.assertIn('same host', event['details'])

        resp = self.action(uuid, {'migrate': {'host': dest}},
                           version='2.56')
        self.assertEqual(202, resp.status_int, resp.text)
        migrate_request = resp.headers['x-openstack-request-id']
        self.wait_for_state(uuid, vm_states.RESIZED)
        resp = self.action(uuid, {'confirmResize': None}, token=OWNER)
        self.assertEqual(204, resp.status_int, resp.text)
        confirm_request = resp.headers['x-openstack-request-id']
        self.wait_for_host(uuid, dest)

        listed = self.actions(uuid, token=OWNER)
        self.assertEqual(
            [('confirmResize', confirm_request, None),
             ('migrate', migrate_request, None),
             ('migrate', refused_request, 'Error')],
            [(a['action'], a['request_id'], a['message'])
             for a in listed[:3]])
        [conductor] = [e for e in self.show(uuid, migrate_request)['events']
                       if e['event'] == 'conductor_migrate_server']
        self.assertEqual('Success', conductor['result'])


class TestServerEventCLI(cli_base.CLITestBase):
    """``openstack server event list/show`` after a refused migration."""

    def test_event_list_shows_the_failed_migration_with_its_message(self):
        self.create_flavor(name='f1', memory_mb=16)
        created = self.openstack_json(
            'server', 'create', '--flavor', 'f1', '--image', 'cirros',
            '--nic', 'none', '--wait', 'vm1')
        source = objects.Instance.get_by_uuid(self.context,
                                              created['id']).host
        stderr = self.openstack('server', 'migrate', '--live-migration',
                                '--host', source, 'vm1', expect_fail=True)
        self.assertIn('same host', stderr)

        events = self.openstack_json('server', 'event', 'list', '--long',
                                     'vm1')
        self.assertEqual([('live-migration', 'Error'), ('create', None)],
                         [(e['Action'], e['Message']) for e in events])
        self.assertEqual({created['id']}, {e['Server ID'] for e in events})

        shown = self.openstack_json('server', 'event', 'show', 'vm1',
                                    events[0]['Request ID'])
        self.assertEqual('live-migration', shown['action'])
        self.assertEqual('Error', shown['message'])
        [event] = shown['events']
        self.assertEqual(('conductor_live_migrate_instance', 'Error'),
                         (event['event'], event['result']))
        self.assertIn('same host (%s)' % source, event['details'])
        self.assertEqual('conductor', event['host'])

        # The plain table a user reads carries the same.
        table = self.openstack('server', 'event', 'list', '--long', 'vm1')
        self.assertIn('live-migration', table)
        self.assertIn('Error', table)
