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

"""The tempest plugin without a cloud: its interface, options, tests and
skip logic.

Nothing here may read tempest's configuration: tempest keeps it in
oslo.config's global object, which nova's tests share. The plugin's
classes read it through their module's ``CONF``, replaced here.
"""

import os
import re
import subprocess
import sys
import types
import unittest

import fixtures
from oslo_config import cfg
from tempest.lib import exceptions as lib_exc
from tempest.test_discover import plugins

from nova import test
from nova_vpmem_tempest_plugin.api import base
from nova_vpmem_tempest_plugin.api import test_boot
from nova_vpmem_tempest_plugin.api import test_migration_abort
from nova_vpmem_tempest_plugin.api import (
    test_upstream_no_network as no_network)
from nova_vpmem_tempest_plugin import config as vpmem_config
from nova_vpmem_tempest_plugin import plugin

SMALL = base.RESOURCE_CLASS_PREFIX + 'SMALL'
EXPECTED_TESTS = {
    'test_boot.VpmemBootTest.test_boot_with_pmem_flavor',
    'test_live_migration.VpmemLiveMigrationTest.'
    'test_live_migrate_to_forced_host',
    'test_live_migration.VpmemLiveMigrationTest.'
    'test_live_migrate_to_scheduled_host',
    'test_migration_abort.VpmemMigrationAbortTest.'
    'test_abort_keeps_server_on_source',
    'test_migration_refused.VpmemRefusedMigrationTest.'
    'test_migration_to_full_host_is_refused',
}


def _conf(nova=True, live_migration=True, min_vpmem_hosts=0,
          abortable_migration=False):
    """A stand-in for tempest's CONF with what skip_reason reads."""
    ns = types.SimpleNamespace
    return ns(service_available=ns(nova=nova),
              compute_feature_enabled=ns(live_migration=live_migration),
              vpmem=ns(min_vpmem_hosts=min_vpmem_hosts,
                       abortable_migration=abortable_migration,
                       flavor_labels=['SMALL', 'SMALL']))


class _Response(dict):
    """Headers and a status, as tempest's HTTP responses."""

    def __init__(self, status, headers):
        super().__init__(headers)
        self.status = status


def _service(host, status='enabled', state='up', binary='nova-compute'):
    return {'host': host, 'status': status, 'state': state, 'binary': binary}


