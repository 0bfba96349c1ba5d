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

"""The multinode tier's servers without starting one: the commands and
files they get, the SQL they run, and how they are stopped (by PID)."""

import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from unittest import mock

import fixtures

from nova import test
from nova.tests.multinode import infra

ADDRESSES = ('127.0.0.1', '10.77.0.1')


def _completed(returncode=0, stdout='', stderr=''):
    return subprocess.CompletedProcess([], returncode, stdout, stderr)


class PackagesTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.run = self.useFixture(fixtures.MockPatch('subprocess.run')).mock
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=0))

    def test_installed_reads_the_dpkg_status(self):
        self.run.side_effect = [_completed(0, 'install ok installed'),
                                _completed(0, 'deinstall ok config-files'),
                                _completed(1, '', 'no packages found')]
        self.assertEqual([True, False, False],
                         [infra.installed(name) for name in 'abc'])
        self.assertEqual(['dpkg-query', '-W', '-f=${Status}', 'a'],
                         self.run.call_args_list[0].args[0])

    @mock.patch.object(infra, 'installed', return_value=True)
    def test_nothing_missing_installs_nothing(self, installed):
        self.assertEqual([], infra.ensure_packages(['rabbitmq-server']))
        self.run.assert_not_called()

    @mock.patch('os.geteuid', return_value=1000)
    @mock.patch.object(infra, 'installed', return_value=False)
    def test_missing_without_root_says_how(self, installed, geteuid):
        exc = self.assertRaises(infra.InfraError, infra.ensure_packages,
                                ['mariadb-server'])
        self.assertIn('apt-get install --no-install-recommends '
                      'mariadb-server', str(exc))
        self.run.assert_not_called()

    @mock.patch.object(infra, 'installed')
    def test_installs_only_the_missing_ones(self, installed):
        # postgresql is there; the others are once apt-get has run.
        installed.side_effect = lambda name: (name == 'postgresql' or
                                              self.run.called)
        self.run.return_value = _completed()
        self.assertEqual(['rabbitmq-server', 'mariadb-server'],
                         infra.ensure_packages(['rabbitmq-server',
                                                'postgresql',
                                                'mariadb-server']))
        self.assertEqual(1, self.run.call_count)
        argv = self.run.call_args.args[0]
        self.assertEqual('apt-get', argv[0])
        self.assertEqual(['install', '--no-install-recommends',
                          'rabbitmq-server', 'mariadb-server'], argv[-4:])
        self.assertIn('DPkg::Lock::Timeout=300', argv)
        self.assertEqual('noninteractive',
                         self.run.call_args.kwargs['env']['DEBIAN_FRONTEND'])

    @mock.patch.object(infra, 'installed', return_value=False)
    def test_failed_install_updates_the_lists_once_then_reports(
            self, installed):
        self.run.return_value = _completed(
            100, '', 'E: Unable to locate package rabbitmq-server')
        exc = self.assertRaises(infra.InfraError, infra.ensure_packages,
                                ['rabbitmq-server'])
        self.assertIn('failed with status 100', str(exc))
        self.assertIn('Unable to locate package', str(exc))
        self.assertEqual(['rabbitmq-server', 'update', 'rabbitmq-server'],
                         [c.args[0][-1] for c in self.run.call_args_list])

    @mock.patch.object(infra, 'installed', return_value=False)
    def test_install_that_leaves_a_package_out_is_an_error(self, installed):
        self.run.return_value = _completed()
        exc = self.assertRaises(infra.InfraError, infra.ensure_packages,
                                ['postgresql'])
        self.assertIn('did not install postgresql', str(exc))


