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

"""Tests of instance_update_and_get_original's compare-and-swap.

The lost update these tests guard against: two workers read an instance
with no task, both decide to start one, and both write. Only one may win;
the other must learn that the instance is busy.
"""

import datetime
import os
import threading

import fixtures
import sqlalchemy as sa

from nova.db import api as db
from nova.db import engine as db_engine
from nova.db import migration
from nova import exception
from nova.tests.unit.db import base
from nova.tests.unit.db import test_instances


class StatementRecorder:
    """Collect the SQL an engine sends to the database."""

    def __init__(self, engine):
        self.statements = []
        sa.event.listen(engine, 'before_cursor_execute', self._record)
        self._engine = engine

    def _record(self, conn, cursor, statement, parameters, context,
                executemany):
        self.statements.append(' '.join(statement.split()))

    def stop(self):
        sa.event.remove(self._engine, 'before_cursor_execute', self._record)

    def updates_of(self, table):
        return [s for s in self.statements
                if s.upper().startswith('UPDATE %s ' % table.upper())]


class InstanceUpdateTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.instance = db.instance_create(
            self.context, test_instances.instance_values())
        self.uuid = self.instance['uuid']

    def _record_statements(self):
        recorder = StatementRecorder(self.database.engine)
        self.addCleanup(recorder.stop)
        return recorder

    def test_update_returns_old_and_new(self):
        old, new = db.instance_update_and_get_original(
            self.context, self.uuid, {'task_state': 'migrating'},
            expected={'task_state': [None]})
        self.assertIsNone(old['task_state'])
        self.assertEqual('migrating', new['task_state'])
        self.assertIsNotNone(new['updated_at'])
        self.assertIn('extra', old)
        self.assertIn('extra', new)
        self.assertEqual(new, db.instance_get_by_uuid(self.context,
                                                      self.uuid))

    def test_timezone_aware_datetimes_become_naive_utc(self):
        launched = datetime.datetime(2024, 3, 1, 9, 30,
                                     tzinfo=datetime.timezone.utc)
        _, new = db.instance_update_and_get_original(
            self.context, self.uuid, {'launched_at': launched})
        self.assertEqual(datetime.datetime(2024, 3, 1, 9, 30),
                         new['launched_at'])
        self.assertIsNone(new['launched_at'].tzinfo)

    def test_update_without_expectation(self):
        old, new = db.instance_update_and_get_original(
            self.context, self.uuid, {'host': 'host2'})
        self.assertEqual('host1', old['host'])
        self.assertEqual('host2', new['host'])

    def test_update_of_extra_columns(self):
        old, new = db.instance_update_and_get_original(
            self.context, self.uuid,
            {'task_state': 'migrating',
             'extra': {'migration_context': '{"mc": 1}'}},
            expected={'task_state': None})
        self.assertIsNone(old['extra']['migration_context'])
        self.assertEqual('{"mc": 1}', new['extra']['migration_context'])
        self.assertEqual('{"mc": 1}', db.instance_get_by_uuid(
            self.context, self.uuid)['extra']['migration_context'])

    def test_extra_only_update_still_checks_expectation(self):
        db.instance_update_and_get_original(
            self.context, self.uuid, {'task_state': 'migrating'})
        self.assertRaises(
            exception.UnexpectedTaskStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'extra': {'resources': 'r'}}, expected={'task_state': [None]})
        self.assertIsNone(db.instance_get_by_uuid(
            self.context, self.uuid)['extra']['resources'])

    def test_is_one_update_with_expectation_in_where(self):
        recorder = self._record_statements()
        db.instance_update_and_get_original(
            self.context, self.uuid, {'task_state': 'migrating'},
            expected={'task_state': [None, 'resize_prep'],
                      'vm_state': ['active']})
        updates = recorder.updates_of('instances')
        self.assertEqual(1, len(updates), updates)
        where = updates[0].split(' WHERE ', 1)[1]
        self.assertIn('task_state IS NULL', where)
        self.assertIn('instances.task_state IN', where)
        self.assertIn('instances.vm_state IN', where)

    def test_failed_expectation_writes_nothing(self):
        db.instance_update_and_get_original(
            self.context, self.uuid, {'task_state': 'migrating'})
        recorder = self._record_statements()
        exc = self.assertRaises(
            exception.UnexpectedTaskStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'task_state': 'resize_prep', 'host': 'host2'},
            expected={'task_state': [None]})
        self.assertEqual(self.uuid, exc.kwargs['instance_uuid'])
        self.assertEqual([None], exc.kwargs['expected'])
        self.assertEqual('migrating', exc.kwargs['actual'])
        self.assertEqual(1, len(recorder.updates_of('instances')))
        row = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual(('migrating', 'host1'),
                         (row['task_state'], row['host']))

    def test_deleting_task_state_raises_deleting_error(self):
        db.instance_update_and_get_original(
            self.context, self.uuid, {'task_state': 'deleting'})
        self.assertRaises(
            exception.UnexpectedDeletingTaskStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'task_state': 'migrating'}, expected={'task_state': [None]})

    def test_unexpected_vm_state(self):
        exc = self.assertRaises(
            exception.UnexpectedVMStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'vm_state': 'stopped'},
            expected={'task_state': [None], 'vm_state': ['stopped']})
        self.assertEqual('active', exc.kwargs['actual'])
        self.assertEqual(['stopped'], exc.kwargs['expected'])

    def test_other_expected_column_mismatch(self):
        self.assertRaises(
            exception.InstanceUpdateConflict,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'host': 'host3'}, expected={'host': ['host2']})
        self.assertEqual('host1', db.instance_get_by_uuid(
            self.context, self.uuid)['host'])

    def test_missing_and_deleted_instances(self):
        self.assertRaises(
            exception.InstanceNotFound,
            db.instance_update_and_get_original, self.context, 'missing',
            {'task_state': 'migrating'})
        db.instance_destroy(self.context, self.uuid)
        self.assertRaises(
            exception.InstanceNotFound,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'task_state': 'migrating'}, expected={'task_state': [None]})

    def test_stale_read_loses_sequentially(self):
        # Both workers read the instance before either writes.
        seen_by_a = db.instance_get_by_uuid(self.context, self.uuid)
        seen_by_b = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertIsNone(seen_by_a['task_state'])
        self.assertIsNone(seen_by_b['task_state'])
        db.instance_update_and_get_original(
            self.context, self.uuid,
            {'task_state': 'migrating', 'launched_on': 'worker-a'},
            expected={'task_state': [None]})
        exc = self.assertRaises(
            exception.UnexpectedTaskStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'task_state': 'migrating', 'launched_on': 'worker-b'},
            expected={'task_state': [None]})
        self.assertEqual('migrating', exc.kwargs['actual'])
        row = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual('worker-a', row['launched_on'])

    def test_write_between_read_and_update_is_not_lost(self):
        """Another writer commits after this call read the row.

        A read-check-write implementation would see task_state None and
        overwrite the other writer; the compare-and-swap UPDATE must not.
        """
        done = []

        def competing_write(conn, cursor, statement, parameters, context,
                            executemany):
            if (not done and
                    statement.lstrip().upper().startswith(
                        'UPDATE INSTANCES ')):
                done.append(statement)
                # Straight on the driver connection, as another process
                # would, right before this call's UPDATE runs.
                cursor.connection.execute(
                    "UPDATE instances SET task_state = 'migrating', "
                    "launched_on = 'other-worker' WHERE uuid = ?",
                    (self.uuid,))

        sa.event.listen(self.database.engine, 'before_cursor_execute',
                        competing_write)
        self.addCleanup(sa.event.remove, self.database.engine,
                        'before_cursor_execute', competing_write)
        exc = self.assertRaises(
            exception.UnexpectedTaskStateError,
            db.instance_update_and_get_original, self.context, self.uuid,
            {'task_state': 'resize_prep', 'launched_on': 'this-worker'},
            expected={'task_state': [None]})
        self.assertEqual('migrating', exc.kwargs['actual'])
        self.assertEqual(1, len(done))
        row = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual(('migrating', 'other-worker'),
                         (row['task_state'], row['launched_on']))


