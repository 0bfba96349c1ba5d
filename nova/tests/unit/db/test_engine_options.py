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

"""Every [database] option we register reaches the engine.

MySQL and PostgreSQL engines are built without a server: with
``max_retries = 0`` oslo.db does not connect while building, and the
start-up retries are counted against a driver whose connect fails.
"""

import logging
import os
from unittest import mock

import fixtures
from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import engines
import pymysql
import sqlalchemy as sa
import testtools

from nova.conf import database as database_conf
from nova.db import engine as db_engine
from nova.tests.fixtures import conf as conf_fixture

MYSQL_URL = 'mysql+pymysql://nova:pw@db.example/nova'
POSTGRESQL_URL = 'postgresql+psycopg2://nova:pw@db.example/nova'

# A value other than oslo.db's default for each option.
NON_DEFAULTS = {
    'sqlite_synchronous': False,
    'mysql_sql_mode': 'STRICT_ALL_TABLES',
    'mysql_wsrep_sync_wait': 1,
    'connection_recycle_time': 120,
    'max_pool_size': 7,
    'max_overflow': 3,
    'pool_timeout': 4,
    'max_retries': 2,
    'retry_interval': 0,
    'connection_debug': 100,
    'connection_trace': True,
    'connection_parameters': 'charset=utf8mb4',
}


class EngineOptionsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(conf_fixture.ConfFixture()).conf
        logger = logging.getLogger('sqlalchemy.engine')
        # connection_debug sets this logger's level for the process.
        self.addCleanup(logger.setLevel, logger.level)

    def _set(self, **values):
        for name, value in values.items():
            self.conf.set_override(name, value, group='database')

    def _engine(self, url):
        engine = db_engine.create_engine(url)
        self.addCleanup(engine.dispose)
        return engine

    def test_every_registered_option_is_passed_to_oslo_db(self):
        registered = {opt.name for opt in database_conf.database_opts}
        self.assertEqual(registered - {'connection'},
                         set(db_engine.ENGINE_OPTIONS))
        self.assertEqual(set(NON_DEFAULTS), set(db_engine.ENGINE_OPTIONS))
        self._set(**NON_DEFAULTS)
        with mock.patch.object(engines, 'create_engine') as create:
            db_engine.create_engine(MYSQL_URL)
        create.assert_called_once_with(
            MYSQL_URL, sqlite_fk=True, thread_checkin=False,
            **NON_DEFAULTS)

    def test_options_oslo_db_has_but_we_do_not_honour_are_not_registered(
            self):
        # A fresh ConfigOpts: placement's test fixture registers all of
        # oslo.db's options on the global one in this test process.
        conf = cfg.ConfigOpts()
        database_conf.register_opts(conf)
        for name in ('backend', 'slave_connection', 'use_db_reconnect',
                     'db_max_retries', 'asyncio_connection'):
            self.assertNotIn(name, conf.database)
        self.assertIn('max_retries', conf.database)

    def test_pool_options_size_the_pool(self):
        self._set(max_retries=0, max_pool_size=7, max_overflow=3,
                  pool_timeout=4, connection_recycle_time=120)
        for url in (MYSQL_URL, POSTGRESQL_URL):
            pool = self._engine(url).pool
            self.assertEqual(7, pool.size())
            self.assertEqual(3, pool._max_overflow)
            self.assertEqual(4, pool._timeout)
            self.assertEqual(120, pool._recycle)

    def test_connection_parameters_join_the_url(self):
        self._set(max_retries=0, connection_parameters='charset=utf8mb4')
        engine = self._engine(MYSQL_URL)
        self.assertEqual('utf8mb4', engine.url.query['charset'])

    def _pragma(self, engine, name):
        with engine.connect() as conn:
            return conn.exec_driver_sql('PRAGMA %s' % name).scalar()

    def test_sqlite_synchronous(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.sqlite')
        # SQLite's default is FULL (2); the option turns it OFF (0).
        self.assertEqual(2, self._pragma(
            self._engine('sqlite:///' + path), 'synchronous'))
        self._set(sqlite_synchronous=False)
        self.assertEqual(0, self._pragma(
            self._engine('sqlite:///' + path), 'synchronous'))

    def _sqlite_file(self):
        return 'sqlite:///' + os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.sqlite')

    @staticmethod
    def _statements_of_a_transaction(engine):
        statements = []
        sa.event.listen(engine, 'before_cursor_execute',
                        lambda conn, cursor, statement, *args:
                            statements.append(statement))
        with engine.begin() as conn:
            conn.execute(sa.text('SELECT 1'))
        return statements

    def test_sqlite_file_transactions_take_the_write_lock_first(self):
        engine = self._engine(self._sqlite_file())
        self.assertEqual(['BEGIN IMMEDIATE', 'SELECT 1'],
                         self._statements_of_a_transaction(engine))

    def test_sqlite_file_keeps_max_pool_size_connections_open(self):
        self._set(max_pool_size=2, sqlite_synchronous=False)
        engine = self._engine(self._sqlite_file())
        self.assertIsInstance(engine.pool, sa.pool.QueuePool)
        self.assertEqual(2, engine.pool.size())
        opened = []
        sa.event.listen(engine, 'connect',
                        lambda dbapi_conn, record: opened.append(dbapi_conn))
        for _ in range(5):
            with engine.begin() as conn:
                conn.execute(sa.text('SELECT 1'))
        # One file open for five transactions, with oslo.db's settings.
        self.assertEqual(1, len(opened))
        self.assertEqual(1, self._pragma(engine, 'foreign_keys'))
        self.assertEqual(0, self._pragma(engine, 'synchronous'))
        self.assertEqual(1, len(opened))

    def test_sqlite_file_never_waits_for_a_connection(self):
        self._set(max_pool_size=1)
        engine = self._engine(self._sqlite_file())
        # Past the pool's size a connection is opened for the caller, as
        # oslo.db's NullPool always did, never waited for.
        with engine.connect(), engine.connect():
            self.assertEqual(2, engine.pool.checkedout())
        # Only the pool's size stays open.
        self.assertEqual(1, engine.pool.checkedin())

    def test_pooled_sqlite_connection_forgets_an_unfinished_begin(self):
        self._set(max_pool_size=1)
        engine = self._engine(self._sqlite_file())
        with engine.connect() as conn:
            # As if a transaction had ended without the commit or
            # rollback event that takes the mark away.
            conn.info['in_transaction'] = True
        self.assertEqual(['BEGIN IMMEDIATE', 'SELECT 1'],
                         self._statements_of_a_transaction(engine))

    def test_sqlite_pool_left_alone_when_sqlalchemy_cannot_rebuild_it(self):
        pools = mock.Mock(NullPool=sa.pool.NullPool, QueuePool=mock.Mock(
            side_effect=TypeError('no _dispatch')))
        with mock.patch.object(db_engine, 'sa_pool', pools), \
                self.assertLogs('nova.db.engine', 'WARNING') as logs:
            engine = self._engine(self._sqlite_file())
        self.assertIsInstance(engine.pool, sa.pool.NullPool)
        self.assertIn('no _dispatch', logs.output[0])
        self.assertEqual(1, self._pragma(engine, 'foreign_keys'))

    def test_sqlite_file_is_in_wal_mode(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.sqlite')
        self.assertEqual('wal', self._pragma(
            self._engine('sqlite:///' + path), 'journal_mode'))

    def test_sqlite_file_waits_long_for_a_lock(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.sqlite')
        url = 'sqlite:///' + path
        with mock.patch.object(engines, 'create_engine') as create, \
                mock.patch.object(db_engine, '_put_begin_immediate_first'):
            db_engine.create_engine(url)
            self._set(connection_parameters='cached_statements=10')
            db_engine.create_engine(url)
            # The operator's own timeout wins.
            db_engine.create_engine(url + '?timeout=2')
        params = [c.kwargs['connection_parameters']
                  for c in create.call_args_list]
        self.assertEqual(
            ['timeout=%d' % db_engine.SQLITE_BUSY_TIMEOUT,
             'cached_statements=10&timeout=%d'
             % db_engine.SQLITE_BUSY_TIMEOUT,
             'cached_statements=10'], params)

    def test_sqlite_enforces_foreign_keys(self):
        self.assertEqual(1, self._pragma(self._engine('sqlite://'),
                                         'foreign_keys'))

    def test_connection_debug_sets_the_sql_log_level(self):
        logger = logging.getLogger('sqlalchemy.engine')
        for debug, level in ((100, logging.DEBUG), (50, logging.INFO),
                             (0, logging.WARNING)):
            self._set(connection_debug=debug)
            self._engine('sqlite://')
            self.assertEqual(level, logger.level)

    def test_connection_trace_comments_statements(self):
        statements = []
        self._set(connection_trace=True)
        engine = self._engine('sqlite://')
        # Listeners run in order: this one sees the traced statement.
        sa.event.listen(engine, 'before_cursor_execute',
                        lambda conn, cursor, statement, *args:
                            statements.append(statement))
        with engine.connect() as conn:
            conn.execute(sa.text('SELECT 1'))
        self.assertIn('-- File:', statements[-1])

    def _refused(self, *args, **kwargs):
        # MySQL's "can't connect" error, which oslo.db calls a
        # DBConnectionError, the one it retries.
        raise pymysql.err.OperationalError(
            2003, "Can't connect to MySQL server on 'db.example'")

    def test_max_retries_and_retry_interval_at_start(self):
        self._set(max_retries=3, retry_interval=7)
        with mock.patch.object(pymysql, 'connect',
                               side_effect=self._refused) as connect, \
                mock.patch('time.sleep') as sleep:
            self.assertRaises(db_exc.DBConnectionError,
                              db_engine.create_engine, MYSQL_URL)
        self.assertEqual(3, connect.call_count)
        self.assertEqual([mock.call(7)] * 3, sleep.call_args_list)

    def test_no_retries_means_no_connection_at_build(self):
        self._set(max_retries=0)
        with mock.patch.object(pymysql, 'connect',
                               side_effect=self._refused) as connect:
            self._engine(MYSQL_URL)
        connect.assert_not_called()

    def _session_statements(self, **options):
        """Statements a new MySQL connection runs, on a fake driver."""
        self._set(max_retries=0, **options)
        engine = self._engine(MYSQL_URL)
        dbapi_conn = mock.MagicMock()
        record = mock.MagicMock()
        # oslo.db's "connect" listeners set the session variables (the
        # dialect's own would query the server version).
        for listener in engine.pool.dispatch.connect:
            if listener.__module__ == engines.__name__:
                listener(dbapi_conn, record)
        return [c.args for c in dbapi_conn.cursor().execute.call_args_list]

    def test_mysql_sql_mode_and_wsrep_sync_wait(self):
        statements = self._session_statements(
            mysql_sql_mode='STRICT_ALL_TABLES', mysql_wsrep_sync_wait=1)
        self.assertIn(('SET SESSION sql_mode = %s', ['STRICT_ALL_TABLES']),
                      statements)
        self.assertIn(('SET SESSION wsrep_sync_wait = %s', [1]), statements)
