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

"""nova-status upgrade check: each check's results, and the command."""

import io
import json
import os
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exc
from oslo_upgradecheck import upgradecheck
from oslo_utils import uuidutils

from nova.cmd import status
from nova.db import api as db
from nova.db import migration
from nova.db import vpmem_api
from nova import exception
from nova.objects import service as service_obj
from nova import test

Code = upgradecheck.Code
RC_SMALL = 'CUSTOM_PMEM_NAMESPACE_SMALL'
RC_LARGE = 'CUSTOM_PMEM_NAMESPACE_LARGE'


class FakeResponse:

    def __init__(self, status_code, body=None):
        self.status_code = status_code
        self._body = body

    def json(self):
        return self._body


def _root(max_version):
    return FakeResponse(200, {'versions': [{
        'id': 'v1.0', 'min_version': '1.0', 'max_version': max_version,
        'status': 'CURRENT'}]})


class FakeReportClient:
    """Placement's answers for the namespace check, per provider."""

    def __init__(self, inventories=None, root=None):
        # rp uuid -> {rc: total}; a provider left out does not exist.
        self.inventories = inventories or {}
        self.adapter = mock.Mock()
        self.adapter.get.return_value = root or _root('1.39')

    def get_provider(self, context, rp_uuid):
        if rp_uuid not in self.inventories:
            return None
        return {'uuid': rp_uuid, 'generation': 1}

    def get_inventory(self, context, rp_uuid):
        return 1, {rc: {'total': total, 'reserved': 0}
                   for rc, total in self.inventories[rp_uuid].items()}


class TestDatabaseSchema(test.TestCase):

    def _check(self):
        return status.UpgradeCommands(FakeReportClient())._check_db_schema()

    def test_schema_at_head_succeeds(self):
        result = self._check()
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn(migration.head_revision(), result.details)

    def test_never_synced_fails_naming_db_sync(self):
        with mock.patch.object(migration, 'db_version', return_value=None):
            result = self._check()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('never synced', result.details)
        self.assertIn('nova-manage db sync', result.details)

    def test_old_schema_fails_naming_both_revisions(self):
        with mock.patch.object(migration, 'db_version',
                               return_value='0123abcd'):
            result = self._check()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('0123abcd', result.details)
        self.assertIn(migration.head_revision(), result.details)
        self.assertIn('nova-manage db sync', result.details)

    def test_unreachable_database_fails_with_the_reason(self):
        with mock.patch.object(migration, 'db_version',
                               side_effect=RuntimeError('no such host\nx')):
            result = self._check()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertEqual('The check could not run: RuntimeError: no such '
                         'host', result.details)


class TestPlacement(test.NoDBTestCase):

    def _check(self, client):
        return status.UpgradeCommands(client)._check_placement()

    def test_new_enough_placement_succeeds(self):
        client = FakeReportClient(root=_root('1.42'))
        result = self._check(client)
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn('1.39 (up to 1.42)', result.details)
        client.adapter.get.assert_called_once_with('/', raise_exc=False)

    def test_too_old_placement_fails(self):
        result = self._check(FakeReportClient(root=_root('1.38')))
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('up to 1.38', result.details)
        self.assertIn('needs 1.39', result.details)
        self.assertIn('Upgrade placement', result.details)

    def test_configured_microversion_is_needed_too(self):
        self.flags(microversion='1.40', group='placement')
        result = self._check(FakeReportClient(root=_root('1.39')))
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('needs 1.40', result.details)

    def test_configured_microversion_below_the_lowest_fails(self):
        self.flags(microversion='1.30', group='placement')
        client = FakeReportClient(root=_root('1.39'))
        result = self._check(client)
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('[placement]microversion is 1.30', result.details)
        self.assertIn('at least 1.39', result.details)
        client.adapter.get.assert_not_called()

    def test_microversions_compare_as_numbers(self):
        # 1.100 is newer than 1.39, although it sorts before it as text.
        result = self._check(FakeReportClient(root=_root('1.100')))
        self.assertEqual(Code.SUCCESS, result.code)

    def test_unreachable_placement_fails(self):
        self.flags(endpoint_override='http://placement.example:8778',
                   group='placement')
        client = FakeReportClient()
        client.adapter.get.side_effect = ks_exc.ConnectFailure('refused')
        result = self._check(client)
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('cannot be reached at http://placement.example:8778',
                      result.details)
        self.assertIn('refused', result.details)
        self.assertIn('[placement]', result.details)

    def test_an_error_answer_fails(self):
        result = self._check(FakeReportClient(root=FakeResponse(503, {})))
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('answered 503', result.details)

    def test_not_a_version_document_fails(self):
        result = self._check(FakeReportClient(
            root=FakeResponse(200, {'hello': 'world'})))
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('did not say which microversions', result.details)


