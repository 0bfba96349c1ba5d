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

"""Tests of the migrations table's DB API (instance moves, not schema)."""

import datetime

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base
from nova.tests.unit.db import test_instances


class MigrationRecordTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.instance = db.instance_create(
            self.context, test_instances.instance_values())
        self.clock = datetime.datetime(2024, 1, 1)

    def _create(self, instance_uuid=None, **values):
        # Distinct creation times make "newest first" checkable.
        self.clock += datetime.timedelta(minutes=1)
        migration = {'source_compute': 'src', 'source_node': 'src-node',
                     'dest_compute': 'dst', 'dest_node': 'dst-node',
                     'dest_host': '192.0.2.2',
                     'instance_uuid': instance_uuid or self.instance['uuid'],
                     'migration_type': 'live-migration',
                     'status': 'running', 'created_at': self.clock}
        migration.update(values)
        return db.migration_create(self.context, migration)

    def test_create_and_get(self):
        migration = self._create(memory_total=2 ** 40)
        self.assertIs(dict, type(migration))
        self.assertEqual(36, len(migration['uuid']))
        self.assertFalse(migration['hidden'])
        self.assertEqual(2 ** 40, migration['memory_total'])
        self.assertEqual(migration, db.migration_get(self.context,
                                                     migration['id']))
        self.assertEqual(migration, db.migration_get_by_uuid(
            self.context, migration['uuid']))
        self.assertEqual(migration, db.migration_get_by_id_and_instance(
            self.context, migration['id'], self.instance['uuid']))

    def test_get_missing_raises(self):
        migration = self._create()
        self.assertRaises(exception.MigrationNotFound,
                          db.migration_get, self.context, 99)
        self.assertRaises(exception.MigrationNotFound,
                          db.migration_get_by_uuid, self.context, 'x')
        self.assertRaises(exception.MigrationNotFound,
                          db.migration_get_by_id_and_instance,
                          self.context, migration['id'], 'other-instance')

    def test_create_checks_type_instance_and_uuid(self):
        self.assertRaises(exception.Invalid, self._create,
                          migration_type='teleport')
        exc = self.assertRaises(exception.InstanceNotFound, self._create,
                                instance_uuid='missing')
        self.assertEqual('missing', exc.kwargs['instance_id'])
        migration = self._create()
        self.assertRaises(exception.MigrationExists, self._create,
                          uuid=migration['uuid'])

    def test_update(self):
        migration = self._create()
        updated = db.migration_update(self.context, migration['id'], {
            'status': 'completed', 'memory_processed': 10,
            'memory_remaining': 0})
        self.assertEqual('completed', updated['status'])
        self.assertEqual(10, updated['memory_processed'])
        self.assertEqual(updated, db.migration_get(self.context,
                                                   migration['id']))
        self.assertRaises(exception.MigrationNotFound, db.migration_update,
                          self.context, 99, {'status': 'error'})
        self.assertRaises(exception.Invalid, db.migration_update,
                          self.context, migration['id'],
                          {'migration_type': 'teleport'})

    def test_update_with_expected_status_is_a_compare_and_swap(self):
        migration = self._create(status='accepted')
        updated = db.migration_update(
            self.context, migration['id'], {'status': 'queued'},
            expected_status=['accepted', 'queued'])
        self.assertEqual('queued', updated['status'])
        # The second of two services racing for it finds it taken and
        # writes nothing.
        err = self.assertRaises(
            exception.MigrationStatusChanged, db.migration_update,
            self.context, migration['id'],
            {'status': 'preparing', 'dest_compute': 'elsewhere'},
            expected_status=['accepted'])
        self.assertIn('queued', str(err))
        stored = db.migration_get(self.context, migration['id'])
        self.assertEqual(('queued', 'dst'),
                         (stored['status'], stored['dest_compute']))
        self.assertRaises(exception.MigrationNotFound, db.migration_update,
                          self.context, 99, {'status': 'error'},
                          expected_status=['accepted'])

    def test_swap_without_values_only_checks(self):
        migration = self._create(status='running')
        self.assertEqual('running', db.migration_update(
            self.context, migration['id'], {},
            expected_status=['running'])['status'])
        self.assertRaises(exception.MigrationStatusChanged,
                          db.migration_update, self.context,
                          migration['id'], {}, expected_status=[])

    def test_in_progress_by_instance(self):
        running = self._create(status='running')
        queued = self._create(status='queued', migration_type='migration')
        for status in ('confirmed', 'reverted', 'error', 'failed',
                       'completed', 'cancelled', 'done'):
            self._create(status=status)
        self.assertEqual([queued['id'], running['id']], [
            m['id'] for m in db.migration_get_in_progress_by_instance(
                self.context, self.instance['uuid'])])
        self.assertEqual([running['id']], [
            m['id'] for m in db.migration_get_in_progress_by_instance(
                self.context, self.instance['uuid'],
                migration_type='live-migration')])

    def test_in_progress_by_host_and_node(self):
        outgoing = self._create(status='running')
        incoming = self._create(source_compute='other',
                                source_node='other-node',
                                dest_compute='src', dest_node='src-node',
                                status='preparing')
        awaiting_confirm = self._create(status='finished')
        # Same host, another node: not this node's business.
        self._create(source_node='elsewhere', dest_compute='dst2')
        # Ended, or ended in error: what they left is kept elsewhere.
        for status in ('confirmed', 'reverted', 'completed', 'failed',
                       'cancelled', 'done', 'error'):
            self._create(status=status)
        found = db.migration_get_in_progress_by_host_and_node(
            self.context, 'src', 'src-node')
        self.assertEqual({awaiting_confirm['id'], incoming['id'],
                          outgoing['id']}, {m['id'] for m in found})
        found = db.migration_get_in_progress_by_host_and_node(
            self.context, 'dst', 'dst-node')
        self.assertEqual({awaiting_confirm['id'], outgoing['id']},
                         {m['id'] for m in found})

    def test_in_progress_statuses_are_every_status_not_ended(self):
        # The DB API names them one by one (for its index); a status added
        # to the object field must be placed on one side or the other.
        from nova.db import api as db_api
        from nova.objects import fields
        status = fields.MigrationStatus
        self.assertEqual(
            set(status.ALL) - set(status.ENDED) - {status.ERROR},
            set(db_api._MIGRATION_IN_PROGRESS_STATUSES))
        self.assertEqual(set(status.IN_PROGRESS),
                         set(db_api._MIGRATION_IN_PROGRESS_STATUSES))

    def test_deleted_migrations_are_not_in_progress(self):
        self._create(status='running')
        db.instance_destroy(self.context, self.instance['uuid'])
        self.assertEqual([], db.migration_get_in_progress_by_instance(
            self.context, self.instance['uuid']))
        self.assertEqual(
            [], db.migration_get_in_progress_by_host_and_node(
                self.context, 'src', 'src-node'))
        self.assertEqual([], db.migration_get_all_by_filters(
            self.context, {}))
        self.assertEqual(1, len(db.migration_get_all_by_filters(
            self.deleted_context(), {})))

    def test_get_all_by_filters(self):
        other = db.instance_create(self.context,
                                   test_instances.instance_values())
        live = self._create()
        cold = self._create(migration_type='resize', status='finished',
                            source_compute='dst', dest_compute='third',
                            instance_uuid=other['uuid'])
        hidden = self._create(source_compute='fourth',
                              dest_compute='fifth', hidden=True,
                              status='error')

        def ids(filters):
            return [m['id'] for m in db.migration_get_all_by_filters(
                self.context, filters)]

        self.assertEqual([hidden['id'], cold['id'], live['id']], ids({}))
        self.assertEqual([cold['id'], live['id']], ids({'host': 'dst'}))
        self.assertEqual([live['id']], ids({'status': 'running'}))
        self.assertEqual([hidden['id'], live['id']],
                         ids({'status': ['running', 'error']}))
        self.assertEqual([cold['id']], ids({'migration_type': 'resize'}))
        self.assertEqual([cold['id']],
                         ids({'instance_uuid': other['uuid']}))
        self.assertEqual([live['id']], ids({'source_compute': 'src'}))
        self.assertEqual([cold['id']], ids({'dest_compute': 'third'}))
        self.assertEqual([hidden['id']], ids({'hidden': True}))
        self.assertEqual([live['id']],
                         ids({'hidden': False, 'host': 'src'}))
        self.assertRaises(exception.Invalid, db.migration_get_all_by_filters,
                          self.context, {'colour': 'red'})


