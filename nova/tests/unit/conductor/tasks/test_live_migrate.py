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

"""LiveMigrationTask against real placement and a real database."""

from unittest import mock

import oslo_messaging as messaging

from nova.compute import power_state
from nova.compute import vm_states
from nova.conductor.tasks import base as task_base
from nova.conductor.tasks import live_migrate
from nova import exception
from nova import objects
from nova.objects import fields
from nova import test
from nova.tests.unit.conductor import base

PMEM = base.PMEM
SOURCE_AMOUNTS = base.SOURCE_AMOUNTS


class TestTaskBase(test.NoDBTestCase):

    class Task(task_base.TaskBase):
        def __init__(self, error, rollback_error=None):
            super().__init__(None, mock.Mock(uuid='inst'))
            self.error = error
            self.rollback_error = rollback_error
            self.rolled_back = []

        def _execute(self):
            if self.error:
                raise self.error
            return 'done'

        def rollback(self, ex):
            self.rolled_back.append(ex)
            if self.rollback_error:
                raise self.rollback_error

    def test_success_returns_without_rollback(self):
        task = self.Task(None)
        self.assertEqual('done', task.execute())
        self.assertEqual([], task.rolled_back)

    def test_failure_rolls_back_and_reraises(self):
        error = exception.MigrationPreCheckError(reason='no')
        task = self.Task(error)
        raised = self.assertRaises(exception.MigrationPreCheckError,
                                   task.execute)
        self.assertIs(error, raised)
        self.assertEqual([error], task.rolled_back)

    def test_failing_rollback_does_not_hide_the_cause(self):
        task = self.Task(exception.NoValidHost(reason='none'),
                         rollback_error=RuntimeError('undo broke'))
        self.assertRaises(exception.NoValidHost, task.execute)


