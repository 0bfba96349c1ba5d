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

"""The request sequences of tempest's compute tests, against our API.

nova/tests/functional/api/test_tempest_schemas.py checks every call at
every microversion through tempest's clients. This module instead plays
what tempest 47's own test classes do, in their order and at their
microversions (servers, server list filters and their negative tests,
admin servers, admin hypervisors and services with their negative tests,
migrations, live migration and its negative test, instance actions,
versions; plus the abort the plugin makes), and asserts what they assert,
so a run of those tests against a deployment fails here first. What they
need and we do not serve is left out, named in the class docstrings.
Every answer is still validated by tempest's clients against its response
schema for the microversion asked for, and each response must echo the
microversion in both headers.
"""

import contextlib
import json
import time

import fixtures
from tempest.lib.common import rest_client
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import base_compute_client

from nova.api import microversion
from nova.tests.functional.api import tempest_harness as harness
from nova.tests.functional import base

ADMIN, USER = harness.ADMIN_TOKEN, harness.USER_TOKEN
# tempest's [compute]image_ref and image_ref_alt: opaque ids here.
IMAGE = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
IMAGE_ALT = '7d3e9a51-0c8b-4f2e-a6b4-2f1d5c9e8a70'


class TempestFlowTestBase(harness.TempestSchemaTestBase):

    def setUp(self):
        super().setUp()
        # The second image tempest is configured with (image_ref_alt).
        images = self.useFixture(fixtures.TempDir()).join('images.json')
        with open(images, 'w') as f:
            json.dump([{'id': IMAGE_ALT, 'name': 'cirros-alt'}], f)
        self.flags(images_file=images, group='api')
        self.flavor_alt = self.create_flavor(
            name='pmem-alt', memory_mb=self.FLAVOR_MEMORY_MB * 2)

    @contextlib.contextmanager
    def at(self, version):
        """tempest's microversion fixture: every call at ``version``."""
        base_compute_client.COMPUTE_MICROVERSION = version
        try:
            yield
        finally:
            base_compute_client.COMPUTE_MICROVERSION = None

    def client(self, kind, token=USER):
        return getattr(self.clients[token], kind)

    def create_server(self, name, image=IMAGE, flavor=None, token=USER):
        """create_test_server(wait_until='ACTIVE') as tempest sends it."""
        extra = {}
        version = base_compute_client.COMPUTE_MICROVERSION
        if version and (version == 'latest' or
                        harness.version_tuple(version) >= (2, 37)):
            extra['networks'] = 'none'  # tempest's choice without Neutron
        body = self.client('servers', token).create_server(
            name=name, imageRef=image,
            flavorRef=(flavor or self.flavor).flavorid, **extra)
        # tempest reads both request ids of the create.
        self.assertIn('x-openstack-request-id', body.response)
        self.assertIn('x-compute-request-id', body.response)
        server = self.wait_status(body['server']['id'], 'ACTIVE')
        return rest_client.ResponseBody(body.response, server)

    def wait_status(self, server_id, status, token=USER):
        """tempest's waiter: polls GET /servers/{id} until ``status``."""
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            server = self.client('servers', token).show_server(
                server_id)['server']
            if server['status'] == status and not server.get(
                    'OS-EXT-STS:task_state'):
                return server
            self.assertNotEqual('ERROR', server['status'], server)
            self.assertLess(time.monotonic(), deadline,
                            '%s not %s: %s' % (server_id, status, server))
            time.sleep(0.05)

    def wait_gone(self, server_id, token=USER):
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            try:
                self.client('servers', token).show_server(server_id)
            except lib_exc.NotFound:
                return
            self.assertLess(time.monotonic(), deadline, server_id)
            time.sleep(0.05)

    def host_of_server(self, server_id):
        return self.client('servers', ADMIN).show_server(
            server_id)['server']['OS-EXT-SRV-ATTR:host']


def _ids(servers):
    return [server['id'] for server in servers]


def _names(servers):
    return [server['name'] for server in servers]