class MigrationTakingInstanceTestCase(base.DbTestCase):
    """A move recorded with its instance's compare-and-swap: all or none."""

    IDLE = {'task_state': [None], 'vm_state': ['active']}

    def setUp(self):
        super().setUp()
        self.instance = db.instance_create(
            self.context, test_instances.instance_values(
                vm_state='active', task_state=None))
        self.uuid = self.instance['uuid']

    def _take(self, expected=None, action=True, **values):
        migration = {'source_compute': 'src', 'source_node': 'src-node',
                     'migration_type': 'live-migration',
                     'status': 'accepted'}
        migration.update(values)
        action_values = None
        if action:
            action_values = {'instance_uuid': self.uuid,
                             'action': 'live-migration',
                             'request_id': 'req-1', 'user_id': 'u',
                             'project_id': 'p'}
        return db.migration_create_taking_instance(
            self.context, self.uuid, {'task_state': 'migrating'},
            expected or self.IDLE, migration, action_values)

    def _recorded(self):
        instance = db.instance_get_by_uuid(self.context, self.uuid)
        migrations = db.migration_get_in_progress_by_instance(self.context,
                                                              self.uuid)
        actions = db.instance_action_get_all_by_instance(self.context,
                                                         self.uuid)
        return instance['task_state'], migrations, actions

    def test_all_three_written(self):
        instance, migration, action = self._take()
        self.assertEqual('migrating', instance['task_state'])
        self.assertEqual(self.uuid, migration['instance_uuid'])
        self.assertEqual('accepted', migration['status'])
        self.assertEqual('req-1', action['request_id'])
        task_state, migrations, actions = self._recorded()
        self.assertEqual('migrating', task_state)
        self.assertEqual([migration['id']], [m['id'] for m in migrations])
        self.assertEqual([action['id']], [a['id'] for a in actions])

    def test_without_an_action(self):
        _instance, migration, action = self._take(action=False)
        self.assertIsNone(action)
        task_state, migrations, actions = self._recorded()
        self.assertEqual(('migrating', 1, []),
                         (task_state, len(migrations), actions))

    def test_a_busy_instance_gets_nothing_written(self):
        db.instance_update(self.context, self.uuid,
                           {'task_state': 'resize_prep'})
        self.assertRaises(exception.UnexpectedTaskStateError, self._take)
        self.assertEqual(('resize_prep', [], []), self._recorded())

    def test_a_refused_migration_row_undoes_the_instance(self):
        _instance, first, _action = self._take()
        db.instance_update(self.context, self.uuid, {'task_state': None})
        self.assertRaises(exception.MigrationExists, self._take,
                          uuid=first['uuid'])
        task_state, migrations, actions = self._recorded()
        self.assertIsNone(task_state)
        self.assertEqual([first['id']], [m['id'] for m in migrations])
        self.assertEqual(1, len(actions))

    def test_a_bad_type_writes_nothing(self):
        self.assertRaises(exception.Invalid, self._take,
                          migration_type='teleport')
        self.assertEqual((None, [], []), self._recorded())
