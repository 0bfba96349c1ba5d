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

"""The tempest tier's configuration, test selection and result reading."""

import os
import re

import nova
from nova import test
from nova.tests.multinode import deployment as nmn
from nova.tests.multinode import tempest_run

INFO = {'auth_url': 'http://10.77.0.1:5000/v3', 'password': 'pw',
        'placement': 'http://10.77.0.1:8778', 'log_file': '/w/tempest.log'}


def _selected(patterns, test_id):
    return any(re.search(pattern, test_id) for pattern in patterns)


class TempestConfTest(test.NoDBTestCase):

    def test_conf_for_the_deployment(self):
        conf = tempest_run.tempest_conf(INFO, ['f1', 'f2'])
        self.assertEqual('pw', conf['auth']['admin_password'])
        self.assertEqual('True', conf['auth']['use_dynamic_credentials'])
        self.assertEqual(INFO['auth_url'], conf['identity']['uri_v3'])
        self.assertEqual(('f1', 'f2'), (conf['compute']['flavor_ref'],
                                        conf['compute']['flavor_ref_alt']))
        self.assertEqual(nmn.IMAGE_ID, conf['compute']['image_ref'])
        self.assertEqual('2', conf['compute']['min_compute_nodes'])
        # tempest 47's admin base needs an image client to exist.
        self.assertEqual('True', conf['service_available']['glance'])
        self.assertEqual('False', conf['service_available']['neutron'])
        self.assertEqual('True',
                         conf['compute-feature-enabled']['live_migration'])
        vpmem = conf['vpmem']
        self.assertEqual('SMALL,SMALL', vpmem['flavor_labels'])
        self.assertEqual(str(nmn.NAMESPACE_MIB), vpmem['namespace_size_mb'])
        self.assertEqual(INFO['placement'], vpmem['placement_endpoint'])
        self.assertEqual('False', vpmem['abortable_migration'])
        # Not the paced guest: its copy converges at 1 MiB/s.
        self.assertEqual(nmn.IMAGE_ID, vpmem['abort_image_ref'])
        self.assertEqual('True', tempest_run.tempest_conf(
            INFO, ['f1', 'f2'], abortable=True)['vpmem'][
                'abortable_migration'])


class SelectionTest(test.NoDBTestCase):

    PLUGIN = 'nova_vpmem_tempest_plugin.api.'

    def test_main_phase(self):
        include = tempest_run.include_list(abort_phase=False)
        exclude = tempest_run.exclude_list()

        def runs(test_id):
            return (_selected(include, test_id) and
                    not _selected(exclude, test_id))

        for test_id in (
                self.PLUGIN + 'test_boot.VpmemBootTest.test_boot[id-1]',
                self.PLUGIN + 'test_live_migration.X.test_forced[id-2]',
                self.PLUGIN + 'test_upstream_no_network.'
                'ListServersNegativeNoNetworkTest.test_x[id-3]',
                'tempest.api.compute.test_versions.TestVersions.'
                'test_list_api_versions[id-4,smoke]',
                'tempest.api.compute.admin.test_migrations.'
                'MigrationsAdminTest.test_list_migrations[id-5]'):
            self.assertTrue(runs(test_id), test_id)
        for test_id in (
                self.PLUGIN + 'test_migration_abort.'
                'VpmemMigrationAbortTest.test_abort[id-6]',
                # Only the listed test of tempest's live-migration class.
                self.PLUGIN + 'test_upstream_no_network.'
                'LiveMigrationNoNetworkTest.test_volume_backed[id-7]',
                'tempest.api.compute.admin.test_migrations.'
                'MigrationsAdminTest.'
                'test_list_migrations_in_flavor_resize_situation[id-8]',
                'tempest.api.compute.admin.test_live_migration.'
                'LiveMigrationTest.test_live_block_migration[id-9]'):
            self.assertFalse(runs(test_id), test_id)

    def test_abort_phase_runs_only_the_abort_test(self):
        abort = tempest_run.include_list(abort_phase=True)
        self.assertTrue(_selected(abort, tempest_run.ABORT_TEST +
                                  '.test_abort_keeps_server_on_source[id]'))
        self.assertFalse(_selected(abort, self.PLUGIN + 'test_boot.X.y'))

    def test_excluded_tests_have_reasons(self):
        patterns = tempest_run.exclude_list()
        self.assertTrue(_selected(
            patterns, 'tempest.api.compute.servers.test_list_server_filters.'
            'ListServerFiltersTestJSON.'
            'test_list_servers_filtered_by_ip_regex[id-1]'))
        for name, reason in tempest_run.EXCLUDED.items():
            self.assertTrue(reason, name)
            self.assertTrue(any(name.startswith(listed)
                                for listed in tempest_run.UPSTREAM_TESTS),
                            name)


class TallyTest(test.NoDBTestCase):

    def test_tally(self):
        found = tempest_run.tally([
            'success a.B.test_1[id-1]',
            'xfail a.B.test_2',
            'fail a.B.test_3',
            'uxsuccess a.B.test_4',
            'skip setUpClass (a.C)',
            'exists a.B.test_5',
            '',
        ])
        self.assertEqual({'pass': ['a.B.test_1[id-1]', 'a.B.test_2'],
                          'fail': ['a.B.test_3', 'a.B.test_4'],
                          'skip': ['setUpClass (a.C)']}, found)


class StatusesTest(test.NoDBTestCase):

    def test_statuses_of_a_subunit_stream(self):
        import io

        import subunit
        stream = io.BytesIO()
        out = subunit.StreamResultToBytes(stream)
        out.status(test_id='a.B.test_1', test_status='inprogress')
        out.status(test_id='a.B.test_1', test_status='success')
        out.status(test_id='a.B.test_2', test_status='fail')
        out.status(test_id='setUpClass (a.C)', test_status='skip')
        self.assertEqual(['success a.B.test_1', 'fail a.B.test_2',
                          'skip setUpClass (a.C)'],
                         tempest_run.statuses(stream.getvalue()))


class DocsTest(test.NoDBTestCase):

    def test_the_plugin_guide_names_every_test_and_exclusion(self):
        path = os.path.join(os.path.dirname(nova.__file__), os.pardir,
                            'doc', 'source', 'contributor',
                            'tempest-plugin.rst')
        with open(path) as f:
            page = f.read()
        for name in tempest_run.UPSTREAM_TESTS + tuple(tempest_run.EXCLUDED):
            # The class, or the test, named last.
            last = [part for part in name.rstrip('.[').split('.')
                    if part][-1]
            self.assertTrue(re.search(r'\b' + re.escape(last), page),
                            '%s is not named in %s' % (name, path))
