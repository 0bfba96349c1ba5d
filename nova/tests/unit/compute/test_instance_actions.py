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

"""The recording helpers: what they record, and that they never fail."""

from unittest import mock

import fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.compute import api as compute_api
from nova.compute import instance_actions
from nova.compute import power_state
from nova.compute import task_states
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test


def request_context(request_id=None, project_id='proj'):
    return nova_context.RequestContext(
        user_id='alice', project_id=project_id,
        request_id=request_id or 'req-' + uuidutils.generate_uuid())


class RecordingTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.uuid = uuidutils.generate_uuid()
        self.ctxt = request_context()

    def action(self, ctxt=None):
        ctxt = ctxt or self.ctxt
        return objects.InstanceAction.get_by_request_id(ctxt, self.uuid,
                                                        ctxt.request_id)

    def events(self, ctxt=None):
        return objects.InstanceActionEventList.get_by_action(
            self.ctxt, self.action(ctxt).id)


class TestNames(test.NoDBTestCase):

    def test_nova_action_names(self):
        # Users and tempest match on these: they are Nova's.
        self.assertEqual(
            ('create', 'delete', 'migrate', 'confirmResize', 'revertResize',
             'live-migration', 'live_migration_cancel',
             'live_migration_force_complete'),
            (instance_actions.CREATE, instance_actions.DELETE,
             instance_actions.MIGRATE, instance_actions.CONFIRM_RESIZE,
             instance_actions.REVERT_RESIZE, instance_actions.LIVE_MIGRATION,
             instance_actions.LIVE_MIGRATION_CANCEL,
             instance_actions.LIVE_MIGRATION_FORCE_COMPLETE))

    def test_error_details(self):
        details = instance_actions.error_details
        self.assertEqual(
            'Migration pre-check error: same host',
            details(exception.MigrationPreCheckError(reason='same host')))
        # Other exceptions may describe the deployment: class name only.
        self.assertEqual('OSError',
                         details(OSError('/dev/dax0.0: I/O error')))
        self.assertEqual('first line', details('first line\nsecond'))
        self.assertEqual('ValueError', details(ValueError('')))


class TestStartAndFinish(RecordingTestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=10, nuke_handlers=False))

    def test_start_records_the_request(self):
        action = instance_actions.start_action(
            self.ctxt, self.uuid, instance_actions.LIVE_MIGRATION)
        self.assertIsInstance(action, objects.InstanceAction)
        stored = self.action()
        self.assertEqual(
            ('live-migration', self.ctxt.request_id, 'alice', 'proj'),
            (stored.action, stored.request_id, stored.user_id,
             stored.project_id))
        self.assertIsNotNone(stored.start_time)
        self.assertIsNone(stored.finish_time)
        self.assertIsNone(stored.message)

    def test_finish(self):
        instance_actions.start_action(self.ctxt, self.uuid,
                                      instance_actions.MIGRATE)
        finished = instance_actions.finish_action(
            self.ctxt, self.uuid, message=instance_actions.ERROR_MESSAGE)
        self.assertEqual('Error', finished.message)
        self.assertIsNotNone(self.action().finish_time)
        # Finishing again keeps the message and the first finish time.
        again = instance_actions.finish_action(self.ctxt, self.uuid)
        self.assertEqual(('Error', finished.finish_time),
                         (again.message, again.finish_time))

    def test_finish_without_action_is_logged(self):
        self.assertIsNone(instance_actions.finish_action(self.ctxt,
                                                         self.uuid))
        self.assertIn('Not recording', self.logger.output)

    def test_database_failure_is_logged_not_raised(self):
        with mock.patch('nova.db.api.instance_action_create',
                        side_effect=RuntimeError('db gone')):
            self.assertIsNone(instance_actions.start_action(
                self.ctxt, self.uuid, instance_actions.DELETE))
        self.assertIn('Could not record action delete', self.logger.output)
        self.assertIn('db gone', self.logger.output)

