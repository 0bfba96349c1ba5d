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

"""The embedded placement: its database URL check, the `embedded` extra."""

import contextlib
import io
import os
import re
import subprocess
import sys
from unittest import mock

import fixtures
from oslo_config import cfg

import nova
from nova.embedded import placement
from nova import schema_check
from nova import test

# sys.modules entries of None make ``import placement...`` raise
# ImportError, as it does when the `embedded` extra is not installed.
_NO_PLACEMENT = {name: None for name in (
    'placement', 'placement.conf', 'placement.db_api', 'placement.deploy')}


class CheckConnectionTestCase(test.NoDBTestCase):

    def test_psycopg3_refused_with_the_way_out(self):
        # Its allocation writes would answer 500 on every claim.
        err = self.assertRaises(
            ValueError, placement.check_connection,
            'postgresql+psycopg://placement:pw@db-host/placement')
        self.assertIn('postgresql+psycopg driver', str(err))
        self.assertIn('use postgresql+psycopg2://', str(err))

    def test_drivers_placement_works_with(self):
        for url in ('postgresql+psycopg2://placement:pw@db-host/placement',
                    'postgresql://placement:pw@db-host/placement',
                    'mysql+pymysql://placement:pw@db-host/placement',
                    'sqlite:////var/lib/nova/placement.sqlite'):
            placement.check_connection(url)

    def test_command_line_says_it_in_one_line(self):
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            self.assertRaises(SystemExit, placement.main, [
                '--connection', 'postgresql+psycopg://p:pw@db-host/p'])
        self.assertIn('use postgresql+psycopg2://', stderr.getvalue())


