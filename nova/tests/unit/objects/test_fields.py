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

"""Nova's own field types."""

from nova.objects import fields
from nova import test


class TestEnums(test.NoDBTestCase):

    def test_migration_type(self):
        field = fields.MigrationTypeField()
        self.assertEqual(
            ['migration', 'resize', 'live-migration', 'evacuation'],
            list(field.valid_values))
        self.assertEqual('live-migration',
                         field.coerce(None, 'migration_type',
                                      'live-migration'))
        self.assertRaises(ValueError, field.coerce, None, 'migration_type',
                          'teleport')

    def test_migration_status(self):
        field = fields.MigrationStatusField()
        expected = {'queued', 'preparing', 'running', 'post-migrating',
                    'completed', 'failed', 'error', 'cancelling',
                    'cancelled', 'accepted', 'pre-migrating', 'migrating',
                    'finished', 'confirmed', 'reverted', 'done'}
        self.assertEqual(expected, set(field.valid_values))
        self.assertRaises(ValueError, field.coerce, None, 'status', 'bogus')

    def test_ended_statuses_keep_error_in_progress(self):
        # 'error' migrations may still hold namespaces: not ended.
        self.assertNotIn(fields.MigrationStatus.ERROR,
                         fields.MigrationStatus.ENDED)
        self.assertTrue(set(fields.MigrationStatus.ENDED).issubset(
            fields.MigrationStatus.ALL))


class TestResourceClass(test.NoDBTestCase):

    def test_valid(self):
        field = fields.ResourceClassField()
        for name in ('VCPU', 'MEMORY_MB', 'CUSTOM_PMEM_NAMESPACE_128G'):
            self.assertEqual(name, field.coerce(None, 'rc', name))

    def test_invalid(self):
        field = fields.ResourceClassField()
        for name in ('', 'vcpu', 'CUSTOM PMEM', 'CUSTOM-PMEM'):
            self.assertRaises(ValueError, field.coerce, None, 'rc', name)
