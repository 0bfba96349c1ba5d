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

"""Tests of the alembic migrations, db_sync/db_version and nova-manage."""

import contextlib
import io
import os
import sqlite3
import subprocess
import sys

from alembic import autogenerate
from alembic import command as alembic_command
from alembic import migration as alembic_migration
import fixtures
import testtools

import nova.conf.opts
from nova.db import api as db
from nova.db import engine as db_engine
from nova.db import migration
from nova.db import models
from nova import exception
from nova.tests.fixtures import conf as conf_fixture

TABLES = {'services', 'compute_nodes', 'flavors', 'flavor_extra_specs',
          'instances', 'instance_extra', 'instance_faults', 'migrations',
          'vpmem_namespaces', 'pending_placement_work', 'instance_actions',
          'instance_actions_events', 'flavor_projects', 'key_pairs'}


def sqlite_tables(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")
        return {name for (name,) in rows}


class SchemaTestCase(testtools.TestCase):
    """db_sync against the engine [database]connection names."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(conf_fixture.ConfFixture()).conf
        # conf.reset() in an earlier test's cleanup drops library defaults
        # set with set_default(); put nova's back.
        nova.conf.opts.set_defaults(self.conf)
        # A file under a state_path that does not exist yet.
        self.state_path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'new', 'state')
        self.conf.set_override('state_path', self.state_path)
        self.conf.set_override('connection',
                               'sqlite:///$state_path/nova.sqlite',
                               group='database')
        self.db_path = os.path.join(self.state_path, 'nova.sqlite')
        db.reset()
        self.addCleanup(db.reset)

    def test_no_connection_is_refused_and_creates_nothing(self):
        # There is no default database: nothing appears under state_path.
        self.conf.clear_override('connection', group='database')
        self.assertIsNone(self.conf.database.connection)
        exc = self.assertRaises(exception.InvalidConfiguration,
                                migration.db_version)
        self.assertIn('[database]connection', str(exc))
        self.assertFalse(os.path.exists(self.state_path))

    def test_db_sync_creates_every_table_and_is_idempotent(self):
        self.assertIsNone(migration.db_version())
        migration.db_sync()
        self.assertEqual(TABLES | {'alembic_version'},
                         sqlite_tables(self.db_path))
        head = migration.head_revision()
        self.assertIsNotNone(head)
        self.assertEqual(head, migration.db_version())
        migration.db_sync()
        self.assertEqual(head, migration.db_version())
        # The schema works through the DB API.
        db.service_create(None, {'host': 'h', 'binary': 'nova-compute'})
        self.assertEqual(1, len(db.service_get_all(None)))

    def test_db_sync_to_explicit_version(self):
        migration.db_sync(version=migration.head_revision())
        self.assertEqual(migration.head_revision(), migration.db_version())

    def test_db_sync_to_unknown_version_fails_readably(self):
        exc = self.assertRaises(exception.DBMigrationError,
                                migration.db_sync, version='0000beef')
        self.assertIn('0000beef', str(exc))

    def test_check_db_version(self):
        exc = self.assertRaises(exception.DBNotAtLatestVersion,
                                migration.check_db_version)
        self.assertEqual(migration.head_revision(), exc.kwargs['expected'])
        self.assertIsNone(exc.kwargs['current'])
        migration.db_sync()
        migration.check_db_version()

    def test_check_db_version_of_an_older_schema(self):
        # A database synced by an older release: refused, naming both
        # revisions and the command that brings it up to date.
        migration.db_sync(version='8f2d6c1e0a3b')
        exc = self.assertRaises(exception.DBNotAtLatestVersion,
                                migration.check_db_version)
        self.assertEqual('8f2d6c1e0a3b', exc.kwargs['current'])
        self.assertIn('at schema version 8f2d6c1e0a3b, this code needs %s'
                      % migration.head_revision(), str(exc))
        self.assertIn("Run 'nova-manage db sync'", str(exc))
        migration.db_sync()
        migration.check_db_version()


class ModelsMatchMigrationsTestCase(testtools.TestCase):

    def test_models_match_migrated_schema(self):
        engine = db_engine.create_engine('sqlite://')
        self.addCleanup(engine.dispose)
        migration.db_sync(engine=engine)
        with engine.connect() as conn:
            context = alembic_migration.MigrationContext.configure(
                conn, opts={'compare_type': True})
            diff = autogenerate.compare_metadata(context,
                                                 models.Base.metadata)
        self.assertEqual([], diff)

    def _offline_sql(self, url):
        config = migration._alembic_config()
        config.set_main_option('sqlalchemy.url', url)
        config.output_buffer = io.StringIO()
        alembic_command.upgrade(config, 'head', sql=True)
        return config.output_buffer.getvalue()

    def test_migrations_compile_for_mysql_and_postgresql(self):
        for url in ('mysql+pymysql://nova:secret@db.example/nova',
                    'postgresql+psycopg://nova:secret@db.example/nova'):
            sql = self._offline_sql(url)
            for table in TABLES:
                self.assertIn('CREATE TABLE %s ' % table, sql)
            self.assertIn('REFERENCES instances (uuid)', sql)
        self.assertIn('ENGINE=InnoDB', self._offline_sql(
            'mysql+pymysql://nova:secret@db.example/nova'))


class NovaManageTestCase(testtools.TestCase):
    """nova-manage run as operators run it: a process with a config file."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db_path = os.path.join(self.tmp, 'sub', 'nova.sqlite')
        self.config = os.path.join(self.tmp, 'nova.conf')
        with open(self.config, 'w') as config:
            config.write('[DEFAULT]\nstate_path = %s\n'
                         '[database]\nconnection = sqlite:///%s\n' % (
                             self.tmp, self.db_path))

    def _manage(self, *args):
        binary = os.path.join(os.path.dirname(sys.executable),
                              'nova-manage')
        return subprocess.run([binary] + list(args), capture_output=True,
                              text=True, timeout=120)

    def test_db_sync_then_version(self):
        result = self._manage('--config-file', self.config, 'db', 'sync')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(TABLES | {'alembic_version'},
                         sqlite_tables(self.db_path))
        result = self._manage('--config-file', self.config, 'db', 'version')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(migration.head_revision(), result.stdout.strip())

    def test_db_version_of_empty_database(self):
        result = self._manage('--config-file', self.config, 'db', 'version')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('None', result.stdout.strip())

    def test_missing_config_file_exits_non_zero(self):
        missing = os.path.join(self.tmp, 'missing.conf')
        result = self._manage('--config-file', missing, 'db', 'sync')
        self.assertEqual(1, result.returncode)
        self.assertIn(missing, result.stderr)
        self.assertFalse(os.path.exists(self.db_path))

    def test_failed_sync_exits_non_zero_with_a_message(self):
        result = self._manage('--config-file', self.config, 'db', 'sync',
                              '--version', 'feedface')
        self.assertEqual(1, result.returncode)
        self.assertIn('db sync failed', result.stderr)
        self.assertIn('feedface', result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()),
                         result.stderr)

    def test_vpmem_commands_on_a_new_cloud(self):
        result = self._manage('--config-file', self.config, 'db', 'sync')
        self.assertEqual(0, result.returncode, result.stderr)
        result = self._manage('--config-file', self.config, 'vpmem', 'list')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('No namespace records', result.stdout)
        # Nothing recorded, so nothing to compare with placement.
        result = self._manage('--config-file', self.config, 'vpmem',
                              'audit')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('audit: clean: 0 namespace(s)', result.stdout)
        result = self._manage('--config-file', self.config, 'vpmem',
                              'retry-erase', 'compute-a', 'ns0')
        self.assertEqual(1, result.returncode)
        self.assertEqual(
            ['nova-manage vpmem retry-erase failed: '
             'VPMEMNamespaceNotFound: Persistent memory namespace record '
             'ns0 on compute-a not found.'],
            result.stderr.strip().splitlines())

    def test_vpmem_list_refuses_an_unknown_state(self):
        result = self._manage('--config-file', self.config, 'vpmem', 'list',
                              '--state', 'lost')
        self.assertEqual(2, result.returncode)
        self.assertIn("invalid choice: 'lost'", result.stderr)