class InstanceUpdateWithoutOriginalTestCase(base.DbTestCase):
    """instance_update: the same compare-and-swap, no read before it."""

    def setUp(self):
        super().setUp()
        self.uuid = db.instance_create(
            self.context, test_instances.instance_values())['uuid']

    _record_statements = InstanceUpdateTestCase._record_statements

    def test_update_reads_nothing_before_writing(self):
        recorder = self._record_statements()
        new = db.instance_update(
            self.context, self.uuid,
            {'task_state': 'migrating',
             'extra': {'migration_context': '{"mc": 1}'}},
            expected={'task_state': [None]})
        self.assertEqual('migrating', new['task_state'])
        self.assertEqual('{"mc": 1}', new['extra']['migration_context'])
        self.assertEqual(new, db.instance_get_by_uuid(self.context,
                                                      self.uuid))
        statements = [s for s in recorder.statements
                      if not s.upper().startswith('BEGIN')]
        self.assertTrue(statements[0].upper().startswith(
            'UPDATE INSTANCES '), statements)

    def _selects(self, recorder):
        return [s for s in recorder.statements
                if s.upper().startswith('SELECT')]

    def test_get_reads_the_instance_and_its_extra_in_one_select(self):
        db.instance_update(self.context, self.uuid,
                           {'extra': {'resources': 'r1'}})
        recorder = self._record_statements()
        found = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual(1, len(self._selects(recorder)),
                         recorder.statements)
        self.assertEqual(('host1', 'r1', None),
                         (found['host'], found['extra']['resources'],
                          found['extra']['migration_context']))

    def test_update_reads_back_in_one_select(self):
        recorder = self._record_statements()
        new = db.instance_update(self.context, self.uuid,
                                 {'host': 'host2',
                                  'extra': {'resources': 'r2'}})
        self.assertEqual(1, len(self._selects(recorder)),
                         recorder.statements)
        self.assertEqual(('host2', 'r2'),
                         (new['host'], new['extra']['resources']))

    def test_original_and_new_extra_each_as_stored_then(self):
        db.instance_update(self.context, self.uuid,
                           {'extra': {'resources': 'before'}})
        # The original read loads the extra row into the session; the
        # row read after the UPDATE must not be served from it.
        old, new = db.instance_update_and_get_original(
            self.context, self.uuid, {'extra': {'resources': 'after'}})
        self.assertEqual('before', old['extra']['resources'])
        self.assertEqual('after', new['extra']['resources'])

    def test_instance_without_extra_row_reads_empty_extra(self):
        with self.database.engine.begin() as conn:
            conn.exec_driver_sql(
                'DELETE FROM instance_extra WHERE instance_uuid = ?',
                (self.uuid,))
        found = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual(dict.fromkeys(found['extra']), found['extra'])
        self.assertIn('resources', found['extra'])

    def _migration(self, status='accepted', dest='host2'):
        return db.migration_create(self.context, {
            'instance_uuid': self.uuid, 'source_compute': 'host1',
            'dest_compute': dest, 'migration_type': 'live-migration',
            'status': status})['id']

    def test_claim_written_while_the_migration_names_the_host(self):
        migration_id = self._migration()
        new = db.instance_update(
            self.context, self.uuid, {'extra': {'migration_context': 'mc'}},
            claimed_by=(migration_id, 'host2', ('accepted',)))
        self.assertEqual('mc', new['extra']['migration_context'])

    def test_claim_refused_once_the_migration_names_another_host(self):
        for status, dest in (('accepted', 'host3'), ('error', 'host2')):
            migration_id = self._migration(status=status, dest=dest)
            exc = self.assertRaises(
                exception.MigrationDestinationChanged, db.instance_update,
                self.context, self.uuid,
                {'host': 'host9', 'extra': {'migration_context': 'mc'}},
                claimed_by=(migration_id, 'host2', ('accepted',)))
            self.assertEqual((status, dest), (exc.kwargs['actual_status'],
                                              exc.kwargs['actual_host']))
            row = db.instance_get_by_uuid(self.context, self.uuid)
            self.assertEqual(('host1', None), (
                row['host'], row['extra']['migration_context']))

    def test_failed_expectation_raises_and_writes_nothing(self):
        db.instance_update(self.context, self.uuid,
                           {'task_state': 'migrating'})
        exc = self.assertRaises(
            exception.UnexpectedTaskStateError, db.instance_update,
            self.context, self.uuid,
            {'task_state': 'resize_prep', 'host': 'host2',
             'extra': {'resources': 'r'}},
            expected={'task_state': [None]})
        self.assertEqual('migrating', exc.kwargs['actual'])
        row = db.instance_get_by_uuid(self.context, self.uuid)
        self.assertEqual(('migrating', 'host1', None),
                         (row['task_state'], row['host'],
                          row['extra']['resources']))

    def test_missing_deleted_and_read_deleted_only(self):
        self.assertRaises(exception.InstanceNotFound, db.instance_update,
                          self.context, 'missing', {'host': 'host2'})
        only_deleted = self.context.elevated()
        only_deleted.read_deleted = 'only'
        # A live row is not what such a context may write.
        self.assertRaises(exception.InstanceNotFound, db.instance_update,
                          only_deleted, self.uuid, {'host': 'host2'})
        self.assertEqual('host1', db.instance_get_by_uuid(
            self.context, self.uuid)['host'])
        db.instance_destroy(self.context, self.uuid)
        self.assertRaises(exception.InstanceNotFound, db.instance_update,
                          self.context, self.uuid, {'host': 'host2'})