class ServerListFiltersTest(TempestFlowTestBase):
    """servers.test_list_server_filters.ListServerFiltersTestJSON."""

    def setUp(self):
        super().setUp()
        self.s1 = self.create_server('ListServerFilters-instance-1234')
        self.s2 = self.create_server('ListServerFilters-instance-5678',
                                     image=IMAGE_ALT)
        self.s3 = self.create_server('ListServerFilters-instance-9012',
                                     flavor=self.flavor_alt)

    def listed(self, detail=False, **params):
        return self.client('servers').list_servers(detail=detail,
                                                   **params)['servers']

    def test_filters(self):
        s1, s2, s3 = self.s1['id'], self.s2['id'], self.s3['id']
        for detail in (False, True):
            by_image = _ids(self.listed(detail, image=IMAGE))
            self.assertIn(s1, by_image)
            self.assertNotIn(s2, by_image)
            self.assertIn(s3, by_image)
            by_flavor = _ids(self.listed(detail,
                                         flavor=self.flavor_alt.flavorid))
            self.assertEqual([s3], by_flavor)
            by_name = _names(self.listed(detail, name=self.s1['name']))
            self.assertEqual([self.s1['name']], by_name)
            active = self.listed(detail, status='active')
            self.assertEqual({s1, s2, s3}, set(_ids(active)))
            if detail:
                self.assertEqual(['ACTIVE'] * 3,
                                 [server['status'] for server in active])
            self.assertEqual(1, len(self.listed(detail, limit=1)))
        self.assertEqual([], self.listed(limit=0))
        self.assertEqual(len(self.listed()), len(self.listed(limit=100000)))

    def test_name_wildcard_and_regex(self):
        every = {self.s1['name'], self.s2['name'], self.s3['name']}
        for pattern in ('-instance', r'^.*\-instance\-[0-9]+$',
                        r'^.*\-instance\-.*$'):
            self.assertEqual(every,
                             set(_names(self.listed(name=pattern))), pattern)
        for part in (self.s1['name'][6:-1], self.s1['name'][-10:]):
            self.assertEqual([self.s1['name']],
                             _names(self.listed(name=part)), part)

    def test_shutoff(self):
        servers = self.client('servers')
        servers.stop_server(self.s1['id'])
        self.wait_status(self.s1['id'], 'SHUTOFF')
        self.assertEqual([self.s1['id']],
                         _ids(self.listed(status='shutoff')))
        servers.start_server(self.s1['id'])
        self.wait_status(self.s1['id'], 'ACTIVE')


class ListServersNegativeTest(TempestFlowTestBase):
    """servers.test_list_servers_negative.ListServersNegativeTestJSON."""

    def test_list_servers_negative(self):
        servers = self.client('servers')
        # Three servers in one request, then one of them deleted.
        servers.create_server(name='negative', imageRef=IMAGE,
                              flavorRef=self.flavor.flavorid, min_count=3)
        created = [s['id'] for s in servers.list_servers()['servers']
                   if s['name'].startswith('negative')]
        self.assertEqual(3, len(created))
        # Nova's names for the servers of one request.
        self.assertEqual(['negative-1', 'negative-2', 'negative-3'], sorted(
            s['name'] for s in servers.list_servers()['servers']))
        for counts in ({'min_count': 0}, {'min_count': 2, 'max_count': 1}):
            self.assertRaises(lib_exc.BadRequest, servers.create_server,
                              name='refused', imageRef=IMAGE,
                              flavorRef=self.flavor.flavorid, **counts)
        for server_id in created:
            self.wait_status(server_id, 'ACTIVE')
        servers.delete_server(created[0])
        self.wait_gone(created[0])
        for detail in (False, True):
            self.assertNotIn(created[0], _ids(servers.list_servers(
                detail=detail)['servers']))
        for params in ({'image': 'non_existing_image'},
                       {'flavor': 'non_existing_flavor'},
                       {'name': 'non_existing_server_name'},
                       {'status': 'non_existing_status'},
                       {'changes-since': '2051-01-01T12:34:00Z',
                        'status': 'ACTIVE'}):
            self.assertEqual([], servers.list_servers(**params)['servers'],
                             params)
        self.assertEqual(2, len(servers.list_servers(limit=102)['servers']))
        for params in ({'limit': 'testing'}, {'limit': -1},
                       {'changes-since': '2011/01/01'}):
            self.assertRaises(lib_exc.BadRequest, servers.list_servers,
                              **params)
        with self.at('2.38'):
            self.assertRaises(lib_exc.BadRequest, servers.list_servers,
                              status='non_existing_status')


