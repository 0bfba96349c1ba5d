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

"""Tests of engine creation and the engine switch of the DB API."""

import os
import threading

import fixtures
import sqlalchemy as sa
from sqlalchemy import pool as sa_pool
import testtools

from nova.db import api as db
from nova.db import engine as db_engine
from nova import exception
from nova.tests.fixtures import conf as conf_fixture
from nova.tests.unit.db import base


class CreateEngineTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(conf_fixture.ConfFixture()).conf

    def test_sqlite_file_gets_its_directory(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'a', 'b', 'nova.sqlite')
        engine = db_engine.create_engine('sqlite:///' + path)
        self.addCleanup(engine.dispose)
        self.assertTrue(os.path.isdir(os.path.dirname(path)))
        with engine.connect() as conn:
            self.assertEqual(1, conn.execute(sa.text('SELECT 1')).scalar())
            self.assertEqual(1, conn.exec_driver_sql(
                'PRAGMA foreign_keys').scalar())
        self.assertTrue(os.path.exists(path))

    def test_memory_sqlite_shares_one_connection(self):
        engine = db_engine.create_engine('sqlite://')
        self.addCleanup(engine.dispose)
        self.assertIsInstance(engine.pool, sa_pool.StaticPool)
        with engine.begin() as conn:
            conn.execute(sa.text('CREATE TABLE t (x INTEGER)'))
        seen = []

        def read():
            # A connection from another thread sees the same database.
            with engine.connect() as conn:
                seen.append(conn.execute(sa.text(
                    'SELECT count(*) FROM t')).scalar())

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(10)
        self.assertEqual([0], seen)

    def test_missing_connection_is_a_configuration_error(self):
        self.assertRaises(exception.InvalidConfiguration,
                          db_engine.create_engine, None)

    def test_mysql_and_postgresql_urls_are_accepted(self):
        # Without start-up retries, building the engine does not connect.
        self.conf.set_override('max_retries', 0, group='database')
        for url, dialect in (
                ('mysql+pymysql://nova:pw@db.example/nova', 'mysql'),
                ('postgresql+psycopg2://nova:pw@db.example/nova',
                 'postgresql')):
            engine = db_engine.create_engine(url)
            self.addCleanup(engine.dispose)
            self.assertEqual(dialect, engine.dialect.name)
            self.assertNotIsInstance(engine.pool, sa_pool.StaticPool)
            self.assertTrue(engine.pool._pre_ping)


class EngineSwitchTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(conf_fixture.ConfFixture()).conf
        db.reset()
        self.addCleanup(db.reset)

    def test_engine_comes_from_config(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'x.sqlite')
        self.conf.set_override('connection', 'sqlite:///' + path,
                               group='database')
        self.assertEqual(path, db.get_engine().url.database)
        # Cached until reset.
        self.assertIs(db.get_engine(), db.get_engine())

    def test_configure_and_reset_restore_the_previous_engine(self):
        built = db.get_engine()
        mine = db_engine.create_engine('sqlite://')
        self.addCleanup(mine.dispose)
        previous = db.configure(mine)
        self.assertIs(mine, db.get_engine())
        db.reset(previous)
        self.assertIs(built, db.get_engine())
        db.reset()
        self.assertIsNot(built, db.get_engine())


class SharedMemoryDatabaseTestCase(base.DbTestCase):

    def test_many_threads_write_through_one_connection(self):
        errors = []
        barrier = threading.Barrier(8, timeout=30)

        def register(index):
            try:
                barrier.wait()
                for binary in ('nova-compute', 'nova-conductor'):
                    db.service_create(self.context, {
                        'host': 'host%d' % index, 'binary': binary})
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=register, args=(index,))
                   for index in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual([], errors)
        self.assertEqual(16, len(db.service_get_all(self.context)))

    def test_each_test_gets_an_empty_database(self):
        # Runs in any order with the test above: nothing leaks between.
        self.assertEqual([], db.service_get_all(self.context))
        db.service_create(self.context, {'host': 'h', 'binary': 'b'})
        self.assertEqual(1, len(db.service_get_all(self.context)))
