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

import fixtures
import jsonschema

from nova import schema_check
from nova import test


class CheckedSchemasTestCase(test.NoDBTestCase):

    SCHEMA = {'type': 'object', 'required': ['a'],
              'properties': {'a': {'type': 'integer'}},
              'additionalProperties': False}

    def setUp(self):
        super().setUp()
        self.table = schema_check.CheckedSchemas()
        cls = jsonschema.validators.validator_for(self.SCHEMA)
        self.check = self.useFixture(fixtures.MockPatchObject(
            cls, 'check_schema', wraps=cls.check_schema)).mock

    def test_same_answers_as_jsonschema(self):
        self.table.validate({'a': 1}, self.SCHEMA)
        for bad in ({'a': 'x'}, {}, {'a': 1, 'b': 2}):
            expected = self.assertRaises(
                jsonschema.ValidationError, jsonschema.validate, bad,
                self.SCHEMA)
            got = self.assertRaises(
                jsonschema.ValidationError, self.table.validate, bad,
                self.SCHEMA)
            self.assertEqual(expected.message, got.message)

    def test_schema_checked_once(self):
        for _ in range(3):
            self.table.validate({'a': 1}, self.SCHEMA,
                                format_checker=jsonschema.FormatChecker())
            self.table.validator(self.SCHEMA)
        self.check.assert_called_once_with(self.SCHEMA)
        # Validator arguments reach the validator.
        self.assertIsInstance(
            self.table.validator(self.SCHEMA, None,
                                 format_checker=jsonschema.FormatChecker())
            .format_checker, jsonschema.FormatChecker)

    def test_an_equal_but_distinct_schema_is_checked_too(self):
        self.table.validate({'a': 1}, self.SCHEMA)
        self.table.validate({'a': 1}, dict(self.SCHEMA))
        self.assertEqual(2, self.check.call_count)

    def test_broken_schema_refused_every_time(self):
        broken = {'type': 'no-such-type'}
        for _ in range(2):
            self.assertRaises(jsonschema.SchemaError,
                              self.table.validate, {}, broken)
        self.assertEqual(0, len(self.table))

    def test_remembers_a_bounded_number_of_schemas(self):
        table = schema_check.CheckedSchemas(limit=2)
        schemas = [dict(self.SCHEMA) for _ in range(4)]
        for schema in schemas + schemas:
            table.validate({'a': 1}, schema)
        # The first two are remembered; the other two checked each time.
        self.assertEqual(2 + 2 * 2, self.check.call_count)
        self.assertEqual(2, len(table))