class ServersAdminTest(TempestFlowTestBase):
    """admin.test_servers.ServersAdminTestJSON, less os-resetState (not
    served)."""

    def test_admin_lists(self):
        ours = {self.create_server('admin-list-1')['name'],
                self.create_server('admin-list-2')['name']}
        admin = self.client('servers', ADMIN)

        def names(**params):
            return set(_names(admin.list_servers(detail=True,
                                                 **params)['servers']))

        self.assertEqual(set(), ours & names())
        self.assertEqual(ours, ours & names(all_tenants=''))
        # tenant_id only counts with all_tenants, as in Nova.
        self.assertEqual(set(), ours & names(tenant_id='project'))
        self.assertEqual(ours, ours & names(all_tenants='',
                                            tenant_id='project'))
        self.assertEqual(set(), ours & names(all_tenants='',
                                             tenant_id='admin'))
        self.assertEqual([], self.client('servers').list_servers(
            detail=True, status='invalid_status')['servers'])
        with self.at('2.38'):
            self.assertRaises(lib_exc.BadRequest,
                              self.client('servers').list_servers,
                              detail=True, status='invalid_status')
        server = admin.list_servers(detail=True,
                                    all_tenants='')['servers'][0]
        host = server['OS-EXT-SRV-ATTR:host']
        self.assertIn(server['id'], _ids(admin.list_servers(
            host=host, all_tenants='1')['servers']))
        self.assertEqual([], admin.list_servers(
            host='nonexistent_host', all_tenants='1')['servers'])


class ServersTest(TempestFlowTestBase):
    """servers.test_servers: ServersTestJSON, ServerShowV247Test and
    ServersListShow296Test, less what needs keypairs, rebuild or access
    IPs (not served)."""

    def test_same_name_twice(self):
        first = self.create_server('twin')
        second = self.create_server('twin')
        self.assertNotEqual(first['id'], second['id'])

    def test_multibyte_name(self):
        self.create_server('\u20a1-server')

    def test_update_name_active_and_shutoff(self):
        servers = self.client('servers')
        server_id = self.create_server('server')['id']
        for status in ('ACTIVE', 'SHUTOFF'):
            name = '\u00cd\u00f1st\u00e1\u00f1c\u00e9-' + status
            servers.update_server(server_id, name=name)
            shown = self.wait_status(server_id, status)
            self.assertEqual(name, shown['name'])
            if status == 'ACTIVE':
                servers.stop_server(server_id)
                self.wait_status(server_id, 'SHUTOFF')
        # Nova shows no progress of a stopped server.
        self.assertNotIn('progress', shown)

    def test_show_update_list_per_microversion(self):
        for version in ('2.47', '2.96', 'latest'):
            with self.at(version):
                server = self.create_server('server-%s' % version)
                servers = self.client('servers')
                servers.show_server(server['id'])
                servers.update_server(server['id'])  # {"server": {}}
                self.wait_status(server['id'], 'ACTIVE')
                servers.list_servers(detail=True)
                servers.delete_server(server['id'])
                self.wait_gone(server['id'])

    def test_microversion_headers_echoed(self):
        servers = self.client('servers')
        for version in (None, '2.1', '2.47', '2.96', 'latest'):
            with self.at(version):
                resp = servers.list_servers().response
            expected = microversion.to_string(
                microversion.MAX_VERSION if version == 'latest'
                else harness.version_tuple(version))
            self.assertEqual(expected,
                             resp['x-openstack-nova-api-version'], version)
            self.assertEqual('compute ' + expected,
                             resp['openstack-api-version'], version)


