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

"""``/os-migrations`` and ``/servers/{id}/migrations`` per microversion.

Every view is checked against tempest's schema for the microversion asked
(when tempest is installed), and the filters, paging and route ranges as
Nova has them.
"""

import datetime
from unittest import mock

from nova.api.handlers import migration_views
from nova.api.handlers import migrations
from nova import exception
from nova import objects
from nova.tests.unit.api import tempest_check
from nova.tests.unit.api import test_wsgi

UUID = test_wsgi.UUID
MIGRATION_UUIDS = ['0a3f0a3f-0000-4000-8000-%012d' % i for i in range(4)]

# Where tempest keeps the schema of each microversion range.
LIST_SCHEMAS = [((2, 1), 'v2_1'), ((2, 23), 'v2_23'), ((2, 59), 'v2_59'),
                ((2, 80), 'v2_80')]
SERVER_SCHEMAS = [((2, 1), 'v2_1'), ((2, 59), 'v2_59'), ((2, 80), 'v2_80')]
VERSIONS = ['2.1', '2.22', '2.23', '2.58', '2.59', '2.65', '2.66', '2.79',
            '2.80', '2.100']
SERVER_VERSIONS = ['2.23', '2.24', '2.58', '2.59', '2.79', '2.80', '2.100']


def _migration(index=0, status='running', migration_type='live-migration',
               **values):
    fields = dict(
        id=index + 1, uuid=MIGRATION_UUIDS[index], status=status,
        instance_uuid=UUID, migration_type=migration_type,
        source_compute='compute-a', source_node='compute-a',
        dest_compute='compute-b', dest_node='compute-b',
        dest_host='192.0.2.2', old_instance_type_id=1,
        new_instance_type_id=1, hidden=False,
        created_at=datetime.datetime(2025, 1, 1, 0, index),
        updated_at=datetime.datetime(2025, 1, 1, 1, index),
        memory_total=64 << 20, memory_processed=16 << 20,
        memory_remaining=48 << 20, disk_total=0, disk_processed=0,
        disk_remaining=0, user_id='alice', project_id='owner')
    fields.update(values)
    return objects.Migration(**fields)


def _version(text):
    major, minor = text.split('.')
    return int(major), int(minor)


class MigrationsAPITestCase(test_wsgi.APITestCase):

    def setUp(self):
        super().setUp()
        # Newest first, as the database answers.
        self.migrations = [
            _migration(2, status='completed'),
            _migration(1, status='finished', migration_type='resize'),
            _migration(0)]
        self.get_by_filters = mock.Mock(
            side_effect=lambda context, filters: list(self.migrations))
        self.useFixture_patch('nova.objects.MigrationList.get_by_filters',
                              new=self.get_by_filters)
        self.useFixture_patch(
            'nova.objects.MigrationList.get_in_progress_by_instance',
            side_effect=lambda *a, **kw: [self.migrations[-1]])
        by_uuid = {m.uuid: m for m in self.migrations}

        def get_by_uuid(context, uuid):
            if uuid not in by_uuid:
                raise exception.MigrationNotFound(migration_id=uuid)
            return by_uuid[uuid]
        self.useFixture_patch('nova.objects.Migration.get_by_uuid',
                              side_effect=get_by_uuid)

    def filters(self):
        return self.get_by_filters.call_args.args[1]

    def assertTempestValid(self, rows, module, name, version, resp):
        directory = tempest_check.pick(rows, _version(version))
        tempest_check.validate(
            self, tempest_check.schema(directory, module, name),
            resp.status_int, resp.json)


