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

"""The compute API's live migration operations (real database), and
the ``os-migrateLive`` handler's choice of sync or async per microversion."""

import json
import threading
from unittest import mock

import oslo_messaging as messaging
from oslo_utils import timeutils
from oslo_utils import uuidutils
import webob

from nova.api import wsgi
from nova.compute import api as compute_api
from nova.compute import instance_actions
from nova.compute import move_api
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields
from nova import test


class LiveMigrateAPITestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True)
        for host in ('compute-a', 'compute-b'):
            objects.Service(self.context, host=host, binary='nova-compute',
                            topic='compute',
                            last_seen_up=timeutils.utcnow()).create()
        self.flavor = objects.Flavor(
            self.context, name='small', flavorid='small', memory_mb=128,
            vcpus=1, root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()
        self.instance = self.create_instance()
        self.api = compute_api.API()
        self.api.conductor_rpcapi = mock.Mock()
        self.api.compute_rpcapi = mock.Mock()
        self.conductor = self.api.conductor_rpcapi.live_migrate_instance

    def create_instance(self, **values):
        fields_ = dict(uuid=uuidutils.generate_uuid(),
                       user_id='fake-user', project_id='fake-project',
                       display_name='guest', flavor=self.flavor,
                       host='compute-a', node='compute-a',
                       vm_state=vm_states.ACTIVE,
                       power_state=power_state.RUNNING, task_state=None)
        fields_.update(values)
        instance = objects.Instance(self.context, **fields_)
        instance.create()
        return instance

    def reload(self, instance=None):
        return objects.Instance.get_by_uuid(
            self.context, (instance or self.instance).uuid)

    def migrations(self, instance=None):
        return objects.MigrationList.get_by_filters(
            self.context,
            {'instance_uuid': (instance or self.instance).uuid}).objects

    def conductor_queues(self, context, instance, migration, **kwargs):
        """What a conductor whose checks pass does to the row."""
        stored = objects.Migration.get_by_id(context, migration.id)
        stored.status = fields.MigrationStatus.QUEUED
        stored.dest_compute = stored.dest_node = 'compute-b'
        stored.save()

    def conductor_refuses(self, context, instance, migration, **kwargs):
        """A conductor whose task rolled back, then raised."""
        stored_migration = objects.Migration.get_by_id(context,
                                                       migration.id)
        stored_migration.status = fields.MigrationStatus.ERROR
        stored_migration.save()
        stored = objects.Instance.get_by_uuid(context, instance.uuid)
        stored.task_state = None
        stored.save(expected_task_state=[task_states.MIGRATING])
        raise exception.MigrationPreCheckError(reason='compute-b too old')

    def add_migration(self, status, migration_type='live-migration',
                      instance=None):
        migration = objects.Migration(
            self.context, instance_uuid=(instance or self.instance).uuid,
            migration_type=migration_type, status=status,
            source_compute='compute-a', source_node='compute-a',
            dest_compute='compute-b', dest_node='compute-b')
        migration.create()
        return migration

    # -- live_migrate ---------------------------------------------------------

    def test_live_migrate_records_and_asks_the_conductor(self):
        seen = {}

        def conductor(context, instance, migration, **kwargs):
            # The instance is taken before the conductor hears of it.
            seen['task_state'] = self.reload().task_state
            seen['migration'] = objects.Migration.get_by_id(context,
                                                            migration.id)
            self.conductor_queues(context, instance, migration, **kwargs)

        self.conductor.side_effect = conductor
        migration = self.api.live_migrate(self.context, self.instance,
                                          host_name='compute-b', force=True,
                                          block_migration=False)
        self.assertEqual(task_states.MIGRATING, seen['task_state'])
        accepted = seen['migration']
        self.assertEqual(
            ('live-migration', 'accepted', 'compute-a', 'compute-a',
             'compute-b', self.instance.uuid, 'fake-user', 'fake-project'),
            (accepted.migration_type, accepted.status,
             accepted.source_compute, accepted.source_node,
             accepted.dest_compute, accepted.instance_uuid,
             accepted.user_id, accepted.project_id))
        self.conductor.assert_called_once_with(
            self.context, self.instance, mock.ANY, host='compute-b',
            force=True, block_migration=False, async_=False)
        # What the caller gets back is the row as the conductor left it.
        self.assertEqual(accepted.id, migration.id)
        self.assertEqual(fields.MigrationStatus.QUEUED, migration.status)
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)

    def test_scheduled_live_migrate_has_no_destination_yet(self):
        self.conductor.side_effect = self.conductor_queues
        self.api.live_migrate(self.context, self.instance)
        self.conductor.assert_called_once_with(
            self.context, self.instance, mock.ANY, host=None, force=False,
            block_migration=False, async_=False)
        self.assertIsNone(self.conductor.call_args[0][2].dest_compute)

    def test_paused_instance_accepted(self):
        instance = self.create_instance(vm_state=vm_states.PAUSED,
                                        power_state=power_state.PAUSED)
        self.api.live_migrate(self.context, instance)
        self.assertEqual(1, len(self.migrations(instance)))

    def _assert_refused_untouched(self, instance, error_cls, *args):
        before = self.reload(instance).task_state
        self.assertRaises(error_cls, self.api.live_migrate, self.context,
                          instance, *args)
        self.conductor.assert_not_called()
        self.assertEqual([], self.migrations(instance))
        self.assertEqual(before, self.reload(instance).task_state)

    def test_stopped_instance_refused(self):
        instance = self.create_instance(vm_state=vm_states.STOPPED,
                                        power_state=power_state.SHUTDOWN)
        self._assert_refused_untouched(instance,
                                       exception.InstanceInvalidState)

    def test_busy_instance_refused(self):
        instance = self.create_instance(task_state=task_states.REBOOTING)
        self._assert_refused_untouched(instance,
                                       exception.InstanceInvalidState)

    def test_unknown_host_refused(self):
        self._assert_refused_untouched(self.instance,
                                       exception.ComputeHostNotFound,
                                       'compute-z')

    def test_stale_second_request_conflicts(self):
        stale = self.reload()
        self.api.live_migrate(self.context, self.instance)
        err = self.assertRaises(exception.UnexpectedTaskStateError,
                                self.api.live_migrate, self.context, stale)
        self.assertEqual(409, err.code)
        self.assertEqual(1, self.conductor.call_count)
        self.assertEqual(1, len(self.migrations()))
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)

    def test_concurrent_requests_exactly_one_proceeds(self):
        copies = [self.reload() for _ in range(2)]
        barrier = threading.Barrier(2)
        results = []

        def request(instance):
            barrier.wait()
            try:
                self.api.live_migrate(self.context, instance)
                results.append('migrating')
            except exception.UnexpectedTaskStateError:
                results.append('conflict')

        threads = [threading.Thread(target=request, args=(c,))
                   for c in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        self.assertEqual(['conflict', 'migrating'], sorted(results))
        self.assertEqual(1, self.conductor.call_count)
        self.assertEqual(1, len(self.migrations()))

    def test_refused_by_the_conductor(self):
        self.conductor.side_effect = self.conductor_refuses
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.api.live_migrate, self.context,
                                self.instance, 'compute-b')
        self.assertIn('compute-b too old', str(err))
        self.assertIsNone(self.reload().task_state)
        [migration] = self.migrations()
        self.assertEqual(fields.MigrationStatus.ERROR, migration.status)

    def test_conductor_that_never_ran_the_task(self):
        self.conductor.side_effect = exception.RPCPinnedToOldVersion(
            method='live_migrate_instance', needed='1.2', pinned='1.1',
            host='the conductors')
        self.assertRaises(exception.RPCPinnedToOldVersion,
                          self.api.live_migrate, self.context, self.instance)
        # The API's own cleanup: idle instance, migration in error.
        self.assertIsNone(self.reload().task_state)
        [migration] = self.migrations()
        self.assertEqual(fields.MigrationStatus.ERROR, migration.status)

    def test_refusal_does_not_unlock_a_newer_migration(self):
        calls = []

        def refuse_then_another_starts(context, instance, migration,
                                       **kwargs):
            calls.append(migration.id)
            if len(calls) > 1:
                return  # the second request's conductor: accepted
            try:
                self.conductor_refuses(context, instance, migration)
            finally:
                # A second request took the idle instance meanwhile.
                self.api.live_migrate(context, self.reload())

        self.conductor.side_effect = refuse_then_another_starts
        self.assertRaises(exception.MigrationPreCheckError,
                          self.api.live_migrate, self.context, self.instance)
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)
        statuses = sorted(m.status for m in self.migrations())
        self.assertEqual(['accepted', 'error'], statuses)

    # -- asynchronous (REST 2.34+) -------------------------------------------

    def test_async_returns_once_recorded(self):
        # A cast: the conductor has not looked at it yet.
        migration = self.api.live_migrate(self.context, self.instance,
                                          host_name='compute-b',
                                          async_=True)
        self.conductor.assert_called_once_with(
            self.context, self.instance, mock.ANY, host='compute-b',
            force=False, block_migration=False, async_=True)
        self.assertEqual(fields.MigrationStatus.ACCEPTED, migration.status)
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)
        [action] = objects.InstanceActionList.get_by_instance_uuid(
            self.context, self.instance.uuid)
        self.assertEqual(('live-migration', None),
                         (action.action, action.message))

    def test_async_cast_not_sent_is_cleaned_up(self):
        self.conductor.side_effect = exception.RPCPinnedToOldVersion(
            method='live_migrate_instance', needed='1.2', pinned='1.1',
            host='the conductors')
        self.assertRaises(exception.RPCPinnedToOldVersion,
                          self.api.live_migrate, self.context, self.instance,
                          async_=True)
        self.assertIsNone(self.reload().task_state)
        [migration] = self.migrations()
        self.assertEqual(fields.MigrationStatus.ERROR, migration.status)

    # -- a call the conductor does not answer in time -------------------------

    def _late(self, conductor_does):
        def late(context, instance, migration, **kwargs):
            conductor_does(context, instance, migration, **kwargs)
            raise messaging.MessagingTimeout('late')
        self.conductor.side_effect = late

    def test_late_answer_after_the_checks_passed_is_success(self):
        self._late(self.conductor_queues)
        migration = self.api.live_migrate(self.context, self.instance)
        self.assertEqual(fields.MigrationStatus.QUEUED, migration.status)
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)

    def test_late_refusal_raises_its_recorded_reason(self):
        def refuses_with_event(context, instance, migration, **kwargs):
            try:
                with instance_actions.event(
                        context, instance.uuid,
                        'conductor_live_migrate_instance', 'conductor'):
                    self.conductor_refuses(context, instance, migration)
            except exception.MigrationPreCheckError:
                pass

        self._late(refuses_with_event)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.api.live_migrate, self.context,
                                self.instance, 'compute-b')
        self.assertIn('compute-b too old', str(err))
        self.assertEqual(400, err.code)
        self.assertIsNone(self.reload().task_state)
        [migration] = self.migrations()
        self.assertEqual(fields.MigrationStatus.ERROR, migration.status)

    def test_late_refusal_without_event_names_the_migration(self):
        def refuses(context, instance, migration, **kwargs):
            try:
                self.conductor_refuses(context, instance, migration)
            except exception.MigrationPreCheckError:
                pass

        self._late(refuses)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.api.live_migrate, self.context,
                                self.instance)
        [migration] = self.migrations()
        self.assertIn('%s ended in status error' % migration.uuid, str(err))
        self.assertIn('openstack server event list %s' % self.instance.uuid,
                      str(err))

    def test_late_and_undecided_is_accepted(self):
        # Not an error: the conductor goes on and the migration may well
        # happen; the client follows it as it would from 2.34.
        self.flags(rpc_response_timeout=7)
        self._late(lambda *args, **kwargs: None)
        with self.assertLogs(move_api.LOG.logger.name,
                             'WARNING') as logs:
            migration = self.api.live_migrate(self.context, self.instance)
        self.assertEqual(fields.MigrationStatus.ACCEPTED, migration.status)
        self.assertIn('within 7s', logs.output[0])
        self.assertIn(migration.uuid, logs.output[0])
        # It may still be running: nothing is reset.
        self.assertEqual(task_states.MIGRATING, self.reload().task_state)
        [recorded] = self.migrations()
        self.assertEqual(fields.MigrationStatus.ACCEPTED, recorded.status)
        [action] = objects.InstanceActionList.get_by_instance_uuid(
            self.context, self.instance.uuid)
        self.assertIsNone(action.message)

    # -- abort and force-complete ---------------------------------------------

    def migrating(self):
        self.instance.task_state = task_states.MIGRATING
        self.instance.save()
        return self.instance

    def test_abort(self):
        instance = self.migrating()
        for status in ('queued', 'preparing', 'running'):
            migration = self.add_migration(status)
            self.api.live_migrate_abort(self.context, instance, migration.id)
            self.api.compute_rpcapi.live_migration_abort.assert_called_with(
                self.context, instance, migration.id, host='compute-a')
        self.assertEqual(
            3, self.api.compute_rpcapi.live_migration_abort.call_count)

    def test_abort_refused_in_other_statuses(self):
        instance = self.migrating()
        for status in ('accepted', 'completed', 'failed', 'error',
                       'cancelled'):
            migration = self.add_migration(status)
            err = self.assertRaises(exception.InvalidMigrationState,
                                    self.api.live_migrate_abort,
                                    self.context, instance, migration.id)
            self.assertIn('is %s: cannot abort' % status, str(err))
            self.assertEqual(400, err.code)
        self.api.compute_rpcapi.live_migration_abort.assert_not_called()

    def test_abort_of_another_instances_migration(self):
        other = self.create_instance(task_state=task_states.MIGRATING)
        migration = self.add_migration('running', instance=other)
        self.assertRaises(exception.MigrationNotFound,
                          self.api.live_migrate_abort, self.context,
                          self.migrating(), migration.id)
        self.api.compute_rpcapi.live_migration_abort.assert_not_called()

    def test_abort_of_a_resize_refused(self):
        migration = self.add_migration('running', migration_type='resize')
        err = self.assertRaises(exception.InvalidMigrationState,
                                self.api.live_migrate_abort, self.context,
                                self.migrating(), migration.id)
        self.assertIn('a resize, not a live migration', str(err))

    def test_force_complete(self):
        migration = self.add_migration('running')
        instance = self.migrating()
        self.api.live_migrate_force_complete(self.context, instance,
                                             migration.id)
        (self.api.compute_rpcapi.live_migration_force_complete.
         assert_called_once_with(self.context, instance, host='compute-a'))

    def test_force_complete_only_while_running(self):
        instance = self.migrating()
        for status in ('queued', 'preparing', 'completed'):
            migration = self.add_migration(status)
            err = self.assertRaises(exception.InvalidMigrationState,
                                    self.api.live_migrate_force_complete,
                                    self.context, instance, migration.id)
            self.assertIn('is %s: cannot force-complete' % status, str(err))
        (self.api.compute_rpcapi.live_migration_force_complete.
         assert_not_called())

    def test_force_complete_needs_a_migrating_instance(self):
        migration = self.add_migration('running')
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.api.live_migrate_force_complete,
                                self.context, self.instance, migration.id)
        self.assertIn('task_state None', str(err))
        (self.api.compute_rpcapi.live_migration_force_complete.
         assert_not_called())