class PluginTest(test.NoDBTestCase):

    def test_is_a_tempest_plugin(self):
        self.assertIsInstance(plugin.VpmemTempestPlugin(),
                              plugins.TempestPlugin)

    def test_load_tests_names_the_test_package(self):
        test_dir, top_level = plugin.VpmemTempestPlugin().load_tests()
        self.assertEqual(os.path.join(top_level,
                                      'nova_vpmem_tempest_plugin'),
                         test_dir)
        self.assertTrue(os.path.isfile(os.path.join(test_dir, 'api',
                                                    'base.py')))

    def test_the_plugin_does_not_import_nova(self):
        # It runs in tempest's environment, next to other plugins: nova's
        # package would refuse eventlet there and pull in the services.
        code = ('import sys\n'
                'import nova_vpmem_tempest_plugin.plugin\n'
                'import nova_vpmem_tempest_plugin.api.base\n'
                'import nova_vpmem_tempest_plugin.api.test_boot\n'
                'print(sorted(m for m in sys.modules\n'
                '             if m == "nova" or m.startswith("nova.")))\n')
        out = subprocess.run([sys.executable, '-c', code], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual('[]', out.strip())

    def test_register_opts(self):
        conf = cfg.ConfigOpts()
        plugin.VpmemTempestPlugin().register_opts(conf)
        conf([])
        self.assertEqual(['SMALL', 'SMALL'], conf.vpmem.flavor_labels)
        self.assertFalse(conf.vpmem.abortable_migration)
        self.assertEqual(0, conf.vpmem.min_vpmem_hosts)
        self.assertIsNone(conf.vpmem.placement_endpoint)
        self.assertIsNone(conf.vpmem.abort_image_ref)

    def test_opt_lists_for_the_sample_config(self):
        [(group, opts)] = plugin.VpmemTempestPlugin().get_opt_lists()
        self.assertEqual(vpmem_config.GROUP, group)
        names = [opt.name for opt in opts]
        self.assertEqual(len(names), len(set(names)))
        self.assertIn('abortable_migration', names)
        for opt in opts:
            self.assertTrue(opt.help, opt.name)

    def test_discovery_finds_every_test(self):
        test_dir, top_level = plugin.VpmemTempestPlugin().load_tests()
        suite = unittest.TestLoader().discover(test_dir,
                                               top_level_dir=top_level)
        ids, idempotent_ids, upstream = set(), [], set()
        pending = [suite]
        while pending:
            item = pending.pop()
            if isinstance(item, unittest.TestSuite):
                pending.extend(item)
                continue
            # An import error shows up as a test of its own.
            self.assertNotIsInstance(item, unittest.loader._FailedTest,
                                     getattr(item, '_exception', None))
            # The id ends with tempest's attributes: "[id-<uuid>,...]".
            name, _sep, attrs = item.id().partition('[')
            name = name.split('nova_vpmem_tempest_plugin.api.', 1)[1]
            if name.startswith('test_upstream_no_network.'):
                # tempest's own tests, under tempest's idempotent ids.
                upstream.add(name.split('.')[1])
                continue
            ids.add(name)
            idempotent_ids.extend(re.findall(r'\bid-([0-9a-f-]{36})', attrs))
        self.assertEqual(EXPECTED_TESTS, ids)
        self.assertEqual(len(ids), len(set(idempotent_ids)))
        self.assertEqual({name for name in dir(no_network)
                          if name.endswith('NoNetworkTest')}, upstream)
        self.assertIn('LiveMigrationNoNetworkTest', upstream)

    def test_upstream_classes_change_only_the_network(self):
        classes = [getattr(no_network, name) for name in dir(no_network)
                   if name.endswith('NoNetworkTest')]
        self.assertEqual(10, len(classes))
        for cls in classes:
            parent = cls.__bases__[0]
            self.assertTrue(parent.create_default_network, parent)
            self.assertFalse(cls.create_default_network)
            self.assertEqual({'create_default_network'},
                             {name for name in vars(cls)
                              if not name.startswith('_')})


class HelpersTest(test.NoDBTestCase):

    def test_flavor_resources_count_labels(self):
        self.assertEqual({SMALL: 2, base.RESOURCE_CLASS_PREFIX + 'BIG_1': 1},
                         base.flavor_resources(['SMALL', 'big-1', 'SMALL']))

    def test_usable_hosts(self):
        services = [_service('c3'), _service('c1'),
                    _service('c2', status='disabled'),
                    _service('c4', state='down'),
                    _service('c5', binary='nova-conductor')]
        self.assertEqual(['c1', 'c3'], base.usable_hosts(services))

    def test_hosts_of_providers(self):
        hypervisors = [{'hypervisor_hostname': 'node-1',
                        'service': {'host': 'c1'}},
                       {'hypervisor_hostname': 'node-2',
                        'service': {'host': 'c2'}}]
        self.assertEqual(['c2'], base.hosts_of_providers(
            ['c1', 'c2', 'c3'], hypervisors, ['node-2', 'other']))

    def test_shortage(self):
        self.assertIsNone(base.shortage('T', 2, 2, 'how'))
        self.assertEqual('T needs 2 vpmem host(s), the cloud has 1 (how)',
                         base.shortage('T', 2, 1, 'how'))

    def test_moved_usages(self):
        before = {'c1': {SMALL: 2}, 'c2': {SMALL: 0}}
        self.assertEqual({'c1': {SMALL: 0}, 'c2': {SMALL: 2}},
                         base.moved_usages(before, 'c1', 'c2', {SMALL: 2}))
        self.assertEqual({SMALL: 2}, before['c1'])

    def test_vpmem_allocations(self):
        allocations = {'rp1': {'resources': {'VCPU': 1, SMALL: 2}},
                       'rp2': {'resources': {'MEMORY_MB': 32}}}
        self.assertEqual({'rp1': {SMALL: 2}}, base.vpmem_allocations(
            allocations, {SMALL: 2}))


class SkipTest(test.NoDBTestCase):

    def _use(self, **kwargs):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_vpmem_tempest_plugin.api.base.CONF', _conf(**kwargs)))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_vpmem_tempest_plugin.api.test_migration_abort.CONF',
            _conf(**kwargs)))

    def test_runs_by_default(self):
        self._use()
        self.assertIsNone(base.VpmemTest.skip_reason())

    def test_without_nova(self):
        self._use(nova=False)
        self.assertEqual('Nova is not available',
                         base.VpmemTest.skip_reason())

    def test_without_live_migration(self):
        self._use(live_migration=False)
        self.assertIn('live_migration = False', base.VpmemTest.skip_reason())
        # Booting needs no live migration.
        self.assertIsNone(test_boot.VpmemBootTest.skip_reason())

    def test_declared_hosts(self):
        self._use(min_vpmem_hosts=1)
        self.assertEqual('VpmemTest needs 2 vpmem host(s), the cloud has 1 '
                         '(as [vpmem] min_vpmem_hosts says)',
                         base.VpmemTest.skip_reason())
        self.assertIsNone(test_boot.VpmemBootTest.skip_reason())

    def test_abort_needs_a_slow_cloud(self):
        self._use()
        self.assertIn('abortable_migration = False',
                      test_migration_abort.VpmemMigrationAbortTest
                      .skip_reason())
        self._use(abortable_migration=True)
        self.assertIsNone(
            test_migration_abort.VpmemMigrationAbortTest.skip_reason())