class TestMigrationsView(MigrationsAPITestCase):

    def test_every_version_is_valid_for_tempest(self):
        for version in VERSIONS:
            resp = self.request('/v2.1/os-migrations', version=version)
            self.assertEqual(200, resp.status_int, version)
            self.assertTempestValid(LIST_SCHEMAS, 'migrations',
                                    'list_migrations', version, resp)

    def test_fields_by_version(self):
        def keys(version):
            resp = self.request('/v2.1/os-migrations', version=version)
            return set(resp.json['migrations'][-1])
        base = keys('2.22')
        self.assertNotIn('migration_type', base)
        self.assertEqual({'migration_type', 'links'}, keys('2.23') - base)
        self.assertEqual({'uuid'}, keys('2.59') - keys('2.58'))
        self.assertEqual({'user_id', 'project_id'},
                         keys('2.80') - keys('2.79'))

    def test_no_links_for_other_statuses(self):
        for status in ('accepted', 'cancelling', 'completed', 'error'):
            self.migrations[-1].status = status
            body = self.request('/v2.1/os-migrations', version='2.23').json
            self.assertNotIn('links', body['migrations'][-1], status)

    def test_links_only_for_live_migrations_in_progress(self):
        body = self.request('/v2.1/os-migrations', version='2.23').json
        linked = [m['id'] for m in body['migrations'] if 'links' in m]
        self.assertEqual([1], linked)
        links = {link['rel']: link['href']
                 for link in body['migrations'][-1]['links']}
        self.assertEqual(
            'http://localhost/v2.1/servers/%s/migrations/1' % UUID,
            links['self'])
        self.assertEqual(
            'http://localhost/servers/%s/migrations/1' % UUID,
            links['bookmark'])

    def test_values(self):
        body = self.request('/v2.1/os-migrations', version='2.80').json
        live = body['migrations'][-1]
        self.assertEqual(
            (1, MIGRATION_UUIDS[0], UUID, 'live-migration', 'alice',
             'owner', '2025-01-01T00:00:00.000000'),
            (live['id'], live['uuid'], live['instance_uuid'],
             live['migration_type'], live['user_id'], live['project_id'],
             live['created_at']))


class TestMigrationsFilters(MigrationsAPITestCase):

    def _filters(self, query, version):
        resp = self.request('/v2.1/os-migrations?' + query, version=version)
        self.assertEqual(200, resp.status_int, resp.body)
        return self.filters()

    def test_filters_of_2_1(self):
        self.assertEqual(
            {'host': 'compute-a', 'status': 'running',
             'migration_type': 'live-migration', 'instance_uuid': UUID,
             'source_compute': 'compute-b', 'hidden': False},
            self._filters('host=compute-a&status=running&migration_type='
                          'live-migration&instance_uuid=%s&source_compute='
                          'compute-b&colour=red' % UUID, '2.1'))

    def test_repeated_parameter_is_a_list(self):
        self.assertEqual(['running', 'completed'], self._filters(
            'status=running&status=completed', '2.30')['status'])

    def test_user_and_project_from_2_80(self):
        query = 'user_id=alice&project_id=owner'
        self.assertEqual({'hidden': False}, self._filters(query, '2.79'))
        self.assertEqual({'hidden': False, 'user_id': 'alice',
                          'project_id': 'owner'},
                         self._filters(query, '2.80'))

    def test_changes_since_from_2_59(self):
        query = 'changes-since=2025-01-01T00:30:00Z'
        self.assertNotIn('changes-since', self._filters(query, '2.58'))
        self.assertEqual(datetime.datetime(2025, 1, 1, 0, 30),
                         self._filters(query, '2.59')['changes-since'])

    def test_changes_before_from_2_66(self):
        query = 'changes-before=2025-01-01T02:00:00%2B01:00'
        self.assertNotIn('changes-before', self._filters(query, '2.65'))
        # Normalised to UTC, as the database keeps times.
        self.assertEqual(datetime.datetime(2025, 1, 1, 1, 0),
                         self._filters(query, '2.66')['changes-before'])

    def test_bad_times_are_400(self):
        resp = self.request('/v2.1/os-migrations?changes-since=yesterday',
                            version='2.59')
        self.assertEqual(400, resp.status_int)
        self.assertIn('changes-since', resp.json['badRequest']['message'])
        resp = self.request('/v2.1/os-migrations?changes-since='
                            '2025-02-01T00:00:00Z&changes-before='
                            '2025-01-01T00:00:00Z', version='2.66')
        self.assertEqual(400, resp.status_int)

    def test_admin_only(self):
        resp = self.request('/v2.1/os-migrations', token='alice:owner',
                            version='2.80')
        self.assertEqual(403, resp.status_int)