class HypervisorsTest(TempestFlowTestBase):
    """admin.test_hypervisor, every class at its microversions."""

    def setUp(self):
        super().setUp()
        self.create_server('on-a-host')
        self.hypervisors = self.client('hypervisors', ADMIN)

    def test_hypervisor_admin(self):
        listed = self.hypervisors.list_hypervisors()['hypervisors']
        self.assertNotEqual([], listed)
        self.assertNotEqual([], self.hypervisors.list_hypervisors(
            detail=True)['hypervisors'])
        shown = self.hypervisors.show_hypervisor(
            listed[0]['id'])['hypervisor']
        self.assertEqual(listed[0]['hypervisor_hostname'],
                         shown['hypervisor_hostname'])
        self.assertNotEqual({}, self.hypervisors.show_hypervisor_statistics()[
            'hypervisor_statistics'])
        for hyper in listed:
            details = self.hypervisors.show_hypervisor(
                hyper['id'])['hypervisor']
            self.assertEqual('up', details['state'])
            self.assertTrue(self.hypervisors.show_hypervisor_uptime(
                hyper['id'])['hypervisor'])

    def test_hypervisor_admin_v228(self):
        with self.at('2.28'):
            listed = self.hypervisors.list_hypervisors()['hypervisors']
            self.hypervisors.show_hypervisor(listed[0]['id'])

    def test_hypervisor_admin_under_v252(self):
        with self.at('2.52'):
            listed = self.hypervisors.list_hypervisors()['hypervisors']
            hostname = listed[0]['hypervisor_hostname']
            on_host = self.hypervisors.list_servers_on_hypervisor(hostname)
            self.assertNotEqual([], on_host['hypervisors'])
            self.assertNotEqual([], self.hypervisors.search_hypervisor(
                hostname)['hypervisors'])

    def test_hypervisor_admin_v253(self):
        with self.at('2.53'):
            self.hypervisors.list_hypervisors(detail=True, with_servers=True)
            listed = self.hypervisors.list_hypervisors(
                with_servers=True)['hypervisors']
            self.hypervisors.show_hypervisor(listed[0]['id'],
                                             with_servers=True)


class HypervisorsNegativeTest(TempestFlowTestBase):
    """admin.test_hypervisor_negative, both classes."""

    NOWHERE = '3f0c6a2e-9b1d-4e57-8a64-1c2b7d9e0f35'

    def test_hypervisor_negative(self):
        admin = self.client('hypervisors', ADMIN)
        user = self.client('hypervisors')
        hyper = admin.list_hypervisors()['hypervisors'][0]
        for version in (None, '2.52', '2.53', 'latest'):
            with self.at(version):
                self.assertRaises(lib_exc.NotFound, admin.show_hypervisor,
                                  self.NOWHERE)
                self.assertRaises(lib_exc.Forbidden, user.list_hypervisors)
                self.assertRaises(lib_exc.Forbidden, user.list_hypervisors,
                                  detail=True)
                self.assertRaises(lib_exc.Forbidden, user.show_hypervisor,
                                  hyper['id'])
        self.assertRaises(lib_exc.Forbidden,
                          user.show_hypervisor_statistics)
        self.assertRaises(lib_exc.NotFound, admin.show_hypervisor_uptime,
                          self.NOWHERE)
        self.assertRaises(lib_exc.Forbidden, user.show_hypervisor_uptime,
                          hyper['id'])
        with self.at('2.52'):
            self.assertRaises(lib_exc.Forbidden,
                              user.list_servers_on_hypervisor, hyper['id'])
            self.assertRaises(lib_exc.NotFound,
                              admin.list_servers_on_hypervisor, self.NOWHERE)
            self.assertRaises(lib_exc.Forbidden, user.search_hypervisor,
                              hyper['hypervisor_hostname'])
            self.assertRaises(lib_exc.NotFound, admin.search_hypervisor,
                              'nonexistent_hypervisor_name')


class ServicesTest(TempestFlowTestBase):
    """admin.test_services.ServicesAdminTestJSON."""

    def test_services_admin(self):
        services = self.client('services', ADMIN)
        listed = services.list_services()['services']
        self.assertNotEqual([], listed)
        computes = services.list_services(binary='nova-compute')['services']
        self.assertEqual({'nova-compute'},
                         {svc['binary'] for svc in computes})
        host = listed[0]['host']
        on_host = services.list_services(host=host)['services']
        self.assertEqual(
            sorted(svc['binary'] for svc in listed if svc['host'] == host),
            sorted(svc['binary'] for svc in on_host))

    def test_services_admin_negative(self):
        """admin.test_services_negative, both classes."""
        admin = self.client('services', ADMIN)
        for version in (None, '2.52', '2.53', 'latest'):
            with self.at(version):
                self.assertRaises(lib_exc.Forbidden,
                                  self.client('services').list_services)
                listed = admin.list_services()['services']
                if version in (None, '2.52'):
                    # Unknown parameters are ignored up to 2.74.
                    self.assertEqual(len(listed), len(admin.list_services(
                        xxx='nova-compute')['services']))
                self.assertEqual([], admin.list_services(
                    host=listed[0]['host'], binary='xxx')['services'])
                self.assertEqual([], admin.list_services(
                    host='xxx', binary=listed[0]['binary'])['services'])
        with self.at('2.53'):
            for body in ({'status': 'enabled'}, {'status': 'disabled'},
                         {'status': 'disabled',
                          'disabled_reason': 'maintenance'}):
                self.assertRaises(lib_exc.NotFound, admin.update_service,
                                  service_id=HypervisorsNegativeTest.NOWHERE,
                                  **body)