class TestComputeVersions(test.TestCase):

    def _service(self, host, version, binary=service_obj.COMPUTE_BINARY):
        db.service_create(self.context, {'host': host, 'binary': binary,
                                         'topic': 'compute',
                                         'version': version})

    def _check(self):
        return status.UpgradeCommands(
            FakeReportClient())._check_compute_versions()

    def test_no_compute_succeeds(self):
        self._service('conductor', 0, binary='nova-conductor')
        result = self._check()
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn('No nova-compute', result.details)

    def test_current_computes_succeed(self):
        self._service('compute-a', service_obj.SERVICE_VERSION)
        self._service('compute-b', service_obj.COLD_MIGRATION_VERSION)
        result = self._check()
        self.assertEqual(Code.SUCCESS, result.code)
        self.assertIn('All 2 nova-compute', result.details)

    def test_compute_without_cold_migration_warns(self):
        self._service('compute-a', service_obj.SERVICE_VERSION)
        self._service('compute-b', service_obj.VPMEM_LIVE_MIGRATION_VERSION)
        result = self._check()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('compute-b (version %d)'
                      % service_obj.VPMEM_LIVE_MIGRATION_VERSION,
                      result.details)
        self.assertNotIn('compute-a', result.details)

    def test_compute_that_cannot_live_migrate_vpmem_fails(self):
        old = service_obj.VPMEM_LIVE_MIGRATION_VERSION - 1
        self._service('compute-a', service_obj.SERVICE_VERSION)
        self._service('compute-old', old)
        self._service('compute-never', 0)
        result = self._check()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('compute-old (version %d)' % old, result.details)
        self.assertIn('compute-never (version 0)', result.details)
        self.assertIn('live-migrate', result.details)
        self.assertIn('Upgrade nova-compute', result.details)
        self.assertNotIn('compute-a', result.details)

    def test_deleted_compute_does_not_count(self):
        self._service('compute-old', 1)
        service = db.service_get_by_host_and_binary(
            self.context, 'compute-old', service_obj.COMPUTE_BINARY)
        db.service_destroy(self.context, service['id'])
        self.assertEqual(Code.SUCCESS, self._check().code)

    def test_not_checked_on_an_old_schema(self):
        self._service('compute-old', 1)
        commands = status.UpgradeCommands(FakeReportClient())
        with mock.patch.object(migration, 'db_version', return_value='old'):
            commands._check_db_schema()
        result = commands._check_compute_versions()
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('Not checked', result.details)


class TestNamespaceInventory(test.TestCase):

    def setUp(self):
        super().setUp()
        self.node_a = self._node('compute-a')
        self.node_b = self._node('compute-b')

    def _node(self, host):
        rp_uuid = uuidutils.generate_uuid()
        db.compute_node_create(self.context, {
            'uuid': rp_uuid, 'host': host, 'hypervisor_hostname': host,
            'vcpus': 1, 'memory_mb': 512, 'local_gb': 0})
        return rp_uuid

    def _records(self, rp_uuid, host, rc, count, state='free'):
        for index in range(count):
            vpmem_api.vpmem_namespace_create(self.context, {
                'compute_node_uuid': rp_uuid, 'host': host,
                'resource_class': rc, 'name': '%s-ns%d' % (rc, index),
                'state': state})

    def _check(self, inventories):
        return status.UpgradeCommands(
            FakeReportClient(inventories))._check_namespace_inventory()

    def test_matching_counts_succeed(self):
        self._records(self.node_a, 'compute-a', RC_SMALL, 2)
        self._records(self.node_a, 'compute-a', RC_LARGE, 1,
                      state='quarantined')
        self._records(self.node_b, 'compute-b', RC_SMALL, 1,
                      state='assigned')
        result = self._check({
            self.node_a: {'VCPU': 4, RC_SMALL: 2, RC_LARGE: 1},
            self.node_b: {'VCPU': 4, RC_SMALL: 1}})
        self.assertEqual(Code.SUCCESS, result.code)

    def test_different_total_warns_naming_host_and_label(self):
        self._records(self.node_a, 'compute-a', RC_SMALL, 2)
        self._records(self.node_b, 'compute-b', RC_SMALL, 2)
        result = self._check({self.node_a: {RC_SMALL: 3},
                              self.node_b: {RC_SMALL: 2}})
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('compute-a label SMALL: 2 namespace record(s), '
                      'placement total 3', result.details)
        self.assertNotIn('compute-b', result.details)
        self.assertIn('nova-manage vpmem audit', result.details)

    def test_label_only_placement_offers_warns(self):
        self._records(self.node_a, 'compute-a', RC_SMALL, 1)
        result = self._check({self.node_a: {RC_SMALL: 1, RC_LARGE: 2},
                              self.node_b: {}})
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('compute-a label LARGE: 0 namespace record(s), '
                      'placement total 2', result.details)

    def test_label_placement_lacks_warns(self):
        self._records(self.node_b, 'compute-b', RC_LARGE, 1)
        result = self._check({self.node_a: {}, self.node_b: {'VCPU': 1}})
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('compute-b label LARGE: 1 namespace record(s), '
                      'placement total 0', result.details)

    def test_records_without_a_provider_warn(self):
        self._records(self.node_b, 'compute-b', RC_SMALL, 1)
        result = self._check({self.node_a: {}})
        self.assertEqual(Code.WARNING, result.code)
        self.assertIn('compute-b has namespace records but no resource '
                      'provider %s' % self.node_b, result.details)

    def test_node_without_namespaces_or_provider_succeeds(self):
        self.assertEqual(Code.SUCCESS, self._check({}).code)

    def test_unreachable_placement_fails_with_the_reason(self):
        client = FakeReportClient()
        client.get_provider = mock.Mock(
            side_effect=exception.PlacementAPIConnectFailure(
                endpoint='http://placement.example', error='refused'))
        result = status.UpgradeCommands(client)._check_namespace_inventory()
        self.assertEqual(Code.FAILURE, result.code)
        self.assertIn('PlacementAPIConnectFailure', result.details)
        self.assertIn('http://placement.example', result.details)