class TestMigrationsPaging(MigrationsAPITestCase):

    def test_page_function(self):
        newest, middle, oldest = self.migrations
        self.assertEqual([newest, middle],
                         migrations.page(self.migrations, None, 2))
        self.assertEqual([middle, oldest],
                         migrations.page(self.migrations, newest, 5))
        self.assertEqual([], migrations.page(self.migrations, oldest, 5))
        self.assertEqual([], migrations.page(self.migrations, None, 0))

    def test_limit_and_next_link(self):
        resp = self.request('/v2.1/os-migrations?limit=2&status=running',
                            version='2.59')
        body = resp.json
        self.assertEqual([3, 2], [m['id'] for m in body['migrations']])
        [link] = body['migrations_links']
        self.assertEqual('next', link['rel'])
        self.assertTrue(link['href'].startswith(
            'http://localhost/v2.1/os-migrations?'), link['href'])
        self.assertIn('limit=2', link['href'])
        self.assertIn('status=running', link['href'])
        self.assertIn('marker=%s' % MIGRATION_UUIDS[1], link['href'])

    def test_marker_starts_after_it(self):
        resp = self.request('/v2.1/os-migrations?marker=%s'
                            % MIGRATION_UUIDS[1], version='2.59')
        self.assertEqual([1], [m['id'] for m in resp.json['migrations']])
        self.assertNotIn('migrations_links', resp.json)

    def test_no_paging_before_2_59(self):
        resp = self.request('/v2.1/os-migrations?limit=1', version='2.58')
        self.assertEqual(3, len(resp.json['migrations']))
        self.assertNotIn('migrations_links', resp.json)

    def test_unknown_marker_and_bad_limit_are_400(self):
        resp = self.request('/v2.1/os-migrations?marker=%s' % UUID,
                            version='2.59')
        self.assertEqual(400, resp.status_int)
        self.assertIn(UUID, resp.json['badRequest']['message'])
        for limit in ('-1', 'ten'):
            resp = self.request('/v2.1/os-migrations?limit=' + limit,
                                version='2.59')
            self.assertEqual(400, resp.status_int, limit)

    def test_max_limit_caps(self):
        self.flags(max_limit=1, group='api')
        body = self.request('/v2.1/os-migrations?limit=5',
                            version='2.59').json
        self.assertEqual(1, len(body['migrations']))
        self.assertIn('limit=5', body['migrations_links'][0]['href'])


