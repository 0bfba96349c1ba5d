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

"""Tests of the option groups: registration, parsing, and the generator."""

import os
import subprocess
import sys
import textwrap

import fixtures
from oslo_config import cfg

import nova.conf
from nova.conf import opts
from nova import test

CONF = nova.conf.CONF


class TestOptionGroups(test.NoDBTestCase):

    def _write_conf(self, text):
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.conf')
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
        return path

    def test_issue_groups_are_registered(self):
        groups = {str(group) for group, _ in opts.list_opts()}
        self.assertEqual(
            {'DEFAULT', 'api', 'compute', 'database', 'libvirt',
             'placement', 'nova_sys_admin', 'filter_scheduler', 'wsgi'},
            groups)

    def test_defaults(self):
        self.assertFalse(CONF.libvirt.live_migration_permit_post_copy)
        self.assertFalse(CONF.libvirt.live_migration_permit_auto_converge)
        self.assertEqual(800, CONF.libvirt.live_migration_completion_timeout)
        self.assertEqual('abort', CONF.libvirt.live_migration_timeout_action)
        self.assertEqual([], CONF.libvirt.pmem_namespaces)
        self.assertEqual('placement', CONF.placement.service_type)

    def test_config_file_is_parsed(self):
        # The fixture's overrides would hide the file's values.
        self.conf.clear_override('host')
        self.conf.clear_override('state_path')
        self.conf.clear_override('connection', group='database')
        path = self._write_conf("""
            [DEFAULT]
            host = compute-a
            state_path = /srv/nova
            [libvirt]
            connection_uri = emulated://compute-a
            pmem_namespaces = 128G:ns0|ns1,SMALL:ns2
            live_migration_permit_post_copy = true
            live_migration_timeout_action = force_complete
            [placement]
            auth_type = none
            endpoint_override = http://127.0.0.1:8778
            [database]
            connection = sqlite:///$state_path/other.sqlite
            """)
        CONF(['--config-file', path], project='nova',
             default_config_files=[])
        self.assertEqual('compute-a', CONF.host)
        self.assertEqual(['128G:ns0|ns1', 'SMALL:ns2'],
                         CONF.libvirt.pmem_namespaces)
        self.assertTrue(CONF.libvirt.live_migration_permit_post_copy)
        self.assertEqual('force_complete',
                         CONF.libvirt.live_migration_timeout_action)
        self.assertEqual('http://127.0.0.1:8778',
                         CONF.placement.endpoint_override)
        self.assertEqual('sqlite:////srv/nova/other.sqlite',
                         CONF.database.connection)

    def test_bad_choice_is_refused_naming_the_option(self):
        path = self._write_conf("""
            [libvirt]
            live_migration_timeout_action = postcopy
            """)
        CONF(['--config-file', path], project='nova',
             default_config_files=[])
        err = self.assertRaises(
            cfg.ConfigFileValueError,
            lambda: CONF.libvirt.live_migration_timeout_action)
        self.assertIn('live_migration_timeout_action', str(err))

    def test_bound_is_enforced(self):
        path = self._write_conf("""
            [libvirt]
            live_migration_downtime_steps = 1
            """)
        CONF(['--config-file', path], project='nova',
             default_config_files=[])
        self.assertRaises(
            cfg.ConfigFileValueError,
            lambda: CONF.libvirt.live_migration_downtime_steps)

    def test_every_option_has_help(self):
        for group, group_opts in opts.list_opts():
            for opt in group_opts:
                if opt.__module__.startswith('keystoneauth1'):
                    continue
                self.assertTrue(opt.help and opt.help.strip(),
                                f'{group}.{opt.name} has no help text')


class TestSampleConfig(test.NoDBTestCase):

    def test_generator_writes_every_group(self):
        out = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.conf.sample')
        generator = os.path.join(os.path.dirname(sys.executable),
                                 'oslo-config-generator')
        top = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
        subprocess.run(
            [generator, '--config-file',
             os.path.join(top, 'etc/nova/nova-config-generator.conf'),
             '--output-file', out],
            check=True, capture_output=True, cwd=top)
        with open(out) as f:
            sample = f.read()
        for needle in ('[libvirt]', '#pmem_namespaces =',
                       '#live_migration_permit_post_copy = false',
                       '[placement]', '#endpoint_override',
                       '[database]', '#connection',
                       '[api]', '#auth_strategy = keystone',
                       '[compute]', '#transport_url'):
            self.assertIn(needle, sample)
