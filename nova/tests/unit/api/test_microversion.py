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

"""Microversion negotiation and per-microversion body schemas."""

from unittest import mock

import fixtures
import jsonschema

from nova.api.handlers import servers
from nova.api import http
from nova.api import microversion
from nova.api import validation
from nova import schema_check
from nova import test


class TestNegotiation(test.NoDBTestCase):

    def test_no_header_is_the_minimum(self):
        self.assertEqual((2, 1), microversion.negotiate({}))

    def test_new_header(self):
        self.assertEqual((2, 30), microversion.negotiate(
            {'OpenStack-API-Version': 'compute 2.30'}))

    def test_new_header_among_other_services(self):
        self.assertEqual((2, 80), microversion.negotiate(
            {'OpenStack-API-Version': 'placement 1.2, compute 2.80'}))

    def test_legacy_header(self):
        self.assertEqual((2, 68), microversion.negotiate(
            {'X-OpenStack-Nova-API-Version': '2.68'}))

    def test_new_header_wins(self):
        self.assertEqual((2, 30), microversion.negotiate(
            {'OpenStack-API-Version': 'compute 2.30',
             'X-OpenStack-Nova-API-Version': '2.5'}))

    def test_latest(self):
        self.assertEqual(microversion.MAX_VERSION, microversion.negotiate(
            {'OpenStack-API-Version': 'compute latest'}))
        self.assertEqual((2, 100), microversion.MAX_VERSION)

    def test_out_of_range_is_not_acceptable(self):
        for value in ('2.101', '3.0', '2.0', '1.5'):
            error = self.assertRaises(
                microversion.VersionNotAcceptable, microversion.negotiate,
                {'X-OpenStack-Nova-API-Version': value})
            self.assertEqual(406, error.code)
            self.assertIn('2.100', str(error))

    def test_malformed_is_invalid(self):
        for value in ('abc', '2.01', '2', '2.abc', '2.1.1', ' .1'):
            error = self.assertRaises(
                microversion.InvalidVersion, microversion.negotiate,
                {'OpenStack-API-Version': 'compute %s' % value})
            self.assertEqual(400, error.code)

    def test_malformed_legacy_header_is_invalid(self):
        self.assertRaises(microversion.InvalidVersion,
                          microversion.negotiate,
                          {'X-OpenStack-Nova-API-Version': '2.x'})

    def test_other_services_only_means_the_minimum(self):
        self.assertEqual((2, 1), microversion.negotiate(
            {'OpenStack-API-Version': 'placement 1.30'}))

    def test_headers_in_any_case_and_wsgi_form(self):
        self.assertEqual((2, 42), microversion.negotiate(
            {'openstack-api-version': 'COMPUTE 2.42'}))
        self.assertEqual((2, 42), microversion.negotiate(
            {'HTTP_X_OPENSTACK_NOVA_API_VERSION': '2.42'}))

    def test_latest_in_legacy_header(self):
        self.assertEqual(microversion.MAX_VERSION, microversion.negotiate(
            {'X-OpenStack-Nova-API-Version': 'latest'}))

    def test_parsed_by_microversion_parse(self):
        # The headers are read by the library Nova and placement use.
        with mock.patch('microversion_parse.get_version',
                        return_value='2.77') as get_version:
            self.assertEqual((2, 77), microversion.negotiate({'a': 'b'}))
        get_version.assert_called_once_with(
            {'a': 'b'}, service_type='compute',
            legacy_headers=['X-OpenStack-Nova-API-Version'])

    def test_response_headers(self):
        headers = dict(microversion.response_headers((2, 30)))
        self.assertEqual('compute 2.30', headers['OpenStack-API-Version'])
        self.assertEqual('2.30', headers['X-OpenStack-Nova-API-Version'])
        self.assertIn('OpenStack-API-Version', headers['Vary'])


class _Req:
    def __init__(self, version):
        self.version = version


class TestLiveMigrateSchemas(test.NoDBTestCase):

    def _validate(self, version, args):
        return validation.validate(servers.LIVE_MIGRATE_SCHEMAS,
                                   _Req(version), {'os-migrateLive': args})

    def _refused(self, version, args):
        error = self.assertRaises(http.HTTPError, self._validate, version,
                                  args)
        self.assertEqual(400, error.code)
        return error

    def test_cli_body_at_2_30(self):
        self._validate((2, 30), {'host': None, 'block_migration': 'auto'})
        self._validate((2, 30), {'host': 'h', 'block_migration': True})

    def test_force_accepted_before_2_68(self):
        self._validate((2, 30), {'host': 'h', 'block_migration': 'auto',
                                 'force': True})
        self._validate((2, 67), {'host': 'h', 'block_migration': 'auto',
                                 'force': False})

    def test_force_refused_from_2_68(self):
        error = self._refused((2, 68), {'host': 'h',
                                        'block_migration': 'auto',
                                        'force': True})
        self.assertIn('force', error.message)
        self._validate((2, 68), {'host': 'h', 'block_migration': 'auto'})

    def test_force_refused_before_2_30(self):
        self._refused((2, 25), {'host': 'h', 'block_migration': 'auto',
                                'force': True})

    def test_auto_only_from_2_25(self):
        self._refused((2, 24), {'host': 'h', 'block_migration': 'auto'})
        self._validate((2, 24), {'host': 'h', 'block_migration': False,
                                 'disk_over_commit': False})
        self._refused((2, 25), {'host': 'h', 'block_migration': False,
                                'disk_over_commit': False})

    def test_block_migration_required(self):
        self._refused((2, 30), {'host': 'h'})
        self._refused((2, 30), {'host': 'h', 'block_migration': 'yes'})


class TestValidatorsBuiltOnce(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.table = schema_check.CheckedSchemas()
        self.useFixture(fixtures.MockPatchObject(schema_check, 'CHECKED',
                                                 self.table))

    def _validate(self, args):
        return validation.validate(servers.LIVE_MIGRATE_SCHEMAS,
                                   _Req((2, 30)), {'os-migrateLive': args})

    def test_schema_checked_once_per_process(self):
        schema = validation.schema_for(servers.LIVE_MIGRATE_SCHEMAS, (2, 30))
        cls = jsonschema.validators.validator_for(schema)
        check = self.useFixture(fixtures.MockPatchObject(
            cls, 'check_schema', wraps=cls.check_schema)).mock
        for _ in range(3):
            self._validate({'host': 'h', 'block_migration': 'auto'})
        check.assert_called_once_with(schema)

    def test_errors_as_before_from_a_remembered_validator(self):
        self._validate({'host': 'h', 'block_migration': 'auto'})
        error = self.assertRaises(http.HTTPError, self._validate,
                                  {'host': 'h', 'block_migration': 'maybe'})
        self.assertEqual(400, error.code)
        self.assertIn('block_migration', error.message)
        self.assertIn("'maybe'", error.message)

    def test_a_broken_schema_is_refused(self):
        rows = [(None, None, {'type': 'no-such-type'})]
        self.assertRaises(jsonschema.SchemaError, validation.validate,
                          rows, _Req((2, 30)), {})

    def test_validated_through_the_process_table(self):
        self._validate({'host': 'h', 'block_migration': 'auto'})
        self.assertEqual(1, len(self.table))