class MigrationsTest(TempestFlowTestBase):
    """admin.test_migrations.MigrationsAdminTest (cold migration on two
    hosts) and admin.test_live_migration_negative."""

    def test_list_migrations(self):
        self.client('migrations', ADMIN).list_migrations()

    def test_cold_migration_confirm_and_revert(self):
        admin = self.client('servers', ADMIN)
        for revert in (False, True):
            server_id = self.create_server('cold-%s' % revert)['id']
            source = self.host_of_server(server_id)
            admin.migrate_server(server_id)
            self.wait_status(server_id, 'VERIFY_RESIZE')
            if revert:
                self.client('servers').revert_resize_server(server_id)
            else:
                self.client('servers').confirm_resize_server(server_id)
            self.wait_status(server_id, 'ACTIVE')
            moved = self.host_of_server(server_id) != source
            self.assertEqual(not revert, moved)
            migrated = [m['instance_uuid'] for m in self.client(
                'migrations', ADMIN).list_migrations()['migrations']]
            self.assertIn(server_id, migrated)

    def test_live_migrate_to_unknown_host_is_bad_request(self):
        server_id = self.create_server('negative')['id']
        admin = self.client('servers', ADMIN)
        for version in (None, '2.25', '2.30', 'latest'):
            args = {'host': 'no-such-host', 'block_migration': False}
            if harness.version_tuple(
                    None if version == 'latest' else version) < (2, 25):
                args['disk_over_commit'] = False
            with self.at(version):
                self.assertRaises(lib_exc.BadRequest,
                                  admin.live_migrate_server, server_id,
                                  **args)
        self.wait_status(server_id, 'ACTIVE')

    def test_cold_migrate_to_unknown_host_is_bad_request(self):
        server_id = self.create_server('negative')['id']
        with self.at('2.56'):
            self.assertRaises(lib_exc.BadRequest,
                              self.client('servers', ADMIN).migrate_server,
                              server_id, host='no-such-host')
        self.wait_status(server_id, 'ACTIVE')


class LiveMigrationTest(TempestFlowTestBase):
    """admin.test_live_migration: LiveMigrationTest (block migration,
    paused, back and forth), LiveMigrationWithoutHostTest and
    LiveAutoBlockMigrationV225Test, as tempest configured with
    block_migration_for_live_migration and live_migrate_back_and_forth."""

    def other_host(self, server_id):
        # tempest's get_host_other_than: an enabled, up nova-compute.
        source = self.host_of_server(server_id)
        for svc in self.client('services', ADMIN).list_services(
                binary='nova-compute')['services']:
            if (svc['state'], svc['status']) == ('up', 'enabled') and (
                    svc['host'] != source):
                return svc['host']
        self.fail('no other host for %s' % server_id)

    def live_migrate(self, server_id, host, state, block_migration=True):
        args = {'host': host, 'block_migration': block_migration}
        version = base_compute_client.COMPUTE_MICROVERSION
        if version is None or harness.version_tuple(version) < (2, 25):
            args['disk_over_commit'] = False
        source = self.host_of_server(server_id)
        before = self.newest_migration(server_id)
        self.client('servers', ADMIN).live_migrate_server(server_id, **args)
        # Wait for the move itself: the status may not leave ``state``.
        self.wait_for_migration_status(server_id, ('completed',),
                                       newer_than=before)
        self.wait_status(server_id, state)
        now = self.host_of_server(server_id)
        if host is None:
            self.assertNotEqual(source, now)
        else:
            self.assertEqual(host, now)
        migrated = [m['instance_uuid'] for m in self.client(
            'migrations', ADMIN).list_migrations()['migrations']]
        self.assertIn(server_id, migrated)

    def _flow(self, state='ACTIVE', request_host=True,
              block_migration=True):
        server_id = self.create_server('live-%s' % state)['id']
        source = self.host_of_server(server_id)
        destination = self.other_host(server_id) if request_host else None
        if state == 'PAUSED':
            self.client('servers', ADMIN).pause_server(server_id)
            self.wait_status(server_id, state)
        self.live_migrate(server_id, destination, state, block_migration)
        self.live_migrate(server_id, source, state, block_migration)

    def test_live_block_migration(self):
        self._flow()

    def test_live_block_migration_paused(self):
        self._flow(state='PAUSED')

    def test_live_block_migration_without_host(self):
        self._flow(request_host=False)

    def test_live_auto_block_migration_v225(self):
        with self.at('2.25'):
            self._flow(block_migration='auto')