class TestEventBlock(RecordingTestCase):

    def setUp(self):
        super().setUp()
        instance_actions.start_action(self.ctxt, self.uuid,
                                      instance_actions.LIVE_MIGRATION)

    def test_success(self):
        with instance_actions.event(self.ctxt, self.uuid, 'step', 'cond'):
            running = self.events()[0]
            self.assertIsNone(running.result)
            self.assertIsNone(running.finish_time)
        event = self.events()[0]
        self.assertEqual(('step', 'Success', 'cond'),
                         (event.event, event.result, event.host))
        self.assertIsNotNone(event.finish_time)
        self.assertIsNone(event.traceback)
        self.assertIsNone(event.details)
        self.assertIsNone(self.action().message)

    def test_failure_is_recorded_and_reraised(self):
        error = exception.MigrationPreCheckError(reason='same host (a)')

        def refuse():
            with instance_actions.event(self.ctxt, self.uuid, 'step', 'c'):
                raise error

        raised = self.assertRaises(exception.MigrationPreCheckError, refuse)
        self.assertIs(error, raised)
        event = self.events()[0]
        self.assertEqual('Error', event.result)
        self.assertEqual('Migration pre-check error: same host (a)',
                         event.details)
        self.assertIn('Traceback', event.traceback)
        self.assertIn('in refuse', event.traceback)
        self.assertIn('MigrationPreCheckError', event.traceback)
        self.assertEqual('Error', self.action().message)

    def test_other_exception_keeps_its_text_out_of_details(self):
        def fail():
            with instance_actions.event(self.ctxt, self.uuid, 'step', 'c'):
                raise OSError('/secret/path failed')

        self.assertRaises(OSError, fail)
        event = self.events()[0]
        self.assertEqual('OSError', event.details)
        self.assertIn('/secret/path failed', event.traceback)

    def test_no_action_for_the_request(self):
        other = request_context()
        ran = []
        with instance_actions.event(other, self.uuid, 'step', 'c'):
            ran.append(True)
        self.assertEqual([True], ran)
        self.assertRaises(ValueError, self._fail_in_block, other)
        # Nothing was attached to the action of another request.
        self.assertEqual([], self.events().objects)

    def _fail_in_block(self, ctxt):
        with instance_actions.event(ctxt, self.uuid, 'step', 'c'):
            raise ValueError('original')

    def test_recording_failures_never_hide_the_original(self):
        with mock.patch('nova.db.api.instance_action_event_finish',
                        side_effect=RuntimeError('db hiccup')):
            exc = self.assertRaises(ValueError, self._fail_in_block,
                                    self.ctxt)
        self.assertEqual('original', str(exc))
        # The start was recorded, the finish could not be.
        self.assertEqual([None], [e.result for e in self.events()])

    def test_recording_failures_never_fail_the_block(self):
        ran = []
        with mock.patch('nova.db.api.instance_action_event_start',
                        side_effect=RuntimeError('db hiccup')):
            with instance_actions.event(self.ctxt, self.uuid, 'step', 'c'):
                ran.append(True)
        self.assertEqual([True], ran)
        with mock.patch('nova.db.api.instance_action_event_finish',
                        side_effect=RuntimeError('db hiccup')):
            with instance_actions.event(self.ctxt, self.uuid, 'step2', 'c'):
                ran.append(True)
        self.assertEqual([True, True], ran)

    def test_fallback_action_kind(self):
        periodic = request_context()
        with instance_actions.event(periodic, self.uuid, 'sweep', 'c',
                                    action=instance_actions.LIVE_MIGRATION):
            pass
        self.assertEqual(['sweep'], [e.event for e in self.events()])


class TestRecordEvent(RecordingTestCase):

    def setUp(self):
        super().setUp()
        instance_actions.start_action(self.ctxt, self.uuid,
                                      instance_actions.LIVE_MIGRATION)

    def test_success(self):
        event = instance_actions.record_event(self.ctxt, self.uuid, 'done',
                                              'compute-a')
        self.assertEqual('Success', event.result)
        self.assertEqual(event.start_time, event.finish_time)
        self.assertEqual([('done', 'Success', 'compute-a')],
                         [(e.event, e.result, e.host)
                          for e in self.events()])

    def test_error_message(self):
        instance_actions.record_event(self.ctxt, self.uuid, 'done', 'a',
                                      error='destination went away')
        event = self.events()[0]
        self.assertEqual(('Error', 'destination went away', None),
                         (event.result, event.details, event.traceback))
        self.assertEqual('Error', self.action().message)

    def test_error_exception_with_traceback(self):
        try:
            raise exception.MigrationPreCheckError(reason='gone')
        except exception.MigrationPreCheckError as e:
            caught = e
        instance_actions.record_event(self.ctxt, self.uuid, 'done', 'a',
                                      error=caught)
        event = self.events()[0]
        self.assertEqual('Migration pre-check error: gone', event.details)
        self.assertIn('test_error_exception_with_traceback',
                      event.traceback)

    def test_sweep_attaches_to_newest_action_of_its_kind(self):
        instance_actions.start_action(request_context(), self.uuid,
                                      instance_actions.DELETE)
        sweep = request_context(project_id=None)
        event = instance_actions.record_event(
            sweep, self.uuid, 'recover_live_migration', 'compute-a',
            error='source host restarted during the migration',
            action=instance_actions.LIVE_MIGRATION)
        self.assertEqual(self.action().id, event.action_id)
        self.assertEqual('Error', self.action().message)

    def test_sweep_without_kind_or_match_records_nothing(self):
        sweep = request_context()
        self.assertIsNone(instance_actions.record_event(
            sweep, self.uuid, 'recover', 'a', error='x'))
        self.assertIsNone(instance_actions.record_event(
            sweep, self.uuid, 'recover', 'a', error='x',
            action=instance_actions.MIGRATE))
        self.assertEqual([], self.events().objects)