class FindHostsTest(test.NoDBTestCase):
    """Counting vpmem hosts through the APIs (fake clients)."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_vpmem_tempest_plugin.api.base.CONF', _conf()))
        services = [_service('c1'), _service('c2'), _service('c3')]
        hypervisors = [{'hypervisor_hostname': h, 'service': {'host': h}}
                       for h in ('c1', 'c2', 'c3')]
        self.room = ['c1', 'c3']
        self.cls = type('Probe', (base.VpmemTest,), {
            'services_client': types.SimpleNamespace(
                list_services=lambda **kw: {'services': services}),
            'hypervisor_client': types.SimpleNamespace(
                list_hypervisors=lambda **kw: {'hypervisors': hypervisors}),
            'placement': types.SimpleNamespace(
                providers_with_room=lambda resources: self.room),
            'has_placement': True, 'resources': {SMALL: 2}})

    def test_placement_says_which_have_room(self):
        self.assertEqual(['c1', 'c3'], self.cls.find_vpmem_hosts())

    def test_skips_with_one(self):
        self.room = ['c2']
        error = self.assertRaises(unittest.SkipTest,
                                  self.cls.find_vpmem_hosts)
        self.assertIn('Probe needs 2 vpmem host(s), the cloud has 1',
                      str(error))
        self.assertIn('with room for 2 %s in placement' % SMALL, str(error))

    def test_without_placement_every_usable_host_counts(self):
        self.cls.has_placement = False
        self.room = []
        self.assertEqual(['c1', 'c2', 'c3'], self.cls.find_vpmem_hosts())


class PlacementReaderTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # tempest would read its configuration for these.
        self.useFixture(fixtures.MockPatch(
            'tempest.config.service_client_config',
            return_value={'service': 'placement', 'region': 'RegionOne',
                          'endpoint_type': 'public'}))
        self.auth = types.SimpleNamespace(get_token=lambda: 'a-token')

    def test_configured_endpoint_skips_the_catalog(self):
        reader = base.PlacementReader(self.auth, 'http://placement:8778/')
        sent = []

        def raw_request(url, method, headers=None, body=None, chunked=False):
            sent.append((method, url, headers))
            return (_Response(200, {'content-type': 'application/json'}),
                    b'{"usages": {"%s": 2}}' % SMALL.encode())

        reader.raw_request = raw_request
        self.assertTrue(reader.available())
        self.assertEqual({SMALL: 2}, reader.usages('rp-1'))
        [(method, url, headers)] = sent
        self.assertEqual(('GET', 'http://placement:8778/resource_providers/'
                                 'rp-1/usages'), (method, url))
        self.assertEqual('a-token', headers['X-Auth-Token'])
        self.assertEqual('placement 1.4', headers['OpenStack-API-Version'])

    def test_no_catalog_entry_means_no_placement(self):
        def base_url(filters, auth_data=None):
            raise lib_exc.EndpointNotFound('placement')

        self.auth.base_url = base_url
        self.assertFalse(base.PlacementReader(self.auth).available())