class LiveMigrateHandlerTestCase(test.NoDBTestCase):
    """``POST /servers/{id}/action`` ``os-migrateLive`` through the API
    application, the compute API a stand-in."""

    UUID = '0e7c1b52-6f7d-4f0e-8a55-1b6c4b3f9a10'

    def setUp(self):
        super().setUp()
        self.app = wsgi.APIApplication(auth_strategy='noauth2')
        self.compute = mock.Mock()
        for target, value in (
                ('nova.api.handlers.servers.compute', self.compute),
                ('nova.objects.Instance.get_by_uuid', objects.Instance(
                    uuid=self.UUID, project_id='owner', user_id='u',
                    vm_state=vm_states.ACTIVE, task_state=None,
                    host='compute-a', node='compute-a', locked=False,
                    locked_by=None, locked_reason=None))):
            patcher = mock.patch(target, return_value=value)
            patcher.start()
            self.addCleanup(patcher.stop)

    def migrate_live(self, version, **args):
        body = {'os-migrateLive': dict({'host': 'compute-b',
                                        'block_migration': 'auto'}, **args)}
        if tuple(int(n) for n in version.split('.')) < (2, 25):
            body['os-migrateLive']['block_migration'] = False
        req = webob.Request.blank('/v2.1/servers/%s/action' % self.UUID,
                                  method='POST')
        req.headers['X-Auth-Token'] = 'admin:adminproj'
        req.headers['OpenStack-API-Version'] = 'compute ' + version
        req.body = json.dumps(body).encode()
        req.content_type = 'application/json'
        return req.get_response(self.app)

    def test_async_from_2_34(self):
        # Before 2.30 a named host is forced (no scheduler check), as Nova.
        for version, async_, force in (
                ('2.1', False, True), ('2.29', False, True),
                ('2.30', False, False), ('2.33', False, False),
                ('2.34', True, False), ('2.67', True, False),
                ('2.68', True, False), ('2.100', True, False)):
            self.compute.live_migrate.reset_mock()
            resp = self.migrate_live(version)
            self.assertEqual(202, resp.status_int, version)
            self.compute.live_migrate.assert_called_once_with(
                mock.ANY, mock.ANY, host_name='compute-b', force=force,
                block_migration=False, async_=async_)

    def test_force_from_2_30_to_2_67(self):
        for version in ('2.30', '2.67'):
            self.compute.live_migrate.reset_mock()
            resp = self.migrate_live(version, force=True)
            self.assertEqual(202, resp.status_int, version)
            self.assertTrue(
                self.compute.live_migrate.call_args.kwargs['force'])

    def test_sync_refusals_keep_their_codes(self):
        for error, code, kind in (
                (exception.MigrationPreCheckError(reason='compute-b full'),
                 400, 'badRequest'),
                (exception.NoValidHost(reason='compute-b full'), 400,
                 'badRequest'),
                # Nova: an unknown host is the request's fault (400).
                (exception.ComputeHostNotFound(host='compute-b'), 400,
                 'badRequest')):
            self.compute.live_migrate.side_effect = error
            resp = self.migrate_live('2.33')
            self.assertEqual(code, resp.status_int, resp.text)
            self.assertIn('compute-b', resp.json[kind]['message'])

    def test_late_conductor_is_202(self):
        # The compute API accepted it without the conductor's answer.
        self.compute.live_migrate.return_value = objects.Migration(
            status=fields.MigrationStatus.ACCEPTED)
        resp = self.migrate_live('2.33')
        self.assertEqual(202, resp.status_int, resp.text)