class LiveMigrationAbortTest(TempestFlowTestBase):
    """The in-progress migration calls and the abort, as the plugin's
    abort test makes them (tempest has no abort method: its validator)."""

    def test_abort_of_a_migration_that_does_not_converge(self):
        server_id = self.create_server('abort')['id']
        source = self.host_of_server(server_id)
        emulated = base.emulator.get_host(source)
        # Dirtying at twice the bandwidth: it never converges.
        emulated.configure(default_bandwidth=8 * harness.MiB)
        emulated.set_workload(server_id, dirty_pages_per_second=4096)
        admin = self.client('servers', ADMIN)
        for version in ('2.24', 'latest'):
            with self.at(version):
                args = {'host': None, 'block_migration': 'auto'}
                if version == '2.24':
                    args.update(block_migration=False,
                                disk_over_commit=False)
                admin.live_migrate_server(server_id, **args)
                migration = self.wait_for_migration_status(
                    server_id, ('running',))
                listed = admin.list_in_progress_live_migration(
                    server_id)['migrations']
                self.assertEqual([migration.id], [m['id'] for m in listed])
                harness.raw_call(admin, 'DELETE', 'servers/%s/migrations/%s'
                                 % (server_id, migration.id),
                                 harness.status_only(202))
                self.wait_for_migration_status(server_id, ('cancelled',))
                self.assertEqual(source, self.wait_status(
                    server_id, 'ACTIVE', token=ADMIN)['OS-EXT-SRV-ATTR:host'])
                self.assertEqual([], admin.list_in_progress_live_migration(
                    server_id)['migrations'])


class InstanceActionsTest(TempestFlowTestBase):
    """servers.test_instance_actions, both classes."""

    def test_list_and_show(self):
        server = self.create_server('actions')
        servers = self.client('servers')
        servers.reboot_server(server['id'], type='HARD')
        self.wait_status(server['id'], 'ACTIVE')
        actions = servers.list_instance_actions(
            server['id'])['instanceActions']
        self.assertEqual(['create', 'reboot'],
                         sorted(action['action'] for action in actions))
        shown = servers.show_instance_action(
            server['id'],
            server.response['x-compute-request-id'])['instanceAction']
        self.assertEqual(server['id'], shown['instance_uuid'])
        self.assertEqual('create', shown['action'])

    def test_deleted_server_v221(self):
        with self.at('2.21'):
            server = self.create_server('deleted')
            servers = self.client('servers')
            servers.delete_server(server['id'])
            self.wait_gone(server['id'])
            actions = servers.list_instance_actions(
                server['id'])['instanceActions']
        self.assertEqual(['create', 'delete'],
                         sorted(action['action'] for action in actions))


class VersionsTest(TempestFlowTestBase):
    """api.compute.test_versions."""

    def test_versions(self):
        versions = self.client('versions')
        listed = versions.list_versions()['versions']
        # Nova lists the v2.0 API first, then v2.1.
        self.assertEqual('v2.0', listed[0]['id'])
        for version in listed:
            links = [link for link in version['links']
                     if link['rel'] == 'self']
            self.assertEqual(1, len(links), version)
            shown = versions.get_version_by_url(links[0]['href'])['version']
            self.assertEqual(links, [link for link in shown['links']
                                     if link['rel'] == 'self'])