class ProcessesTest(test.NoDBTestCase):

    def _sleeper(self, marker):
        process = subprocess.Popen(
            [sys.executable, '-c', 'import time; time.sleep(60)'],
            env=dict(os.environ, **{infra.OWNER_ENV: marker}))
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        return process

    def test_marked_processes_are_found_and_terminated_by_pid(self):
        ours = self._sleeper('/x/rabbitmq')
        other = self._sleeper('/x/rabbitmq-other')
        self.assertEqual([ours.pid], infra.marked_pids('/x/rabbitmq'))
        self.assertTrue(infra.owned(ours.pid, '/x/rabbitmq'))
        self.assertFalse(infra.owned(other.pid, '/x/rabbitmq'))
        infra.terminate(ours.pid, reap=ours)
        self.assertEqual(-signal.SIGTERM, ours.wait(5))
        self.assertFalse(infra.alive(ours.pid))
        self.assertEqual([], infra.marked_pids('/x/rabbitmq'))
        self.assertIsNone(other.poll())

    def test_alive_is_false_for_none_and_unknown_pids(self):
        self.assertFalse(infra.alive(None))
        self.assertFalse(infra.alive(2 ** 22 + 1))
        self.assertTrue(infra.alive(os.getpid()))

    @mock.patch('time.sleep')
    @mock.patch('os.kill')
    @mock.patch.object(infra, 'alive')
    def test_terminate_escalates_to_sigkill(self, alive, kill, sleep):
        alive.side_effect = [True] + [True] * 3 + [False]
        with mock.patch('time.monotonic', side_effect=[0, 1, 99, 99, 99]):
            infra.terminate(1234, signal.SIGINT, timeout=10)
        self.assertEqual([mock.call(1234, signal.SIGINT),
                          mock.call(1234, signal.SIGKILL)],
                         kill.call_args_list)

    @mock.patch('os.kill')
    def test_terminate_of_a_gone_process_sends_nothing(self, kill):
        infra.terminate(None)
        infra.terminate(2 ** 22 + 1)
        kill.assert_not_called()

    def test_short_dir_links_long_paths_for_sockets(self):
        base = self.useFixture(fixtures.TempDir()).path
        self.assertEqual(base, infra._short_dir(base))
        deep = os.path.join(base, 'd' * infra.MAX_SOCKET_DIR)
        os.makedirs(deep)
        link = infra._short_dir(deep)
        self.addCleanup(os.unlink, link)
        self.assertTrue(link.startswith(tempfile.gettempdir()))
        self.assertEqual(deep, os.readlink(link))
        self.assertEqual(link, infra._short_dir(deep))

    def test_default_networks(self):
        self.assertEqual(['127.0.0.1/32', '10.77.0.0/24'],
                         infra.default_networks(ADDRESSES + ('10.77.0.1',)))

    def test_pid_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'p')
        self.assertIsNone(infra._pid_from_file(path))
        for text, pid in (('4242\n/data\n', 4242), ('1\n', None),
                          ('', None), ('x', None)):
            with open(path, 'w') as f:
                f.write(text)
            self.assertEqual(pid, infra._pid_from_file(path))


class _FakeServer(infra.Server):
    name = 'fake'
    user = 'nobody'

    def _command(self):
        return ['fake-daemon']


class ServerLifecycleTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        for name in ('_daemon_user', '_chown_tree', '_make_traversable'):
            self.useFixture(fixtures.MockPatchObject(
                infra, name, return_value=(65534, 65534)))
        self.popen = self.useFixture(fixtures.MockPatch(
            'subprocess.Popen')).mock
        self.useFixture(fixtures.MockPatch('time.sleep'))

    def test_stop_of_a_stopped_server_is_harmless(self):
        server = _FakeServer(self.base)
        server.stop()
        server.stop()
        self.assertIsNone(server.pid)

    @mock.patch.object(infra, 'marked_pids', return_value=[])
    def test_exit_while_starting_reports_the_log(self, marked):
        server = _FakeServer(self.base, ADDRESSES, 9)
        self.popen.return_value.poll.return_value = 3
        os.makedirs(server.dir)
        with open(server.log_path, 'w') as f:
            f.write('starting\nbind: Address already in use\n')
        with mock.patch.object(_FakeServer, '_ready', return_value=False):
            exc = self.assertRaises(infra.InfraError, server.start)
        self.assertIn('fake exited with status 3', str(exc))
        self.assertIn('Address already in use', str(exc))
        kwargs = self.popen.call_args.kwargs
        self.assertEqual(server.dir, kwargs['env'][infra.OWNER_ENV])
        self.assertEqual((65534, 65534, []), (
            kwargs['user'], kwargs['group'], kwargs['extra_groups']))
        self.assertTrue(kwargs['start_new_session'])

    @mock.patch.object(infra, 'alive', return_value=True)
    def test_start_waits_until_ready_and_twice_is_harmless(self, alive):
        server = _FakeServer(self.base, ADDRESSES, 9)
        self.popen.return_value.poll.return_value = None
        self.popen.return_value.pid = 4242
        with mock.patch.object(_FakeServer, '_ready',
                               side_effect=[False, False, True]):
            self.assertIs(server, server.start())
        self.assertEqual(4242, server.pid)
        server.start()
        self.assertEqual(1, self.popen.call_count)

    def test_ready_needs_every_address(self):
        server = _FakeServer(self.base, ADDRESSES, 9)
        with mock.patch.object(infra, '_connectable',
                               side_effect=lambda a, p: a == '127.0.0.1'):
            self.assertFalse(server._ready())
        self.assertEqual('10.77.0.1', server.address)
        self.assertEqual('127.0.0.1', _FakeServer(self.base).address)

    @mock.patch.object(infra, 'owned', return_value=True)
    @mock.patch.object(infra, 'marked_pids', return_value=[77])
    @mock.patch.object(infra, 'terminate')
    def test_stop_uses_the_pid_file_then_the_marked_leftovers(
            self, terminate, marked, owned):
        server = infra.MariaDB(self.base, ADDRESSES)
        os.makedirs(server.dir)
        with open(server.pid_file, 'w') as f:
            f.write('4242\n')
        with mock.patch.object(infra, 'alive', return_value=True):
            self.assertEqual(4242, server.pid)
        server.stop()
        self.assertEqual([mock.call(4242, signal.SIGTERM, reap=None),
                          mock.call(77)], terminate.call_args_list)
        owned.assert_called_with(4242, server.dir)
        self.assertFalse(os.path.exists(server.pid_file))

    @mock.patch.object(infra, 'owned', return_value=False)
    @mock.patch.object(infra, 'marked_pids', return_value=[])
    @mock.patch.object(infra, 'terminate')
    def test_a_pid_file_of_another_process_is_not_ours(
            self, terminate, marked, owned):
        server = infra.PostgreSQL(self.base, ADDRESSES)
        os.makedirs(server.data_dir)
        with open(server.pid_file, 'w') as f:
            f.write('4242\n')
        server.stop()
        terminate.assert_not_called()

    def test_stop_all_keeps_going_and_reports_every_failure(self):
        servers = [mock.Mock(), mock.Mock(), mock.Mock()]
        for index, server in enumerate(servers):
            server.name = 's%d' % index
        servers[2].stop.side_effect = RuntimeError('boom')
        servers[0].stop.side_effect = RuntimeError('bang')
        exc = self.assertRaises(infra.InfraError, infra.stop_all, servers)
        self.assertEqual('stopping servers: s2: boom; s0: bang', str(exc))
        for server in servers:
            server.stop.assert_called_once_with()

    def test_running_stops_what_it_started_when_one_fails(self):
        first, second, third = mock.Mock(), mock.Mock(), mock.Mock()
        second.start.side_effect = infra.InfraError('no')

        def use():
            with infra.running(first, second, third):
                self.fail('the block ran')
        with mock.patch.object(infra, 'stop_all') as stop_all:
            self.assertRaises(infra.InfraError, use)
        stop_all.assert_called_once_with([first, second])
        third.start.assert_not_called()


class RabbitMQTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.rabbit = infra.RabbitMQ(self.base, ADDRESSES)

    def test_environment_binds_epmd_and_distribution(self):
        env = self.rabbit._env()
        self.assertEqual('127.0.0.1,10.77.0.1', env['ERL_EPMD_ADDRESS'])
        self.assertEqual('4369', env['ERL_EPMD_PORT'])
        self.assertEqual('25672', env['RABBITMQ_DIST_PORT'])
        for key in ('RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS',
                    'RABBITMQ_CTL_ERL_ARGS'):
            self.assertEqual('-kernel inet_dist_use_interface {127,0,0,1}',
                             env[key])
        for key in ('RABBITMQ_MNESIA_BASE', 'RABBITMQ_LOG_BASE',
                    'RABBITMQ_PID_FILE', 'RABBITMQ_CONFIG_FILE',
                    'RABBITMQ_CONF_ENV_FILE', 'HOME'):
            self.assertTrue(env[key].startswith(self.rabbit.dir + '/'), key)
        self.assertEqual('nmn-rabbit@localhost', env['RABBITMQ_NODENAME'])

    def test_other_ports_get_their_own_epmd(self):
        rabbit = infra.RabbitMQ(self.base, port=5682)
        self.assertEqual(('4379', '25682'), (
            rabbit._env()['ERL_EPMD_PORT'], rabbit._env()[
                'RABBITMQ_DIST_PORT']))
        self.assertEqual(4400, infra.RabbitMQ(self.base, epmd_port=4400)
                         .epmd_port)

    def test_prepare_writes_one_listener_per_address_and_a_cookie(self):
        self.rabbit._prepare(0, 0)
        with open(os.path.join(self.rabbit.dir, 'rabbitmq.conf')) as f:
            conf = f.read()
        self.assertIn('listeners.tcp.1 = 127.0.0.1:5672\n', conf)
        self.assertIn('listeners.tcp.2 = 10.77.0.1:5672\n', conf)
        self.assertNotIn('0.0.0.0', conf)
        cookie = os.path.join(self.rabbit.dir, 'home', '.erlang.cookie')
        self.assertEqual(0o400, os.stat(cookie).st_mode & 0o777)
        with open(cookie) as f:
            first = f.read()
        self.rabbit._prepare(0, 0)
        with open(cookie) as f:
            self.assertEqual(first, f.read())
        with open(os.path.join(self.rabbit.dir, 'enabled_plugins')) as f:
            self.assertEqual('[].\n', f.read())

    def test_password_hash_is_rabbits_salted_sha256(self):
        encoded = infra._rabbit_password_hash('secret', b'\x01\x02\x03\x04')
        raw = base64.b64decode(encoded)
        self.assertEqual(b'\x01\x02\x03\x04', raw[:4])
        self.assertEqual(hashlib.sha256(b'\x01\x02\x03\x04secret').digest(),
                         raw[4:])

    @mock.patch('os.chown')
    @mock.patch.object(infra, '_daemon_user', return_value=(104, 108))
    def test_vhost_and_user_in_one_definitions_import(self, user, chown):
        os.makedirs(self.rabbit.dir)
        imported = {}

        def ctl(*args):
            with open(args[1]) as f:
                imported.update(json.load(f))
        with mock.patch.object(self.rabbit, 'ctl', side_effect=ctl) as call:
            url = self.rabbit.ensure_vhost_user('nova/ci', 'nova', 'p@ss:')
        self.assertEqual('import_definitions', call.call_args.args[0])
        self.assertFalse(os.path.exists(call.call_args.args[1]))
        self.assertEqual([{'name': 'nova/ci'}], imported['vhosts'])
        self.assertEqual('nova', imported['users'][0]['name'])
        self.assertEqual({'user': 'nova', 'vhost': 'nova/ci',
                          'configure': '.*', 'write': '.*', 'read': '.*'},
                         imported['permissions'][0])
        self.assertEqual('rabbit://nova:p%40ss%3A@10.77.0.1:5672/nova%2Fci',
                         url)
        self.assertEqual(url, self.rabbit.transport_url)
        self.assertEqual('rabbit://nova:p%40ss%3A@127.0.0.1:5672/nova%2Fci',
                         self.rabbit.url('127.0.0.1'))

    def test_consumers_and_waiting_for_them(self):
        listings = ['q1\t0\nq2\t1\n', 'q1\t1\nq2\t1\nq3_fanout_x\t1\n']
        with mock.patch.object(self.rabbit, 'ctl',
                               side_effect=listings) as ctl, \
                mock.patch('time.sleep'):
            self.assertEqual({'q1': 1, 'q2': 1, 'q3_fanout_x': 1},
                             self.rabbit.wait_for_consumers('v', ['q1']))
        self.assertEqual(2, ctl.call_count)
        self.assertEqual(('list_queues', '-p', 'v', '--no-table-headers',
                          'name', 'consumers'), ctl.call_args.args)

    def test_waiting_for_consumers_times_out_naming_the_queues(self):
        with mock.patch.object(self.rabbit, 'ctl', return_value=''), \
                mock.patch('time.sleep'), \
                mock.patch('time.monotonic', side_effect=[0, 5, 99]):
            exc = self.assertRaises(infra.InfraError,
                                    self.rabbit.wait_for_consumers, 'v',
                                    ['compute.host1', 'conductor'], 10)
        self.assertIn('compute.host1, conductor within 10 s', str(exc))

    def test_url_needs_a_user(self):
        self.assertRaises(infra.InfraError, self.rabbit.url)

    @mock.patch.object(infra, '_daemon_user', return_value=(104, 108))
    @mock.patch('subprocess.run', return_value=_completed(0, 'ok\n'))
    def test_ctl_runs_as_the_daemon_user_with_the_marker(self, run, user):
        self.assertEqual('ok\n', self.rabbit.ctl('list_vhosts'))
        argv = run.call_args.args[0]
        self.assertEqual(['-q', '-n', 'nmn-rabbit@localhost',
                          'list_vhosts'], argv[1:])
        kwargs = run.call_args.kwargs
        self.assertEqual((104, 108), (kwargs['user'], kwargs['group']))
        self.assertEqual(self.rabbit.dir, kwargs['env'][infra.OWNER_ENV])

    @mock.patch.object(infra, '_daemon_user', return_value=(104, 108))
    @mock.patch('subprocess.run',
                return_value=_completed(69, '', 'Error: unable to connect'))
    def test_ctl_failure_says_what_failed(self, run, user):
        exc = self.assertRaises(infra.InfraError, self.rabbit.ctl, 'status')
        self.assertIn('rabbitmqctl failed with status 69', str(exc))
        self.assertIn('unable to connect', str(exc))


class MariaDBTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.db = infra.MariaDB(self.base, ADDRESSES)
        self.run = self.useFixture(fixtures.MockPatchObject(
            infra, '_run', return_value='')).mock

    def test_command_binds_the_addresses_and_keeps_to_its_dir(self):
        argv = self.db._command()
        self.assertEqual(['mariadbd', '--no-defaults'], argv[:2])
        self.assertIn('--bind-address=127.0.0.1,10.77.0.1', argv)
        self.assertIn('--port=3306', argv)
        for option in ('--datadir', '--socket', '--pid-file',
                       '--log-error'):
            value = next(a for a in argv if a.startswith(option + '='))
            self.assertTrue(value.split('=', 1)[1].startswith(self.db.dir))

    @mock.patch.object(infra, '_daemon_user', return_value=(102, 106))
    def test_prepare_initialises_once_and_creates_the_log(self, user):
        self.db._prepare(102, 106)
        argv = self.run.call_args.args[0]
        self.assertEqual(['mariadb-install-db', '--no-defaults'], argv[:2])
        self.assertIn('--auth-root-authentication-method=socket', argv)
        self.assertTrue(os.path.exists(self.db.log_path))
        os.makedirs(os.path.join(self.db.data_dir, 'mysql'))
        self.run.reset_mock()
        self.db._prepare(102, 106)
        self.run.assert_not_called()

    def test_create_database_for_loopback_and_the_bridge(self):
        url = self.db.create_database('nova_ci', 'nova', "it's\\x")
        sql = self.run.call_args.kwargs['input']
        self.assertIn('CREATE DATABASE IF NOT EXISTS `nova_ci`;', sql)
        for host in ('127.0.0.1', '10.77.0.%'):
            self.assertIn("CREATE USER IF NOT EXISTS 'nova'@'%s';" % host,
                          sql)
            self.assertIn("ALTER USER 'nova'@'%s' IDENTIFIED BY "
                          "'it\\'s\\\\x';" % host, sql)
            self.assertIn("GRANT ALL PRIVILEGES ON `nova_ci`.* TO "
                          "'nova'@'%s';" % host, sql)
        self.assertIn('--user=root', self.run.call_args.args[0])
        self.assertEqual("mysql+pymysql://nova:it%27s%5Cx@10.77.0.1:3306/"
                         "nova_ci?charset=utf8mb4", url)

    def test_create_database_with_given_hosts_and_address(self):
        url = self.db.create_database('p', 'u', 'pw', hosts=['%'],
                                      address='127.0.0.1')
        self.assertIn("'u'@'%'", self.run.call_args.kwargs['input'])
        self.assertEqual('mysql+pymysql://u:pw@127.0.0.1:3306/p'
                         '?charset=utf8mb4', url)

    def test_names_that_would_break_the_sql_are_refused(self):
        for name, user, hosts in (('a`b', 'u', None), ('d', "u'", None),
                                  ('d', 'u', ["h'"]), ('', 'u', None)):
            self.assertRaises(ValueError, self.db.create_database, name,
                              user, 'pw', hosts)
        self.run.assert_not_called()


class PostgreSQLTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path
        self.db = infra.PostgreSQL(self.base, ADDRESSES)
        self.useFixture(fixtures.MockPatchObject(
            infra.PostgreSQL, 'bin_dir', return_value='/pg/bin'))
        self.run = self.useFixture(fixtures.MockPatchObject(
            infra, '_run', return_value='')).mock
        self.useFixture(fixtures.MockPatchObject(
            infra, '_daemon_user', return_value=(101, 104)))

    def test_prepare_runs_initdb_once_and_writes_pg_hba(self):
        self.db._prepare(101, 104)
        argv = self.run.call_args.args[0]
        self.assertEqual(['/pg/bin/initdb', '-D', self.db.data_dir], argv[:3])
        self.assertIn('--auth-host=scram-sha-256', argv)
        with open(os.path.join(self.db.data_dir, 'PG_VERSION'), 'w'):
            pass
        self.run.reset_mock()
        self.db._prepare(101, 104)
        self.run.assert_not_called()
        with open(os.path.join(self.db.data_dir, 'pg_hba.conf')) as f:
            self.assertEqual('local all postgres peer\n'
                             'host all all 127.0.0.1/32 scram-sha-256\n'
                             'host all all 10.77.0.0/24 scram-sha-256\n',
                             f.read())

    def test_command_listens_on_the_addresses_only(self):
        argv = self.db._command()
        self.assertEqual(['/pg/bin/postgres', '-D', self.db.data_dir],
                         argv[:3])
        self.assertIn('listen_addresses=127.0.0.1,10.77.0.1', argv)
        self.assertIn('unix_socket_directories=%s' % self.db.dir, argv)
        self.assertEqual(signal.SIGINT, self.db.stop_signal)

    def test_create_database_passes_values_as_psql_variables(self):
        url = self.db.create_database('nova_ci', 'nova', "pw'; DROP")
        argv = self.run.call_args.args[0]
        self.assertIn("password=pw'; DROP", argv)
        self.assertIn('user=nova', argv)
        self.assertIn('db=nova_ci', argv)
        script = self.run.call_args.args[1]
        self.assertNotIn('DROP', script)
        self.assertIn("PASSWORD :'password'", script)
        self.assertEqual('postgresql+psycopg2://nova:pw%27%3B%20DROP@'
                         '10.77.0.1:5432/nova_ci', url)

    def test_given_networks_replace_the_defaults(self):
        db = infra.PostgreSQL(self.base, ADDRESSES, networks=['10.0.0.0/8'])
        self.assertEqual(['10.0.0.0/8'], db.networks)


