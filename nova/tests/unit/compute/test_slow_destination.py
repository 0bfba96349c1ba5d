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

"""A live migration's source and a destination slow to answer its calls.

Two of the source's calls to the destination are idempotent and asked
again when they time out (``DESTINATION_CALL_ATTEMPTS`` calls in all):
``pre_live_migration`` (the destination checks its namespaces; a last
timeout fails the migration, which is rolled back), and the handover
after the copy (``post_live_migration_at_destination``), made again
unless the record shows the destination took over meanwhile; only then
does the source let go of its side. Otherwise the move stays
'post-migrating' for the recovery sweep.
"""

from unittest import mock

import oslo_messaging as messaging

from nova.compute import live_migration
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.compute import test_cold_migrate_late

SOURCE, DEST = 'compute-a', 'compute-b'
UUID = '5b0e7c1a-2f4d-4a8e-9c3b-7d6e1f2a4b5c'


class Manager(live_migration.LiveMigrationMixin):
    def __init__(self):
        self._init_live_migration()
        self.compute_rpcapi = mock.Mock()
        self._release_source = mock.Mock()


class HandOverTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = test_cold_migrate_late.admin_context()
        self.instance = test_cold_migrate_late.make_instance(self.context)
        self.manager = Manager()
        self.post = self.manager.compute_rpcapi.\
            post_live_migration_at_destination
        self.migration = objects.Migration(
            self.context, instance_uuid=self.instance.uuid,
            migration_type='live-migration', status='running',
            source_compute=SOURCE, source_node=SOURCE,
            dest_compute=DEST, dest_node=DEST)
        self.migration.create()
        self.instance.migration_context = objects.MigrationContext(
            instance_uuid=self.instance.uuid,
            migration_id=self.migration.id, new_resources=None,
            old_resources=None)
        self.instance.save()

    def _take_over(self):
        """What the destination's step writes: the instance is its own."""
        stored = objects.Instance.get_by_uuid(
            self.context, self.instance.uuid,
            expected_attrs=['migration_context'])
        stored.drop_migration_context()
        stored.host = DEST
        stored.save()

    def _complete(self):
        self.manager._complete_live_migration(
            self.context, self.instance, DEST, self.migration)

    def _stored_status(self):
        return objects.Migration.get_by_id(self.context,
                                           self.migration.id).status

    def test_answered_at_once(self):
        self.post.side_effect = lambda *a, **k: self._take_over()
        self._complete()
        self.post.assert_called_once_with(self.context, self.instance,
                                          self.migration, host=DEST)
        self.manager._release_source.assert_called_once_with(
            self.context, self.instance, self.migration)

    def test_timed_out_then_answered(self):
        def answer(*args, **kwargs):
            if self.post.call_count == 1:
                raise messaging.MessagingTimeout('busy')
            self._take_over()
        self.post.side_effect = answer
        with self.assertLogs('nova.compute.live_migration', 'INFO') as logs:
            self._complete()
        self.assertEqual(2, self.post.call_count)
        # What the admin guide tells operators to look for.
        self.assertIn('did not answer the handover of %s in time; asking '
                      'again' % self.instance.uuid, '\n'.join(logs.output))
        self.manager._release_source.assert_called_once_with(
            self.context, self.instance, self.migration)

    def test_timed_out_but_taken_over_is_not_asked_again(self):
        def late(*args, **kwargs):
            # The destination finished after the caller stopped waiting.
            self._take_over()
            raise messaging.MessagingTimeout('late')
        self.post.side_effect = late
        self._complete()
        self.post.assert_called_once()
        self.manager._release_source.assert_called_once()

    def test_never_answered_is_left_to_the_recovery(self):
        self.post.side_effect = messaging.MessagingTimeout('dead')
        self._complete()
        self.assertEqual(live_migration.DESTINATION_CALL_ATTEMPTS,
                         self.post.call_count)
        self.manager._release_source.assert_not_called()
        self.assertEqual('post-migrating', self._stored_status())
        stored = objects.Instance.get_by_uuid(
            self.context, self.instance.uuid,
            expected_attrs=['migration_context'])
        self.assertEqual(SOURCE, stored.host)
        self.assertIsNotNone(stored.migration_context)

    def test_an_error_is_not_asked_again(self):
        self.post.side_effect = messaging.RemoteError('Boom', 'broken')
        self._complete()
        self.post.assert_called_once()
        self.manager._release_source.assert_not_called()
        self.assertEqual('post-migrating', self._stored_status())

    def test_an_error_after_the_takeover_lets_the_source_go_on(self):
        # A repeated call that lost the race to the first one.
        def refused(*args, **kwargs):
            self._take_over()
            raise exception.UnexpectedTaskStateError(
                instance_uuid=self.instance.uuid, expected='migrating',
                actual=None)
        self.post.side_effect = refused
        self._complete()
        self.manager._release_source.assert_called_once()

    def test_unreadable_record_is_left_to_the_recovery(self):
        self.post.side_effect = messaging.MessagingTimeout('busy')
        with mock.patch.object(objects.Instance, 'get_by_uuid',
                               side_effect=exception.NovaException('db')):
            self._complete()
        self.manager._release_source.assert_not_called()


class PreLiveMigrationTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.manager = Manager()
        self.pre = self.manager.compute_rpcapi.pre_live_migration
        self.instance = mock.Mock(uuid=UUID)

    def _pre(self):
        return self.manager._pre_live_migration(
            mock.sentinel.context, self.instance, mock.sentinel.data, DEST)

    def test_timed_out_then_answered(self):
        self.pre.side_effect = [messaging.MessagingTimeout('busy'),
                                mock.sentinel.answer]
        with self.assertLogs('nova.compute.live_migration', 'INFO') as logs:
            self.assertIs(mock.sentinel.answer, self._pre())
        self.assertIn('did not answer pre_live_migration of %s in time; '
                      'asking again' % UUID, '\n'.join(logs.output))
        self.assertEqual(2, self.pre.call_count)
        self.pre.assert_called_with(mock.sentinel.context, self.instance,
                                    mock.sentinel.data, host=DEST)

    def test_never_answered_raises_the_timeout(self):
        self.pre.side_effect = messaging.MessagingTimeout('dead')
        self.assertRaises(messaging.MessagingTimeout, self._pre)
        self.assertEqual(live_migration.DESTINATION_CALL_ATTEMPTS,
                         self.pre.call_count)

    def test_a_refusal_is_not_asked_again(self):
        self.pre.side_effect = messaging.RemoteError(
            'DestinationVPMEMMismatch', 'sizes differ')
        self.assertRaises(messaging.RemoteError, self._pre)
        self.pre.assert_called_once()