class TestMain(test.NoDBTestCase):
    """The command: argument parsing, output and exit status."""

    def setUp(self):
        super().setUp()
        # main() parses its own command line into the global configuration
        # the fixture parsed already; overrides survive clear().
        self.conf.clear()
        self.addCleanup(self.conf.unregister_opt, status.command_opt)
        self.addCleanup(self.conf.clear)
        self.addCleanup(setattr, upgradecheck, 'CONF', upgradecheck.CONF)
        self.stdout = self.useFixture(
            fixtures.MonkeyPatch('sys.stdout', io.StringIO())).new_value
        self.stderr = self.useFixture(
            fixtures.MonkeyPatch('sys.stderr', io.StringIO())).new_value

    def _results(self, *codes):
        checks = tuple(
            ('Check %d' % index,
             lambda self, code=code: upgradecheck.Result(code, 'why %d'
                                                         % code))
            for index, code in enumerate(codes))
        self.useFixture(fixtures.MockPatchObject(
            status.UpgradeCommands, '_upgrade_checks', checks))

    def _main(self, *args):
        return status.main(['upgrade', 'check'] + list(args),
                           default_config_files=[])

    def test_all_succeeded_exits_0(self):
        self._results(Code.SUCCESS, Code.SUCCESS)
        self.assertEqual(0, self._main())
        self.assertIn('Check: Check 1', self.stdout.getvalue())
        self.assertIn('Result: Success', self.stdout.getvalue())

    def test_worst_warning_exits_1(self):
        self._results(Code.SUCCESS, Code.WARNING)
        self.assertEqual(1, self._main())
        self.assertIn('Details: why 1', self.stdout.getvalue())

    def test_any_failure_exits_2(self):
        self._results(Code.FAILURE, Code.WARNING, Code.SUCCESS)
        self.assertEqual(2, self._main())
        self.assertIn('Result: Failure', self.stdout.getvalue())

    def test_json_output(self):
        self._results(Code.SUCCESS, Code.WARNING)
        self.assertEqual(1, self._main('--json'))
        output = json.loads(self.stdout.getvalue())
        self.assertEqual([('Check 0', 0, 'why 0'), ('Check 1', 1, 'why 1')],
                         [(c['check'], c['result'], c['details'])
                          for c in output['checks']])

    def test_unreadable_config_file_exits_255(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as conf:
            conf.write('this is not a section\n')
        self._results(Code.SUCCESS)
        self.assertEqual(status.ERROR_EXIT,
                         status.main(['--config-file', path, 'upgrade',
                                      'check'], default_config_files=[]))
        self.assertIn('nova-status: ', self.stderr.getvalue())
        self.assertEqual('', self.stdout.getvalue())

    def test_wrong_command_line_exits_255(self):
        self._results(Code.SUCCESS)
        self.assertEqual(status.ERROR_EXIT,
                         status.main(['upgrade', 'chekc'],
                                     default_config_files=[]))
        self.assertIn('invalid choice', self.stderr.getvalue())

    def test_help_exits_0(self):
        self.assertEqual(0, status.main(['upgrade', 'check', '--help'],
                                        default_config_files=[]))
        self.assertIn('--json', self.stdout.getvalue())

    def test_the_checks_in_order(self):
        self.assertEqual(
            ['Database schema', 'Placement API', 'Compute service versions',
             'Namespaces in placement'],
            [name for name, _check in status.UpgradeCommands._upgrade_checks])