class ListeningTest(test.NoDBTestCase):

    SS = ('LISTEN 0 128 0.0.0.0:2024 0.0.0.0:*\n'
          'LISTEN 0 80 10.77.0.1:3306 0.0.0.0:* '
          'users:(("mariadbd",pid=10,fd=22))\n'
          'LISTEN 0 80 127.0.0.1:3306 0.0.0.0:* '
          'users:(("mariadbd",pid=10,fd=21))\n')

    def setUp(self):
        super().setUp()
        self.servers = [infra.MariaDB('/b', ADDRESSES)]
        self.useFixture(fixtures.MockPatchObject(
            infra, 'marked_pids', return_value=[10]))
        self.useFixture(fixtures.MockPatchObject(
            infra, '_read', return_value='mariadbd\n'))

    def test_only_our_sockets_are_listed(self):
        with mock.patch.object(infra, '_run', return_value=self.SS):
            self.assertEqual('mariadb(mariadbd) 10.77.0.1:3306 '
                             '127.0.0.1:3306', infra.listening(self.servers))

    def test_a_wildcard_address_of_ours_is_an_error(self):
        ss = self.SS + ('LISTEN 0 80 0.0.0.0:3306 0.0.0.0:* '
                        'users:(("mariadbd",pid=10,fd=23))\n')
        with mock.patch.object(infra, '_run', return_value=ss):
            self.assertRaises(infra.InfraError, infra.listening,
                              self.servers)


class ProbesTest(test.NoDBTestCase):

    def test_sql_probe_survives_a_reconnect(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'db')
        probe = infra.SqlProbe('sqlite:///%s' % path)
        self.addCleanup(probe.close)
        self.assertEqual(1, probe.write_read('first'))
        probe.engine.dispose()
        self.assertEqual(2, probe.write_read('second'))


class MainTest(test.NoDBTestCase):

    @mock.patch('os.geteuid', return_value=1000)
    def test_needs_root(self, geteuid):
        stderr = self.useFixture(fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.assertRaises(SystemExit, infra.main,
                          ['check', '--base-dir', '/tmp/x'])

    @mock.patch('signal.signal')
    @mock.patch('os.geteuid', return_value=0)
    @mock.patch.object(infra, 'stop_all')
    def test_stop_stops_all_three_by_their_pid_files(self, stop_all,
                                                     geteuid, sig):
        self.assertEqual(0, infra.main(['stop', '--base-dir', '/tmp/x']))
        servers = stop_all.call_args.args[0]
        self.assertEqual(['rabbitmq', 'mariadb', 'postgresql'],
                         [s.name for s in servers])
        self.assertEqual({'/tmp/x'}, {s.base_dir for s in servers})
        sig.assert_called_once_with(signal.SIGTERM, infra._raise_interrupt)

    @mock.patch('signal.signal')
    @mock.patch('os.geteuid', return_value=0)
    @mock.patch.object(infra, 'check', return_value=0)
    def test_check_listens_on_loopback_and_the_address(self, check,
                                                       geteuid, sig):
        infra.main(['check', '--base-dir', '/b', '--address', '10.77.0.1'])
        check.assert_called_once_with('/b', '10.77.0.1')