class TestComputeAPIRecords(test.TestCase):
    """Each request the compute API accepts is an action of the server."""

    def setUp(self):
        super().setUp()
        admin = request_context()
        for host in ('compute-a', 'compute-b'):
            objects.Service(admin, host=host, binary='nova-compute',
                            topic='compute',
                            last_seen_up=timeutils.utcnow()).create()
        self.flavor = objects.Flavor(
            admin, name='small', flavorid='small', memory_mb=128, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()
        self.api = compute_api.API()
        self.api.conductor_rpcapi = mock.Mock()
        self.api.compute_rpcapi = mock.Mock()
        self.api.reportclient = mock.Mock()
        self.instance = self.create_instance()

    def create_instance(self, **values):
        fields_ = dict(uuid=uuidutils.generate_uuid(), user_id='alice',
                       project_id='proj', display_name='guest',
                       flavor=self.flavor, host='compute-a',
                       node='compute-a', vm_state=vm_states.ACTIVE,
                       power_state=power_state.RUNNING, task_state=None)
        fields_.update(values)
        instance = objects.Instance(request_context(), **fields_)
        instance.create()
        return instance

    def actions(self, instance=None):
        return [(a.action, a.request_id, a.message, bool(a.finish_time))
                for a in objects.InstanceActionList.get_by_instance_uuid(
                    request_context(), (instance or self.instance).uuid)]

    def add_migration(self, status, migration_type):
        migration = objects.Migration(
            request_context(), instance_uuid=self.instance.uuid,
            migration_type=migration_type, status=status,
            source_compute='compute-a', source_node='compute-a',
            dest_compute='compute-b', dest_node='compute-b')
        migration.create()
        return migration

    def test_create(self):
        ctxt = request_context()
        seen = []
        self.api.conductor_rpcapi.build_instances.side_effect = (
            lambda context, instance, **kw: seen.append(
                self.actions(instance)))
        instance = self.api.create(ctxt, self.flavor, 'vm')
        # Recorded before the conductor hears of it.
        self.assertEqual([[('create', ctxt.request_id, None, False)]], seen)
        self.assertEqual('alice', objects.InstanceAction.get_by_request_id(
            ctxt, instance.uuid, ctxt.request_id).user_id)

    def test_create_with_a_stored_bad_pmem_label_records_nothing(self):
        # Stored before hw:pmem was checked when set: the flavor API would
        # refuse it today, the database still holds it.
        label = 'A' * 240
        admin = request_context()
        objects.Flavor(
            admin, name='old', flavorid='old', memory_mb=128, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL,' + label}
        ).create()
        flavor = objects.Flavor.get_by_flavor_id(admin, 'old')
        self.assertEqual('SMALL,' + label, flavor.extra_specs['hw:pmem'])
        new_uuid = uuidutils.generate_uuid()
        with mock.patch.object(compute_api.uuidutils, 'generate_uuid',
                               return_value=new_uuid):
            exc = self.assertRaises(exception.InvalidPMEMExtraSpec,
                                    self.api.create, request_context(),
                                    flavor, 'vm')
        self.assertEqual(
            "Flavor extra spec hw:pmem='SMALL,%s' is invalid: label %r... "
            "(240 characters) is too long; a label is 1 to 233 characters "
            "of A-Z, a-z, 0-9 and '_'" % (label, 'A' * 40),
            exc.format_message().split(' (it becomes')[0])
        # No instance (live or deleted), no action, nothing scheduled.
        self.assertEqual(
            [self.instance.uuid],
            [i.uuid for i in objects.InstanceList.get_by_filters(
                admin, {'deleted': None})])
        self.assertEqual([], objects.InstanceActionList.get_by_instance_uuid(
            admin, new_uuid).objects)
        self.api.conductor_rpcapi.build_instances.assert_not_called()

    def test_delete_on_a_host(self):
        ctxt = request_context()
        self.api.delete(ctxt, self.instance)
        self.assertEqual([('delete', ctxt.request_id, None, False)],
                         self.actions())
        self.api.compute_rpcapi.terminate_instance.assert_called_once()

    def test_delete_before_a_host_is_finished_at_once(self):
        instance = self.create_instance(host=None, node=None,
                                        vm_state=vm_states.BUILDING,
                                        task_state=task_states.SCHEDULING)
        ctxt = request_context()
        self.api.delete(ctxt, instance)
        self.assertEqual([('delete', ctxt.request_id, None, True)],
                         self.actions(instance))

    def test_delete_before_a_host_left_half_done_may_be_asked_again(self):
        # nova-api stopped in its own delete of an instance that never
        # reached a host: nobody else would finish it.
        instance = self.create_instance(host=None, node=None,
                                        vm_state=vm_states.BUILDING,
                                        task_state=task_states.DELETING)
        self.api.delete(request_context(), instance)
        self.assertRaises(exception.InstanceNotFound,
                          objects.Instance.get_by_uuid, request_context(),
                          instance.uuid)

    def test_delete_while_its_host_deletes_it_is_refused(self):
        self.instance.task_state = task_states.DELETING
        self.instance.save()
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, request_context(), self.instance)
        self.api.compute_rpcapi.terminate_instance.assert_not_called()

    def test_delete_refused_records_nothing(self):
        self.instance.task_state = task_states.MIGRATING
        self.instance.save()
        self.assertRaises(exception.UnexpectedTaskStateError,
                          self.api.delete, request_context(), self.instance)
        self.assertEqual([], self.actions())

    def test_delete_of_a_resized_server_confirms_within_its_action(self):
        self.instance.vm_state = vm_states.RESIZED
        self.instance.save()
        self.add_migration('finished', 'migration')

        def confirmed(context, instance, migration, host, wait):
            stored = objects.Instance.get_by_uuid(context, instance.uuid)
            stored.vm_state = vm_states.ACTIVE
            stored.task_state = None
            stored.save()

        self.api.compute_rpcapi.confirm_resize.side_effect = confirmed
        ctxt = request_context()
        self.api.delete(ctxt, self.instance)
        self.assertEqual([('delete', ctxt.request_id, None, False)],
                         self.actions())

    def test_live_migration_and_its_refusal(self):
        ctxt = request_context()
        self.api.conductor_rpcapi.live_migrate_instance.side_effect = (
            exception.RPCPinnedToOldVersion(
                method='live_migrate_instance', needed='1.2', pinned='1.1',
                host='the conductors'))
        self.assertRaises(exception.RPCPinnedToOldVersion,
                          self.api.live_migrate, ctxt, self.instance)
        # A conductor that never ran: the API ends the action itself.
        self.assertEqual([('live-migration', ctxt.request_id, 'Error',
                           True)], self.actions())

    def test_live_migration_accepted(self):
        ctxt = request_context()
        self.api.live_migrate(ctxt, self.instance, 'compute-b')
        self.assertEqual([('live-migration', ctxt.request_id, None, False)],
                         self.actions())

    def test_busy_server_records_nothing(self):
        self.instance.task_state = task_states.DELETING
        self.instance.save()
        self.assertRaises(exception.InstanceInvalidState,
                          self.api.live_migrate, request_context(),
                          self.instance)
        self.assertEqual([], self.actions())

    def test_abort_and_force_complete(self):
        self.instance.task_state = task_states.MIGRATING
        self.instance.save()
        migration = self.add_migration('running', 'live-migration')
        abort, force = request_context(), request_context()
        self.api.live_migrate_abort(abort, self.instance, migration.id)
        self.api.live_migrate_force_complete(force, self.instance,
                                             migration.id)
        self.assertEqual(
            [('live_migration_force_complete', force.request_id, None,
              False),
             ('live_migration_cancel', abort.request_id, None, False)],
            self.actions())

    def test_cold_migrate_confirm_revert(self):
        migrate = request_context()
        self.api.migrate(migrate, self.instance, 'compute-b')
        self.instance.vm_state = vm_states.RESIZED
        self.instance.task_state = None
        self.instance.save()
        self.add_migration('finished', 'migration')
        confirm = request_context()
        self.api.confirm_resize(confirm, self.instance)
        self.instance.task_state = None
        self.instance.save()
        revert = request_context()
        self.api.revert_resize(revert, self.instance)
        self.assertEqual(
            [('revertResize', revert.request_id, None, False),
             ('confirmResize', confirm.request_id, None, False),
             ('migrate', migrate.request_id, None, False)],
            self.actions())

    def test_cold_migrate_refused(self):
        ctxt = request_context()
        self.api.conductor_rpcapi.migrate_server.side_effect = (
            exception.MigrationPreCheckError(reason='no'))
        self.assertRaises(exception.MigrationPreCheckError,
                          self.api.migrate, ctxt, self.instance)
        self.assertEqual([('migrate', ctxt.request_id, 'Error', True)],
                         self.actions())

    def test_delete_whose_confirm_fails_ends_its_action(self):
        self.instance.vm_state = vm_states.RESIZED
        self.instance.save()
        self.add_migration('finished', 'migration')
        self.api.compute_rpcapi.confirm_resize.side_effect = (
            exception.ComputeServiceUnavailable(host='compute-a'))
        ctxt = request_context()
        self.assertRaises(exception.ComputeServiceUnavailable,
                          self.api.delete, ctxt, self.instance)
        self.assertEqual([('delete', ctxt.request_id, 'Error', True)],
                         self.actions())
