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

"""Misspelt groups and options, and the missing database connection."""

import configparser
import os
import subprocess
import sys
import textwrap

import fixtures
from oslo_config import cfg

import nova
from nova.cmd import config_check
from nova import exception
from nova import test

TOP = os.path.dirname(os.path.dirname(os.path.abspath(nova.__file__)))
GENERATOR_CONF = os.path.join(TOP, 'etc', 'nova',
                              'nova-config-generator.conf')

# What tools/run-services.sh writes: nothing in it is unknown.
GOOD_CONF = """
    [DEFAULT]
    host = h
    transport_url = fake://
    rpc_thread_pool_size = 8
    [database]
    connection = sqlite:///$state_path/nova.sqlite
    max_pool_size = 3
    [api]
    auth_strategy = noauth2
    [placement]
    auth_type = admin_token
    endpoint = http://127.0.0.1:8778
    token = admin
    [libvirt]
    pmem_namespaces = SMALL:ns0|ns1
    [oslo_messaging_rabbit]
    heartbeat_rate = 3
    [oslo_policy]
    enforce_new_defaults = true
    [keystone_authtoken]
    auth_type = password
    username = nova
    """


class ConfigFileTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, text, name='nova.conf'):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path


class UnknownOptionsTestCase(ConfigFileTestCase):

    def test_a_valid_file_has_no_unknown_options(self):
        # Library groups registered only later ([oslo_messaging_rabbit],
        # [oslo_policy]), deprecated names and the auth plugin's options
        # ([placement] token) are all known.
        path = self.write(GOOD_CONF)
        self.assertEqual([], config_check.unknown_options(self.conf,
                                                          [path]))

    def test_misspelt_group_and_option_are_named(self):
        path = self.write("""
            [databse]
            connection = sqlite://
            [database]
            max_pool_szie = 3
            """)
        problems = config_check.unknown_options(self.conf, [path])
        self.assertEqual(2, len(problems), problems)
        self.assertIn('[databse] in %s is not an option group of '
                      'nova-vpmem (did you mean [database]?)' % path,
                      problems[0])
        self.assertIn('[database] max_pool_szie in %s is not an option of '
                      'nova-vpmem (did you mean max_pool_size?)' % path,
                      problems[1])
        # What it means for the operator.
        self.assertIn('ignores it', problems[1])
        self.assertIn('another service sharing this file', problems[1])

    def test_a_bad_value_does_not_break_the_check(self):
        path = self.write("""
            [DEFAULT]
            report_interval = often
            reprot_interval = 10
            """)
        self.conf(['--config-file', path], project='nova',
                  default_config_files=[])
        problems = config_check.unknown_options(self.conf, [path])
        self.assertEqual(1, len(problems), problems)
        self.assertIn('[DEFAULT] reprot_interval', problems[0])

    def test_options_oslo_db_has_but_we_do_not_honour_are_unknown(self):
        path = self.write("""
            [database]
            slave_connection = sqlite://
            use_db_reconnect = true
            """)
        problems = config_check.unknown_options(self.conf, [path])
        self.assertEqual(2, len(problems), problems)

    def test_a_warning_per_problem_at_start(self):
        path = self.write("""
            [databse]
            connection = sqlite://
            [api]
            auth_stratgy = noauth2
            """)
        self.conf(['--config-file', path], project='nova',
                  default_config_files=[])
        logger = self.useFixture(fixtures.FakeLogger(
            name=config_check.__name__))
        config_check.warn_unknown_options(self.conf)
        lines = logger.output.strip().splitlines()
        self.assertEqual(2, len(lines), lines)
        self.assertIn('[databse]', lines[0])
        self.assertIn('[api] auth_stratgy', lines[1])

    def test_start_refuses_without_a_connection(self):
        path = self.write("""
            [databse]
            connection = sqlite://
            """)
        self.conf(['--config-file', path], project='nova',
                  default_config_files=[])
        self.conf.clear_override('connection', group='database')
        self.useFixture(fixtures.FakeLogger(name=config_check.__name__))
        exc = self.assertRaises(exception.InvalidConfiguration,
                                config_check.check_service_config,
                                self.conf)
        self.assertIn('[database]connection is not set', str(exc))
        self.assertIn('[database] section of %s' % path, str(exc))
        self.assertIn('[databse] in the file is not [database]', str(exc))

    def test_start_goes_on_with_a_connection(self):
        path = self.write(GOOD_CONF)
        self.conf(['--config-file', path], project='nova',
                  default_config_files=[])
        logger = self.useFixture(fixtures.FakeLogger(
            name=config_check.__name__))
        config_check.check_service_config(self.conf)
        self.assertEqual('', logger.output)