class ConcurrentUpdateMixin:
    """Two threads race to start a task on the same idle instance."""

    ROUNDS = 10

    def _race(self, instance_uuid):
        barrier = threading.Barrier(2, timeout=30)
        outcomes = {}

        def worker(name):
            try:
                seen = db.instance_get_by_uuid(self.context, instance_uuid)
                if seen['task_state'] is not None:
                    outcomes[name] = AssertionError('saw a task already')
                    return
                barrier.wait()
                db.instance_update_and_get_original(
                    self.context, instance_uuid,
                    {'task_state': 'migrating', 'launched_on': name},
                    expected={'task_state': [None]})
                outcomes[name] = 'won'
            except Exception as exc:
                outcomes[name] = exc

        threads = [threading.Thread(target=worker, args=(name,))
                   for name in ('worker-a', 'worker-b')]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
            self.assertFalse(thread.is_alive())
        return outcomes

    def test_exactly_one_of_two_concurrent_updates_wins(self):
        for _ in range(self.ROUNDS):
            instance = db.instance_create(
                self.context, test_instances.instance_values())
            outcomes = self._race(instance['uuid'])
            winners = [name for name, outcome in outcomes.items()
                       if outcome == 'won']
            losers = [outcome for outcome in outcomes.values()
                      if outcome != 'won']
            self.assertEqual(1, len(winners), outcomes)
            self.assertEqual(1, len(losers), outcomes)
            self.assertIsInstance(losers[0],
                                  exception.UnexpectedTaskStateError)
            self.assertEqual('migrating', losers[0].kwargs['actual'])
            self.assertEqual([None], losers[0].kwargs['expected'])
            row = db.instance_get_by_uuid(self.context, instance['uuid'])
            self.assertEqual('migrating', row['task_state'])
            self.assertEqual(winners[0], row['launched_on'])


class InMemoryConcurrentUpdateTestCase(ConcurrentUpdateMixin,
                                       base.DbTestCase):
    """The race on the shared in-memory database the tests use."""


class FileConcurrentUpdateTestCase(ConcurrentUpdateMixin, base.DbTestCase):
    """The race on a SQLite file: each thread has its own connection.

    There is no Python lock between the threads here; only the database
    decides who wins.
    """

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'race.sqlite')
        engine = db_engine.create_engine('sqlite:///' + path)
        self.addCleanup(engine.dispose)
        migration.db_sync(engine=engine)
        previous = db.configure(engine)
        self.addCleanup(db.reset, previous)
        self.assertFalse(isinstance(engine.pool, sa.pool.StaticPool))