class LiveMigrationTaskTestCase(base.LiveMigrationTestBase):

    def run_task(self, dest=None, force=False, migration=None):
        self.migration = migration or self.create_migration(dest)
        task = live_migrate.LiveMigrationTask(
            self.context, self.instance, dest, force, False, self.migration,
            self.dests.rpc, self.client)
        return task.execute()

    def snapshot_at_check(self):
        """Record placement and the migration row when a host is asked."""
        seen = {}

        def look(host):
            seen[host] = {
                'instance': self.allocations(self.instance.uuid),
                'migration': self.allocations(self.migration.uuid),
                'usage': {h: self.usage(h) for h in self.nodes},
                'dest_compute': objects.Migration.get_by_id(
                    self.context, self.migration.id).dest_compute,
            }
        self.dests.on_check = look
        return seen

    def assert_started_to(self, dest):
        migration = objects.Migration.get_by_id(self.context,
                                                self.migration.id)
        self.assertEqual(fields.MigrationStatus.QUEUED, migration.status)
        self.assertEqual((dest, dest, dest), (
            migration.dest_compute, migration.dest_node, migration.dest_host))
        # The migration keeps the source's resources, the instance holds
        # the same amounts on the destination.
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         self.allocations(self.migration.uuid))
        self.assertEqual({dest: SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        self.dests.rpc.live_migration.assert_called_once_with(
            self.context, self.instance, dest, mock.ANY, mock.ANY,
            host=self.SOURCE)
        args = self.dests.rpc.live_migration.call_args[0]
        self.assertEqual(self.migration.id, args[3].id)
        self.assertEqual('emulated://%s' % dest, args[4].target_libvirt_uri)
        # The source gets the destination's namespaces with the instance,
        # loaded by the conductor (not lazily on the source).
        sent = args[1]
        self.assertTrue(sent.obj_attr_is_set('migration_context'))
        self.assertEqual(self.migration.id,
                         sent.migration_context.migration_id)
        self.assertEqual(
            {self.nodes[dest].uuid},
            {r.provider_uuid for r in sent.migration_context.new_resources})


class ForcedHostTestCase(LiveMigrationTaskTestCase):

    def test_success_claims_before_the_destination_check(self):
        seen = self.snapshot_at_check()
        self.run_task('compute-b', force=True)

        # When the destination was asked, placement already held the claim
        # it assigns namespaces from, and the row named it.
        at_check = seen['compute-b']
        self.assertEqual({'compute-b': SOURCE_AMOUNTS}, at_check['instance'])
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         at_check['migration'])
        self.assertEqual('compute-b', at_check['dest_compute'])
        check = self.dests.rpc.check_can_live_migrate_destination
        # Handed the claim it must assign from: no read of it there.
        check.assert_called_once_with(
            self.context, self.instance, 'compute-b', self.migration, False,
            allocations={self.nodes['compute-b'].uuid: SOURCE_AMOUNTS})
        self.assert_started_to('compute-b')
        self.dests.rpc.drop_move_claim_at_destination.assert_not_called()
        self.assertEqual('migrating', self.stored_instance().task_state)

    def test_destination_check_fails_restores_placement(self):
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='compute-b has no free SMALL namespace')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('compute-b has no free SMALL namespace', str(err))
        self.assert_rolled_back(self.migration)
        self.assertEqual({}, self.usage('compute-b'))
        # The destination kept nothing, so there was nothing to drop there.
        self.dests.rpc.drop_move_claim_at_destination.assert_not_called()

    def test_placement_refusal_names_what_is_missing(self):
        self.fill_pmem('compute-b')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('not enough free resources on compute-b', str(err))
        self.assertIn('not enough free %s (needs 1, 0 free)' % PMEM,
                      str(err))
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assert_rolled_back(self.migration)
        self.assertEqual({PMEM: 3}, self.usage('compute-b'))

    def test_same_host_refused(self):
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, self.SOURCE, force=True)
        self.assertIn('destination and source are the same host', str(err))
        self.assert_rolled_back(self.migration)

    def test_destination_down_refused(self):
        self.mark_down('compute-b')
        err = self.assertRaises(exception.ComputeServiceUnavailable,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('compute-b', str(err))
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assert_rolled_back(self.migration)

    def test_disabled_destination_taken_when_forced(self):
        # As Nova: a forced host bypasses the scheduler, and with it the
        # rule that a disabled compute is not chosen.
        self.set_service('compute-b', disabled=True,
                         disabled_reason='maintenance')
        self.run_task('compute-b', force=True)
        self.assert_started_to('compute-b')

    def test_disabled_destination_refused_unless_forced(self):
        self.set_service('compute-b', disabled=True,
                         disabled_reason='maintenance')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=False)
        self.assertIn('compute service of compute-b is disabled '
                      '(maintenance)', str(err))
        self.assertIn('--enable compute-b', str(err))
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assert_rolled_back(self.migration)

    def test_unknown_destination(self):
        self.assertRaises(exception.ComputeHostNotFound, self.run_task,
                          'compute-z', force=True)
        self.assert_rolled_back(self.migration)

    def test_source_down_refused(self):
        self.mark_down(self.SOURCE)
        err = self.assertRaises(exception.ComputeServiceUnavailable,
                                self.run_task, 'compute-b', force=True)
        self.assertIn(self.SOURCE, str(err))
        self.assert_rolled_back(self.migration)

    def test_instance_not_running_refused(self):
        self.instance.vm_state = vm_states.STOPPED
        self.instance.power_state = power_state.SHUTDOWN
        self.instance.save()
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('stopped', str(err))
        self.assert_rolled_back(self.migration)

    def test_paused_instance_migrates(self):
        self.instance.vm_state = vm_states.PAUSED
        self.instance.power_state = power_state.PAUSED
        self.instance.save()
        self.run_task('compute-b', force=True)
        self.assert_started_to('compute-b')

    def test_old_destination_named(self):
        self.set_service('compute-b', version=2)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('compute host compute-b runs service version 2; live '
                      'migration with vpmem needs version 3 on both source '
                      'and destination', str(err))
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assert_rolled_back(self.migration)

    def test_old_source_named(self):
        self.set_service(self.SOURCE, version=2)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('compute host compute-a runs service version 2',
                      str(err))
        self.assertNotIn('compute-b', str(err))
        self.assert_rolled_back(self.migration)

    def test_instance_without_vpmem_migrates_between_new_hosts(self):
        self.instance = self.create_instance(
            self.create_flavor('plain', pmem=None), with_vpmem=False)
        # Nothing to assign, so this destination records no context.
        self.dests.forgetful.add('compute-b')
        self.run_task('compute-b', force=True)
        plain = {'VCPU': 1, 'MEMORY_MB': 128}
        self.assertEqual({'compute-b': plain},
                         self.allocations(self.instance.uuid))
        self.assertEqual({self.SOURCE: plain},
                         self.allocations(self.migration.uuid))
        self.dests.rpc.live_migration.assert_called_once()

    def test_instance_without_vpmem_is_gated_too(self):
        # Older hosts lack the live migration RPC methods altogether: a
        # readable refusal beats an RPC version error.
        self.set_service('compute-b', version=2)
        self.instance = self.create_instance(
            self.create_flavor('plain', pmem=None), with_vpmem=False)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('compute host compute-b runs service version 2; '
                      'live migration needs version 3', str(err))
        self.assert_rolled_back(
            self.migration, source_amounts={'VCPU': 1, 'MEMORY_MB': 128})

    def test_hypervisor_type_mismatch_refused(self):
        self.add_host('compute-x', hv_type='Xen')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-x', force=True)
        self.assertIn('compute-x runs hypervisor type Xen', str(err))
        self.assert_rolled_back(self.migration)

    def test_older_hypervisor_refused(self):
        self.add_host('compute-x', hv_version=base.HV_VERSION - 1)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-x', force=True)
        self.assertIn('older than', str(err))
        self.assert_rolled_back(self.migration)

    def test_destination_that_records_no_namespaces_is_undone(self):
        self.dests.forgetful.add('compute-b')
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-b', force=True)
        self.assertIn('did not record the namespaces', str(err))
        self.dests.rpc.drop_move_claim_at_destination.assert_called_once_with(
            self.context, self.instance, self.migration, 'compute-b')
        self.assert_rolled_back(self.migration)
        self.assertEqual({}, self.usage('compute-b'))

    def test_failure_after_the_check_drops_the_destination_claim(self):
        self.dests.rpc.live_migration.side_effect = (
            messaging.MessageDeliveryFailure('bus down'))
        self.assertRaises(messaging.MessageDeliveryFailure, self.run_task,
                          'compute-b', force=True)
        self.dests.rpc.drop_move_claim_at_destination.assert_called_once_with(
            self.context, self.instance, self.migration, 'compute-b')
        self.dests.rpc.live_migration.reset_mock(side_effect=True)
        self.assert_rolled_back(self.migration)
        self.assertEqual({}, self.usage('compute-b'))

    def test_unreachable_destination_context_dropped_anyway(self):
        self.dests.rpc.live_migration.side_effect = (
            messaging.MessageDeliveryFailure('bus down'))
        self.dests.rpc.drop_move_claim_at_destination.side_effect = (
            messaging.MessagingTimeout('compute-b does not answer'))
        self.assertRaises(messaging.MessageDeliveryFailure, self.run_task,
                          'compute-b', force=True)
        self.dests.rpc.live_migration.reset_mock(side_effect=True)
        # The database no longer says compute-b holds namespaces for it.
        self.assert_rolled_back(self.migration)