class TestServerMigrations(MigrationsAPITestCase):

    PATH = '/v2.1/servers/%s/migrations' % UUID

    def test_every_version_is_valid_for_tempest(self):
        for version in SERVER_VERSIONS:
            resp = self.request(self.PATH, version=version)
            self.assertEqual(200, resp.status_int, version)
            self.assertTempestValid(SERVER_SCHEMAS, 'servers',
                                    'list_live_migrations', version, resp)

    def test_show_has_byte_counts_and_fields_by_version(self):
        def shown(version):
            resp = self.request(self.PATH + '/1', version=version)
            self.assertEqual(200, resp.status_int, version)
            return resp.json['migration']
        at_2_23 = shown('2.23')
        self.assertEqual(
            (64 << 20, 16 << 20, 48 << 20, 0, 0, 0, UUID),
            tuple(at_2_23[k] for k in (
                'memory_total_bytes', 'memory_processed_bytes',
                'memory_remaining_bytes', 'disk_total_bytes',
                'disk_processed_bytes', 'disk_remaining_bytes',
                'server_uuid')))
        self.assertNotIn('uuid', at_2_23)
        self.assertNotIn('memory_total', at_2_23)
        self.assertEqual(MIGRATION_UUIDS[0], shown('2.59')['uuid'])
        self.assertNotIn('user_id', shown('2.79'))
        self.assertEqual(('alice', 'owner'), (
            shown('2.80')['user_id'], shown('2.80')['project_id']))
        # By uuid, as the CLI asks from 2.59.
        resp = self.request(self.PATH + '/' + MIGRATION_UUIDS[0],
                            version='2.59')
        self.assertEqual(1, resp.json['migration']['id'])

    def test_routes_exist_from_their_microversion(self):
        for version, method, path, body in (
                ('2.22', 'GET', self.PATH, None),
                ('2.22', 'GET', self.PATH + '/1', None),
                ('2.23', 'DELETE', self.PATH + '/1', None),
                ('2.21', 'POST', self.PATH + '/1/action',
                 {'force_complete': None})):
            resp = self.request(path, method, body, version=version)
            self.assertEqual(404, resp.status_int, (version, method, path))
        self.compute.live_migrate_abort.assert_not_called()
        self.compute.live_migrate_force_complete.assert_not_called()

    def test_force_complete_from_2_22_and_abort_from_2_24(self):
        resp = self.request(self.PATH + '/1/action', 'POST',
                            {'force_complete': None}, version='2.22')
        self.assertEqual(202, resp.status_int)
        self.compute.live_migrate_force_complete.assert_called_once_with(
            mock.ANY, self.instance, 1)
        resp = self.request(self.PATH + '/1', 'DELETE', version='2.24')
        self.assertEqual(202, resp.status_int)
        self.compute.live_migrate_abort.assert_called_once_with(
            mock.ANY, self.instance, 1)


class TestServerMigrationEnded(test_wsgi.APITestCase):
    """GET of one server migration, against the real database: 404 once
    the migration ended, as the in-progress query decides."""

    USES_DB = True
    PATH = '/v2.1/servers/%s/migrations/' % UUID

    def setUp(self):
        super().setUp()
        flavor = objects.Flavor(
            self.context, name='small', flavorid='small', memory_mb=128,
            vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={})
        flavor.create()
        objects.Instance(self.context, uuid=UUID, user_id='u',
                         project_id='owner', display_name='vm1',
                         flavor=flavor, host='compute-a', node='compute-a',
                         vm_state='active', task_state=None).create()

    def add_migration(self, status):
        migration = objects.Migration(
            self.context, instance_uuid=UUID,
            migration_type='live-migration', status=status,
            source_compute='compute-a', source_node='compute-a',
            dest_compute='compute-b', dest_node='compute-b')
        migration.create()
        return migration

    def assertNotFound(self, ref, resp):
        self.assertEqual(404, resp.status_int, ref)
        self.assertEqual(
            {'code': 404,
             'message': 'In-progress live migration %s is not found for '
                        'server %s.' % (ref, UUID)},
            resp.json['itemNotFound'])

    def test_running_is_200_then_404_once_completed(self):
        migration = self.add_migration('running')
        resp = self.request(self.PATH + str(migration.id), version='2.23')
        self.assertEqual(200, resp.status_int)
        self.assertEqual(migration.id, resp.json['migration']['id'])
        migration.status = 'completed'
        migration.save()
        self.assertNotFound(migration.id, self.request(
            self.PATH + str(migration.id), version='2.23'))

    def test_ended_is_404_by_id_and_uuid(self):
        for status in ('completed', 'failed', 'error', 'cancelled'):
            migration = self.add_migration(status)
            self.assertNotFound(migration.id, self.request(
                self.PATH + str(migration.id), version='2.23'))
            self.assertNotFound(migration.uuid, self.request(
                self.PATH + migration.uuid, version='2.59'))


class TestFieldTables(MigrationsAPITestCase):

    def test_tables_are_in_version_order(self):
        for table in (migration_views.LIST_FIELDS,
                      migration_views.SERVER_FIELDS):
            firsts = [first for first, _fields in table]
            self.assertEqual(sorted(firsts), firsts)

    def test_progress_names(self):
        names = migration_views.fields_at(migration_views.SERVER_FIELDS,
                                          (2, 23))
        self.assertIn('memory_processed_bytes', names)
        self.assertNotIn('memory_processed', names)