class ValidateTestCase(ConfigFileTestCase):

    def test_namespaces_are_those_of_the_sample(self):
        parser = configparser.ConfigParser(strict=False)
        parser.read_string(_multi_to_lines(GENERATOR_CONF))
        self.assertEqual(list(config_check.NAMESPACES),
                         parser['DEFAULT']['namespace'].split())

    def test_validator_names_file_group_and_option(self):
        path = self.write("""
            [databse]
            connection = sqlite://
            [database]
            max_pool_szie = 3
            [DEFAULT]
            logfile = /var/log/nova.log
            """)
        errors, warnings = config_check.validate_file(path)
        self.assertEqual(
            ['%s: [databse] connection is not an option of nova-vpmem.'
             % path,
             '%s: [database] max_pool_szie is not an option of nova-vpmem.'
             % path], errors)
        self.assertEqual(1, len(warnings), warnings)
        self.assertIn('[DEFAULT] logfile is a deprecated name', warnings[0])

    def test_validator_accepts_a_valid_file(self):
        # rpc_thread_pool_size is a deprecated name: a warning only.
        errors, warnings = config_check.validate_file(self.write(GOOD_CONF))
        self.assertEqual([], errors)
        self.assertEqual(1, len(warnings), warnings)

    def test_command_exit_status(self):
        good = self.write(GOOD_CONF, 'good.conf')
        bad = self.write('[databse]\nconnection = sqlite://\n', 'bad.conf')
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        conf = cfg.ConfigOpts()
        conf(['--config-file', good], default_config_files=[])
        self.assertEqual(0, config_check.ConfigCommands(conf).validate())
        conf = cfg.ConfigOpts()
        conf(['--config-file', good, '--config-file', bad],
             default_config_files=[])
        self.assertEqual(1, config_check.ConfigCommands(conf).validate())
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[])
        self.assertEqual(1, config_check.ConfigCommands(conf).validate())
        out.stream.flush()
        text = out.getDetails()['stdout'].as_text()
        self.assertIn('No unknown option in %s.' % good, text)
        self.assertIn('%s: [databse] connection' % bad, text)
        self.assertIn('No config file was read', text)


def _multi_to_lines(path):
    # configparser keeps the last of repeated keys: join them instead.
    lines, namespaces = [], []
    with open(path) as f:
        for line in f:
            key, _, value = line.partition('=')
            if key.strip() == 'namespace':
                namespaces.append(value.strip())
            else:
                lines.append(line)
    return ''.join(lines) + 'namespace = %s\n' % ' '.join(namespaces)


class CommandLineTestCase(ConfigFileTestCase):
    """The console scripts, run as operators run them."""

    def run_script(self, name, *args):
        binary = os.path.join(os.path.dirname(sys.executable), name)
        return subprocess.run([binary] + list(args), capture_output=True,
                              text=True, timeout=120, cwd=self.tmp)

    def _misspelt_conf(self):
        self.state = os.path.join(self.tmp, 'state')
        return self.write("""
            [DEFAULT]
            state_path = %s
            transport_url = fake://
            [databse]
            connection = sqlite:///$state_path/nova.sqlite
            """ % self.state)

    def test_manage_db_version_without_connection(self):
        path = self._misspelt_conf()
        result = self.run_script('nova-manage', '--config-file', path,
                                 'db', 'version')
        self.assertEqual(1, result.returncode)
        self.assertEqual('', result.stdout)
        self.assertEqual(
            ['nova-manage db version failed: InvalidConfiguration: '
             'Configuration is invalid: [database]connection is not set: '
             'put e.g. "connection = mysql+pymysql://nova:SECRET@db-host/'
             'nova" in the [database] section of %s ([databse] in the file '
             'is not [database])' % path],
            result.stderr.strip().splitlines())
        self.assertFalse(os.path.exists(self.state))
        self.assertEqual(['nova.conf'], os.listdir(self.tmp))

    def test_services_refuse_to_start_without_connection(self):
        path = self._misspelt_conf()
        for binary in ('nova-conductor', 'nova-compute', 'nova-api'):
            result = self.run_script(binary, '--config-file', path)
            # oslo.log writes to stdout without a log file.
            log = result.stdout + result.stderr
            self.assertEqual(1, result.returncode, log)
            self.assertIn('%s could not start: InvalidConfiguration: '
                          'Configuration is invalid: [database]connection '
                          'is not set' % binary, log)
            self.assertIn('WARNING nova.cmd.config_check [-] [databse] in '
                          '%s is not an option group' % path, log)
            self.assertFalse(os.path.exists(self.state))

    def test_manage_config_validate(self):
        path = self._misspelt_conf()
        result = self.run_script('nova-manage', '--config-file', path,
                                 'config', 'validate')
        self.assertEqual(1, result.returncode, result.stderr)
        self.assertIn('%s: [databse] connection is not an option of '
                      'nova-vpmem.' % path, result.stdout)
        self.assertEqual('', result.stderr)