class SettledMeanwhileTestCase(LiveMigrationTaskTestCase):
    """The source's recovery rolled the migration back while the task was
    still at work (it took longer than [compute]migration_stuck_timeout):
    the task undoes only its own destination claim."""

    def recover(self, new_task_state=None):
        """What a recovering source does to a migration that never
        started; ``new_task_state``: a new move the user began since."""
        self.client.revert_move_allocations(
            self.context, self.instance.uuid, self.migration.uuid)
        migration = objects.Migration.get_by_id(self.context,
                                                self.migration.id)
        migration.status = fields.MigrationStatus.FAILED
        migration.save()
        stored = self.stored_instance()
        stored.task_state = new_task_state
        stored.save()

    def assert_settled_by_the_recovery(self, task_state=None):
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        self.assertEqual({}, self.allocations(self.migration.uuid))
        self.assertEqual({}, self.usage('compute-b'))
        self.assertEqual(fields.MigrationStatus.FAILED,
                         objects.Migration.get_by_id(
                             self.context, self.migration.id).status)
        stored = self.stored_instance()
        self.assertEqual(task_state, stored.task_state)
        self.assertIsNone(stored.migration_context)
        self.dests.rpc.live_migration.assert_not_called()

    def test_check_fails_after_the_recovery(self):
        # The soak test's race: the undo used to delete every allocation
        # of the instance, the source ones the recovery had given back.
        self.dests.on_check = lambda host: self.recover('migrating')
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='compute-b gives up')
        self.assertRaises(exception.MigrationPreCheckError, self.run_task,
                          'compute-b', force=True)
        # The newer move's task_state is not the task's to clear.
        self.assert_settled_by_the_recovery(task_state='migrating')

    def test_check_passes_after_the_recovery_start_refused(self):
        self.dests.on_check = lambda host: self.recover()
        err = self.assertRaises(exception.MigrationStatusChanged,
                                self.run_task, 'compute-b', force=True)
        self.assertEqual(fields.MigrationStatus.FAILED, err.kwargs['actual'])
        self.dests.rpc.drop_move_claim_at_destination.assert_called_once_with(
            self.context, self.instance, self.migration, 'compute-b')
        self.assert_settled_by_the_recovery()

    def test_recovery_before_the_claim_refuses_it(self):
        # The recovery lands between the task's read of the allocations
        # and its claim: the claim goes through (placement did not
        # change), but the start's compare-and-swap sees the recovery.
        real_claim = self.client.move_and_claim

        def recover_then_claim(*args, **kwargs):
            self.recover()
            return real_claim(*args, **kwargs)

        with mock.patch.object(self.client, 'move_and_claim',
                               side_effect=recover_then_claim):
            self.assertRaises(exception.MigrationStatusChanged,
                              self.run_task, 'compute-b', force=True)
        self.assert_settled_by_the_recovery()

    def test_allocations_changed_since_read_refuse_the_claim(self):
        # Another writer touched the instance's allocations after the
        # task read them: the one write is refused by their generation,
        # so nothing moved and no destination was asked.
        real_claim = self.client.move_and_claim

        def rewrite_then_claim(context, uuid, doc, *args, **kwargs):
            current = self.client.get_allocations_for_consumer(context, uuid)
            self.assertTrue(self.client.put_allocations(
                context, uuid, {rp: a['resources'] for rp, a in
                                current['allocations'].items()},
                current['project_id'], current['user_id'],
                current['consumer_generation']))
            return real_claim(context, uuid, doc, *args, **kwargs)

        with mock.patch.object(self.client, 'move_and_claim',
                               side_effect=rewrite_then_claim):
            err = self.assertRaises(exception.AllocationMoveFailed,
                                    self.run_task, 'compute-b', force=True)
        self.assertIn('consumer generation', str(err).lower())
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assertEqual({self.SOURCE: SOURCE_AMOUNTS},
                         self.allocations(self.instance.uuid))
        self.assertEqual({}, self.allocations(self.migration.uuid))
        self.assertEqual({}, self.usage('compute-b'))