class WithoutTheExtraTestCase(test.NoDBTestCase):
    """openstack-placement is the `embedded` extra, not a requirement."""

    def test_embedded_start_names_the_extra(self):
        with mock.patch.dict(sys.modules, _NO_PLACEMENT):
            err = self.assertRaises(placement.PlacementNotInstalled,
                                    placement.make_app, 'sqlite://')
        self.assertIn("the embedded placement needs the `embedded` extra: "
                      "pip install 'nova-vpmem[embedded]'", str(err))

    def test_command_line_names_the_extra_without_a_traceback(self):
        stderr = io.StringIO()
        with mock.patch.dict(sys.modules, _NO_PLACEMENT), \
                contextlib.redirect_stderr(stderr):
            self.assertRaises(SystemExit, placement.main,
                              ['--connection', 'sqlite://'])
        self.assertIn("pip install 'nova-vpmem[embedded]'",
                      stderr.getvalue())
        self.assertNotIn('Traceback', stderr.getvalue())

    def test_separate_services_never_import_placement(self):
        # A fresh interpreter: this test process has placement loaded
        # already. The service modules, the config generator's option
        # lists and the all-in-one's modules are imported, and placement
        # must still be absent.
        script = (
            'import sys\n'
            'import nova.cmd.api, nova.cmd.compute, nova.cmd.conductor\n'
            'import nova.cmd.manage, nova.conf.opts, nova.aio.cloud\n'
            'nova.conf.opts.list_opts()\n'
            'print(sorted(m for m in sys.modules\n'
            '             if m.split(".")[0] == "placement"))\n')
        result = subprocess.run([sys.executable, '-c', script],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('[]', result.stdout.strip())


class OnePostgreSQLDriverTestCase(test.NoDBTestCase):
    """psycopg2 serves both nova's database and the embedded placement's."""

    URL = 'postgresql+psycopg2://nova:pw@db.example/nova'

    def test_both_engines_build_for_the_same_url(self):
        # A fresh interpreter, as placement keeps one engine per process.
        # Engine.connect is mocked: oslo.db tries the connection when it
        # builds an engine, and no server is needed to prove the driver.
        script = '''
import sys
from unittest import mock

from oslo_config import cfg
import sqlalchemy

from nova.db import engine as nova_engine
from nova.embedded import placement as embedded

url = sys.argv[1]
with mock.patch.object(sqlalchemy.engine.Engine, 'connect'):
    embedded.check_connection(url)
    nova = nova_engine.create_engine(url)
    placement_conf, placement_db, _ = embedded._import_placement()
    config = cfg.ConfigOpts()
    placement_conf.register_opts(config)
    config.set_override('connection', url, group='placement_database')
    config([], project='placement', default_config_files=[])
    placement_db.configure(config)
    placement = placement_db.placement_context_manager.writer.get_engine()
for engine in (nova, placement):
    print(engine.dialect.name, engine.dialect.driver,
          engine.dialect.loaded_dbapi.__name__)
'''
        result = subprocess.run([sys.executable, '-c', script, self.URL],
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(['postgresql psycopg2 psycopg2'] * 2,
                         result.stdout.split('\n')[:-1])

    def test_configs_and_docs_name_that_driver(self):
        # Every PostgreSQL URL an operator may copy names psycopg2.
        top = os.path.join(os.path.dirname(nova.__file__), os.pardir)
        places = [os.path.join('doc', 'source', 'admin', 'deployment.rst')]
        services = os.path.join('etc', 'nova', 'services')
        places += [os.path.join(services, name)
                   for name in sorted(os.listdir(os.path.join(top, services)))
                   if name.endswith('.conf')]
        found = 0
        for place in places:
            with open(os.path.join(top, place)) as f:
                for url in re.findall(r'postgresql\+?\w*://', f.read()):
                    self.assertEqual('postgresql+psycopg2://', url, place)
                    found += 1
        self.assertGreaterEqual(found, 3)


class PooledConnectionsTestCase(test.NoDBTestCase):
    """Placement's SQLite file connections stay open between requests."""

    def _make_app(self, connection, engine):
        placement_db = mock.Mock(**{'get_placement_engine.return_value':
                                    engine})
        deploy = mock.Mock(**{'loadapp.return_value': 'the-app'})
        # Only the options make_app sets: placement's own registration
        # and its test fixtures share process-wide state.
        placement_conf = mock.Mock(register_opts=lambda conf: (
            conf.register_opts([cfg.StrOpt('connection'),
                                cfg.BoolOpt('sync_on_startup')],
                               group='placement_database'),
            conf.register_opt(cfg.StrOpt('auth_strategy'), group='api')))
        with mock.patch.object(placement, '_import_placement',
                               return_value=(placement_conf, placement_db,
                                             deploy)), \
                mock.patch.object(placement, 'check_schemas_once'):
            return placement.make_app(connection)

    def test_file_database_engine_gets_a_pool(self):
        from oslo_db.sqlalchemy import engines
        from sqlalchemy import pool as sa_pool
        url = 'sqlite:///%s' % os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'placement.sqlite')
        # As placement's enginefacade builds it: oslo.db's NullPool.
        engine = engines.create_engine(url, max_retries=0)
        self.addCleanup(engine.dispose)
        self.assertIsInstance(engine.pool, sa_pool.NullPool)
        app = self._make_app(url, engine)
        self.assertIsInstance(app, placement.SQLiteGuard)
        self.assertIsInstance(engine.pool, sa_pool.QueuePool)
        self.assertEqual(placement.SQLITE_POOL_SIZE, engine.pool.size())

    def test_memory_database_keeps_its_one_connection(self):
        from oslo_db.sqlalchemy import engines
        from sqlalchemy import pool as sa_pool
        engine = engines.create_engine('sqlite://', max_retries=0)
        self.addCleanup(engine.dispose)
        self._make_app('sqlite://', engine)
        self.assertIsInstance(engine.pool, sa_pool.StaticPool)


class SchemaCheckedOnceTestCase(test.NoDBTestCase):
    """Placement's request validation, its schema checked once."""

    SCHEMA = {'type': 'object', 'required': ['a'],
              'properties': {'a': {'type': 'integer'}}}

    def setUp(self):
        super().setUp()
        import jsonschema
        self.jsonschema = jsonschema
        self.checked = placement.SchemaCheckedOnce
        self.table = schema_check.CheckedSchemas()
        self.useFixture(fixtures.MockPatchObject(schema_check, 'CHECKED',
                                                 self.table))

    def test_validate_goes_through_the_process_table(self):
        module = self.checked(self.jsonschema)
        for _ in range(2):
            module.validate({'a': 1}, self.SCHEMA,
                            format_checker=self.jsonschema.FormatChecker())
        self.assertEqual(1, len(self.table))
        self.assertRaises(self.jsonschema.ValidationError, module.validate,
                          {'a': 'x'}, self.SCHEMA)
        # Everything else is the module's own.
        self.assertIs(self.jsonschema.ValidationError,
                      module.ValidationError)

    def test_installed_once_on_placement_util(self):
        util = mock.Mock(jsonschema=self.jsonschema)
        placement.check_schemas_once(util)
        installed = util.jsonschema
        self.assertIsInstance(installed, self.checked)
        placement.check_schemas_once(util)
        self.assertIs(installed, util.jsonschema)
        placement.check_schemas_once(None)
