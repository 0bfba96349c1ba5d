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

"""The sample's namespaces: every section the services read is in it."""

import os

import fixtures
from oslo_config import cfg
from oslo_config import generator

import nova
import nova.privsep
from nova import test

TOP = os.path.dirname(os.path.dirname(os.path.abspath(nova.__file__)))
GENERATOR_CONF = os.path.join(TOP, 'etc', 'nova',
                              'nova-config-generator.conf')


def _sections(sample):
    return [line.strip() for line in sample.splitlines()
            if line.startswith('[')]


class GeneratorNamespacesTestCase(test.NoDBTestCase):

    @classmethod
    def setUpClass(cls):
        # Generated once, in this process, from the generator config file
        # itself: what tox -e genconfig writes.
        super().setUpClass()
        out_dir = fixtures.TempDir()
        out_dir.setUp()
        try:
            out = os.path.join(out_dir.path, 'nova.conf.sample')
            conf = cfg.ConfigOpts()
            generator.register_cli_opts(conf)
            conf(['--config-file', GENERATOR_CONF, '--output-file', out],
                 project='nova', default_config_files=[])
            generator.generate(conf)
            with open(out) as f:
                cls.sample = f.read()
        finally:
            out_dir.cleanUp()

    def _section(self, name):
        text = '\n' + self.sample
        start = text.index('\n[%s]\n' % name)
        end = text.find('\n[', start + 1)
        return text[start:end if end != -1 else None]

    def test_keystone_authtoken_is_documented(self):
        # auth_strategy defaults to keystone, which reads this section.
        section = self._section('keystone_authtoken')
        for option in ('#www_authenticate_uri', '#auth_type',
                       '#memcached_servers'):
            self.assertIn(option, section)

    def test_privsep_section_is_the_one_the_context_reads(self):
        name = nova.privsep.sys_admin_pctxt.cfg_section
        section = self._section(name)
        self.assertIn('#capabilities = CAP_SYS_ADMIN,CAP_DAC_OVERRIDE,'
                      'CAP_CHOWN,CAP_FOWNER', section)
        for option in ('#user', '#group', '#helper_command',
                       '#thread_pool_size', '#logger_name'):
            self.assertIn(option, section)
        # oslo.privsep's default section name: nothing here reads it.
        self.assertNotIn('[privsep]', _sections(self.sample))

    def test_library_sections_the_services_read(self):
        sections = _sections(self.sample)
        for name in ('[DEFAULT]', '[oslo_messaging_rabbit]',
                     '[oslo_concurrency]', '[oslo_policy]',
                     '[oslo_middleware]', '[cors]', '[database]'):
            self.assertIn(name, sections)
        # oslo.service's periodic tasks read this one.
        self.assertIn('#run_external_periodic_tasks = true',
                      self._section('DEFAULT'))