class ScheduledTestCase(LiveMigrationTaskTestCase):
    """compute-b (3 namespaces) is the first candidate, compute-c next."""

    def test_first_candidate_fails_second_taken(self):
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='namespaces of compute-b are busy')
        seen = self.snapshot_at_check()
        self.run_task()

        self.assertEqual(['compute-b', 'compute-c'], [
            c[0][2] for c in
            self.dests.rpc.check_can_live_migrate_destination.call_args_list])
        # compute-b's claim was released before compute-c was asked.
        self.assertEqual({'compute-b': SOURCE_AMOUNTS},
                         seen['compute-b']['instance'])
        self.assertEqual({}, seen['compute-c']['usage']['compute-b'])
        self.assertEqual({'compute-c': SOURCE_AMOUNTS},
                         seen['compute-c']['instance'])
        self.assertEqual({}, self.usage('compute-b'))
        self.assert_started_to('compute-c')
        self.dests.rpc.drop_move_claim_at_destination.assert_not_called()

    def test_failed_candidate_released_before_the_next_claim(self):
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='busy')
        host_of = {n.uuid: h for h, n in self.nodes.items()}
        usage_of_b_at_claim = {}

        def spy(real):
            def claim(context, *args, **kwargs):
                # Both claim paths name the destination's allocations.
                allocations = [a for a in args if isinstance(a, dict) and
                               set(a) & set(host_of)][-1]
                host = host_of[list(allocations)[0]]
                usage_of_b_at_claim[host] = self.usage('compute-b')
                return real(context, *args, **kwargs)
            return claim

        with mock.patch.object(
                self.client, 'move_and_claim',
                side_effect=spy(self.client.move_and_claim)), \
                mock.patch.object(
                    self.client, 'put_allocations',
                    side_effect=spy(self.client.put_allocations)):
            self.run_task()
        # Never both destinations at once: compute-b was empty again when
        # compute-c was claimed.
        self.assertEqual(['compute-b', 'compute-c'],
                         sorted(usage_of_b_at_claim))
        self.assertEqual({}, usage_of_b_at_claim['compute-c'])
        self.assert_started_to('compute-c')

    def test_forced_move_is_one_read_and_one_write_in_placement(self):
        with mock.patch.object(self.client, '_request',
                               wraps=self.client._request) as request:
            self.run_task('compute-b', force=True)
        self.assertEqual(
            [('GET', '/allocations/%s' % self.instance.uuid),
             ('POST', '/allocations')],
            [(c[0][0], c[0][1]) for c in request.call_args_list])
        self.assert_started_to('compute-b')

    def test_scheduled_move_adds_only_the_candidates_query(self):
        with mock.patch.object(self.client, '_request',
                               wraps=self.client._request) as request:
            self.run_task()
        calls = [(c[0][0], c[0][1].split('?')[0])
                 for c in request.call_args_list]
        self.assertEqual(
            [('GET', '/allocations/%s' % self.instance.uuid),
             ('GET', '/allocation_candidates'),
             ('POST', '/allocations')], calls)

    def test_unanswering_candidate_skipped(self):
        self.dests.refuse['compute-b'] = messaging.MessagingTimeout('slow')
        self.run_task()
        self.assert_started_to('compute-c')
        self.assertEqual({}, self.usage('compute-b'))

    def test_candidate_without_recorded_namespaces_released(self):
        self.dests.forgetful.add('compute-b')
        self.run_task()
        self.dests.rpc.drop_move_claim_at_destination.assert_called_once_with(
            self.context, self.instance, mock.ANY, 'compute-b')
        self.assert_started_to('compute-c')
        self.assertEqual({}, self.usage('compute-b'))

    def test_retries_limited(self):
        self.flags(migrate_max_retries=0)
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='namespaces of compute-b are busy')
        err = self.assertRaises(exception.NoValidHost, self.run_task)
        self.assertIn('compute-b: namespaces of compute-b are busy',
                      str(err))
        self.assertIn('migrate_max_retries = 0 reached: compute-c',
                      str(err))
        self.assertEqual(
            1, self.dests.rpc.check_can_live_migrate_destination.call_count)
        self.assert_rolled_back(self.migration)
        self.assertEqual({}, self.usage('compute-b'))

    def test_one_retry_allowed(self):
        self.flags(migrate_max_retries=1)
        self.dests.refuse['compute-b'] = exception.MigrationPreCheckError(
            reason='busy')
        self.run_task()
        self.assert_started_to('compute-c')

    def test_no_candidate_says_why_for_each_host(self):
        self.fill_pmem('compute-b')
        self.set_service('compute-c', version=2)
        self.add_host('compute-d')
        self.mark_down('compute-d')
        err = self.assertRaises(exception.NoValidHost, self.run_task)
        message = str(err)
        self.assertIn('compute-b: not enough free %s (needs 1, 0 free)'
                      % PMEM, message)
        self.assertIn('compute-c: compute host compute-c runs service '
                      'version 2', message)
        self.assertIn('compute-d: its compute service is down', message)
        self.assertNotIn('compute-a:', message)
        self.dests.rpc.check_can_live_migrate_destination.assert_not_called()
        self.assert_rolled_back(self.migration)
        self.assertEqual({PMEM: 3}, self.usage('compute-b'))
        self.assertEqual({}, self.usage('compute-c'))

    def test_hypervisor_mismatch_skipped(self):
        self.fill_pmem('compute-c')
        self.add_host('compute-b2', pmem=5, hv_type='Xen')
        self.run_task()
        self.assert_started_to('compute-b')
        self.assertEqual(['compute-b'], [
            c[0][2] for c in
            self.dests.rpc.check_can_live_migrate_destination.call_args_list])

    def test_disabled_compute_never_chosen(self):
        # compute-b is the first candidate, but the scheduler skips a
        # disabled compute service.
        self.set_service('compute-b', disabled=True,
                         disabled_reason='maintenance')
        self.run_task()
        self.assert_started_to('compute-c')
        self.assertEqual(['compute-c'], [
            c[0][2] for c in
            self.dests.rpc.check_can_live_migrate_destination.call_args_list])

    def test_only_disabled_computes_left_says_so(self):
        self.set_service('compute-b', disabled=True)
        self.set_service('compute-c', disabled=True)
        err = self.assertRaises(exception.NoValidHost, self.run_task)
        self.assertIn('compute-b: its compute service is disabled', str(err))
        self.assertIn('compute-c: its compute service is disabled', str(err))
        self.assert_rolled_back(self.migration)

    def test_requested_host_is_validated_by_the_scheduler(self):
        self.run_task('compute-c', force=False)
        self.assert_started_to('compute-c')

    def test_requested_host_without_room(self):
        self.fill_pmem('compute-c')
        err = self.assertRaises(exception.NoValidHost, self.run_task,
                                'compute-c', force=False)
        self.assertIn('compute-c: not enough free %s' % PMEM, str(err))
        # The scheduler only looked at the requested host.
        self.assertNotIn('compute-b', str(err))
        self.assert_rolled_back(self.migration)

    def test_requested_old_host_refused_before_placement(self):
        self.set_service('compute-c', version=2)
        err = self.assertRaises(exception.MigrationPreCheckError,
                                self.run_task, 'compute-c', force=False)
        self.assertIn('compute host compute-c runs service version 2',
                      str(err))
        self.assert_rolled_back(self.migration)
