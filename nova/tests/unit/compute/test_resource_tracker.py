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

"""Unit tests of the resource tracker: claims and the namespace lifecycle.

The database is real (SQLite, the real schema); placement and the driver
are fakes that record what they are asked.
"""

from unittest import mock
import uuid

import fixtures
from oslo_utils import timeutils
import sqlalchemy as sa

from nova.compute import resource_tracker
from nova.db import api as db
from nova import exception
from nova import objects
from nova import test

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'
NODE = 'node-a'


class FakeDriver:
    """Offers three SMALL namespaces on one node; erases on request.

    ``failing`` names namespaces whose erase fails; ``erased`` records
    the names of every erase asked for, in order.
    """

    def __init__(self, names=('ns0', 'ns1', 'ns2')):
        self.names = list(names)
        self.failing = set()
        self.erased = []

    def get_available_resource(self, nodename):
        return {'vcpus': 8, 'memory_mb': 4096, 'local_gb': 10,
                'hypervisor_type': 'QEMU', 'hypervisor_version': 7002000,
                'cpu_info': '{}'}

    def get_inventory(self, nodename):
        return {RC: {'total': len(self.names)}} if self.names else {}

    def get_vpmem_resources(self, nodename, rp_uuid):
        return objects.ResourceList(objects=[
            objects.Resource(
                provider_uuid=rp_uuid, resource_class=RC, identifier=name,
                metadata=objects.LibvirtVPMEMDevice(
                    label='SMALL', name=name, size=4 << 20,
                    devpath='/pmem/%s' % name, align=2 << 20))
            for name in self.names])

    def erase_vpmems(self, context, resources):
        erased, failed = [], []
        for resource in resources:
            self.erased.append(resource.identifier)
            if resource.identifier in self.failing:
                failed.append((resource, exception.VPMEMCleanupFailed(
                    dev=resource.identifier, error='injected I/O error')))
            else:
                erased.append(resource)
        if failed:
            raise exception.VPMEMEraseIncomplete(erased=erased,
                                                 failed=failed)
        return erased


class TrackerTestBase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.driver = FakeDriver()
        self.report = mock.Mock()
        self.rt = self._tracker(self.driver, self.report)
        self.node = self.rt.update_available_resource(self.context, NODE,
                                                      startup=True)
        # As nova-compute's start does: erase what is new to the host.
        self.rt.retry_erases(self.context)
        self.driver.erased = []
        self.flavor = objects.Flavor(
            self.context, name='f', flavorid='f', memory_mb=128, vcpus=1,
            root_gb=0, ephemeral_gb=0, swap=0, disabled=False,
            is_public=True, extra_specs={'hw:pmem': 'SMALL'})
        self.flavor.create()

    @staticmethod
    def _tracker(driver, report=None):
        return resource_tracker.ResourceTracker('host-a', driver,
                                                report or mock.Mock())

    def _instance(self, host='host-a', node=NODE):
        instance = objects.Instance(
            self.context, uuid=str(uuid.uuid4()), user_id='u',
            project_id='p', flavor=self.flavor, vm_state='building',
            host=None, node=None)
        instance.create()
        return instance

    def _incoming(self, status='accepted'):
        """An instance on host-b live-migrating here, and its migration."""
        incoming = self._instance()
        incoming.host = 'host-b'
        incoming.save()
        migration = objects.Migration(
            self.context, instance_uuid=incoming.uuid,
            source_compute='host-b', source_node='node-b',
            dest_compute='host-a', dest_node=NODE,
            migration_type='live-migration', status=status)
        migration.create()
        return incoming, migration

    def _claimed_incoming(self, amount, then_status):
        """An incoming instance claimed here while its migration was
        'accepted'; the migration in ``then_status`` afterwards."""
        incoming, migration = self._incoming()
        self.rt.move_claim(self.context, incoming, NODE, migration,
                           self._allocs(amount))
        migration.status = then_status
        migration.save()
        return incoming, migration

    def _allocs(self, amount, rp=None):
        return {rp or self.node.uuid: {'resources': {RC: amount,
                                                     'VCPU': 1}}}

    def _states(self, rt=None):
        return (rt or self.rt).namespace_states(NODE)

    def _record(self, name):
        return objects.VPMEMNamespaceList.get_by_filters(
            self.context, {'compute_node_uuid': self.node.uuid,
                           'name': name})[0]

    def _ended_move_from_host_b(self, instance, migration_type):
        """A move of ``instance`` from host-b to here, ended in error."""
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-b', source_node='node-b',
            dest_compute='host-a', dest_node=NODE,
            migration_type=migration_type, status='error')
        migration.create()
        return migration

    def _recorded_on_host_b(self, instance):
        """The instance record no longer names this host's namespaces."""
        instance.host = 'host-b'
        instance.node = 'node-b'
        instance.resources = None
        instance.save()

    def _claim(self, amount, instance=None):
        instance = instance or self._instance()
        return instance, self.rt.instance_claim(
            self.context, instance, NODE, self._allocs(amount))


class TestClaims(TrackerTestBase):

    def test_inventory_reported_for_the_node(self):
        self.report.set_inventory.assert_called_once_with(
            self.context, self.node.uuid, NODE, {RC: {'total': 3}})

    def test_claim_assigns_exactly_the_allocated_amount(self):
        instance, claimed = self._claim(2)
        self.assertEqual(['ns0', 'ns1'],
                         sorted(r.identifier for r in claimed))
        saved = objects.Instance.get_by_uuid(self.context, instance.uuid,
                                             expected_attrs=['resources'])
        self.assertEqual(['ns0', 'ns1'],
                         sorted(r.identifier for r in saved.resources))
        self.assertEqual('host-a', saved.host)
        self.assertEqual({RC: ['ns0', 'ns1']},
                         self.rt.assigned_identifiers(NODE))
        record = self._record('ns0')
        self.assertEqual(('assigned', instance.uuid, None),
                         (record.state, record.instance_uuid,
                          record.migration_uuid))

    def test_claims_never_share_and_exhaustion_keeps_nothing(self):
        _first, claimed = self._claim(2)
        second = self._instance()
        err = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.rt.instance_claim, self.context,
                                second, NODE, self._allocs(2))
        self.assertIn('1 of 3 free', str(err))
        self.assertEqual(sorted(r.identifier for r in claimed),
                         self.rt.assigned_identifiers(NODE)[RC])
        self.assertEqual('free', self._states()['ns2'])
        _third, claimed = self._claim(1)
        self.assertEqual(['ns2'], [r.identifier for r in claimed])

    def test_other_providers_allocations_are_ignored(self):
        claimed = self.rt.instance_claim(
            self.context, self._instance(), NODE,
            self._allocs(3, rp=str(uuid.uuid4())))
        self.assertEqual([], list(claimed))

    def test_claim_never_takes_a_namespace_changed_in_the_database(self):
        # Another writer (nova-manage) quarantined ns0 behind this
        # tracker's back: the compare-and-swap keeps the claim off it.
        record = self._record('ns0')
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'quarantined',
                                   'reason': 'by hand'})
        _instance, claimed = self._claim(2)
        self.assertEqual(['ns1', 'ns2'],
                         sorted(r.identifier for r in claimed))

    def test_rebuild_from_database_includes_migrations(self):
        self._claim(1)
        incoming, migration = self._claimed_incoming(1, 'running')
        expected = self.rt.assigned_identifiers(NODE)
        record = self._record(expected[RC][1])
        self.assertEqual(migration.uuid, record.migration_uuid)

        # A new tracker (a restarted service) finds the same assignments.
        fresh = self._tracker(self.driver)
        fresh.update_available_resource(self.context, NODE, startup=True)
        self.assertEqual(expected, fresh.assigned_identifiers(NODE))
        self.assertEqual(2, len(expected[RC]))

    def _late_claim_refused(self, incoming, migration):
        exc = self.assertRaises(
            exception.MigrationDestinationChanged, self.rt.move_claim,
            self.context, incoming, NODE, migration, self._allocs(2))
        self.assertEqual({}, self.rt.assigned_identifiers(NODE))
        self.assertEqual({'free'}, set(self._states().values()))
        return exc

    def test_claim_after_the_conductor_gave_this_host_up_is_refused(self):
        incoming, migration = self._incoming()
        # The conductor stopped waiting for this host's answer and claimed
        # another host, whose claim is the instance's migration context.
        given_up = objects.Migration.get_by_id(self.context, migration.id)
        given_up.dest_compute = 'host-c'
        given_up.save()
        other = objects.MigrationContext(
            instance_uuid=incoming.uuid, migration_id=migration.id,
            old_resources=None, new_resources=None)
        incoming.migration_context = other
        incoming.save()
        exc = self._late_claim_refused(incoming, migration)
        self.assertIn('host-c', exc.format_message())
        stored = objects.MigrationContext.get_by_instance_uuid(
            self.context, incoming.uuid)
        self.assertIsNone(stored.new_resources)

    def test_claim_for_a_migration_that_ended_is_refused(self):
        incoming, migration = self._incoming('error')
        exc = self._late_claim_refused(incoming, migration)
        self.assertIn('error', exc.format_message())
        self.assertIsNone(objects.MigrationContext.get_by_instance_uuid(
            self.context, incoming.uuid))

    def test_cold_migration_claims_while_pre_migrating(self):
        incoming, migration = self._incoming('pre-migrating')
        claimed = self.rt.move_claim(self.context, incoming, NODE,
                                     migration, self._allocs(1))
        self.assertEqual(1, len(claimed))

    def test_drop_move_claim_frees_without_an_erase(self):
        incoming, migration = self._claimed_incoming(2, 'preparing')
        released = self.rt.drop_move_claim(self.context, incoming,
                                           migration)
        self.assertEqual(2, len(released))
        self.assertEqual({}, self.rt.assigned_identifiers(NODE))
        self.assertEqual({'free'}, set(self._states().values()))
        # Nothing had opened them since they were verified clean.
        self.assertEqual([], self.driver.erased)
        reloaded = objects.Instance.get_by_uuid(
            self.context, incoming.uuid,
            expected_attrs=['migration_context'])
        self.assertIsNone(reloaded.migration_context)

    def test_startup_refuses_when_held_namespace_disappears(self):
        instance, _claimed = self._claim(3)
        shrunk = self._tracker(FakeDriver(names=('ns0', 'ns1')))
        err = self.assertRaises(exception.AssignedResourceNotFound,
                                shrunk.update_available_resource,
                                self.context, NODE, startup=True)
        self.assertIn('ns2', str(err))
        self.assertIn(instance.uuid, str(err))
        # After startup the periodic only logs, so a running service
        # keeps serving while the operator fixes the configuration.
        shrunk2 = self._tracker(FakeDriver(names=('ns0', 'ns1')))
        shrunk2.update_available_resource(self.context, NODE)
        self.assertEqual('assigned', self._record('ns2').state)


class TestLifecycle(TrackerTestBase):

    def test_new_namespaces_are_erased_before_they_are_offered(self):
        driver = FakeDriver(names=('new0', 'new1'))
        rt = self._tracker(driver)
        rt.update_available_resource(self.context, 'node-b', startup=True)
        states = rt.namespace_states('node-b')
        self.assertEqual({'new0': 'quarantined', 'new1': 'quarantined'},
                         states)
        self.assertEqual(set(), rt.free_resources('node-b', RC))
        self.assertEqual({'new0': True, 'new1': True},
                         rt.retry_erases(self.context))
        self.assertEqual(['new0', 'new1'], sorted(driver.erased))
        self.assertEqual({'free'}, set(rt.namespace_states(
            'node-b').values()))

    def test_give_up_erases_then_frees(self):
        instance, claimed = self._claim(2)
        result = self.rt.give_up(self.context, claimed, instance.uuid,
                                 giver=instance.uuid)
        self.assertTrue(result.clean)
        self.assertEqual(['ns0', 'ns1'], sorted(self.driver.erased))
        self.assertEqual({'free'}, set(self._states().values()))
        self.assertIsNone(self._record('ns0').instance_uuid)
        self.report.move_to_quarantine.assert_not_called()

    def test_failed_erase_quarantines_and_moves_the_unit_in_placement(self):
        instance, claimed = self._claim(2)
        self.driver.failing = {'ns1'}
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-a', dest_compute='host-b',
            migration_type='live-migration', status='running')
        migration.create()
        result = self.rt.give_up(self.context, claimed, instance.uuid,
                                 giver=migration.uuid, migration=migration,
                                 final_status='completed')
        self.assertFalse(result.clean)
        self.assertEqual(['ns0'], [r.identifier for r in result.erased])
        self.assertIn('injected I/O error', result.quarantined[0][1])
        self.assertEqual({'ns0': 'free', 'ns1': 'quarantined',
                          'ns2': 'free'}, self._states())
        record = self._record('ns1')
        self.assertEqual((instance.uuid, migration.uuid, 'completed', 1),
                         (record.instance_uuid, record.migration_uuid,
                          record.migration_final_status,
                          record.erase_attempts))
        self.assertIn('injected I/O error', record.reason)
        # The migration consumer counted ns1: its unit moves to the
        # provider's quarantine consumer in one write.
        self.report.move_to_quarantine.assert_called_once_with(
            self.context, self.node.uuid, migration.uuid, {RC: 1})
        # Never handed out, however many claims come.
        got = [self._claim(1)[1][0].identifier for _ in range(2)]
        self.assertEqual(['ns0', 'ns2'], got)
        err = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self._claim, 1)
        self.assertIn('ns1 quarantined', str(err))

    def test_retry_waits_doubles_and_settles_the_migration(self):
        self.flags(vpmem_erase_retry_interval=60,
                   vpmem_erase_retry_max_interval=150, group='compute')
        instance, claimed = self._claim(1)
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-a', dest_compute='host-b',
            migration_type='live-migration', status='error')
        migration.create()
        self.driver.failing = {'ns0'}
        self.rt.give_up(self.context, claimed, instance.uuid,
                        giver=migration.uuid, migration=migration,
                        final_status='completed')
        start = timeutils.utcnow()
        self.useFixture(_Clock(start))
        self.assertEqual({}, self.rt.retry_erases(self.context))

        for attempt, wait in ((1, 60), (2, 120), (3, 150)):
            timeutils.advance_time_seconds(wait - 1)
            self.assertEqual({}, self.rt.retry_erases(self.context),
                             'retry %d came early' % attempt)
            timeutils.advance_time_seconds(1)
            self.assertEqual({'ns0': False},
                             self.rt.retry_erases(self.context))
            self.assertEqual(attempt + 1, self._record('ns0').erase_attempts)
        self.assertEqual('error', objects.Migration.get_by_id(
            self.context, migration.id).status)

        self.driver.failing = set()
        timeutils.advance_time_seconds(150)
        self.assertEqual({'ns0': True}, self.rt.retry_erases(self.context))
        self.assertEqual('free', self._states()['ns0'])
        self.assertEqual('completed', objects.Migration.get_by_id(
            self.context, migration.id).status)
        self.report.set_quarantine_hold.assert_called_with(
            self.context, self.node.uuid, {})

    def test_retry_by_name_does_not_wait(self):
        instance, claimed = self._claim(1)
        self.driver.failing = {'ns0'}
        self.rt.give_up(self.context, claimed, instance.uuid,
                        giver=instance.uuid)
        self.driver.failing = set()
        self.assertEqual({}, self.rt.retry_erases(self.context))
        self.assertEqual({'ns0': True},
                         self.rt.retry_erases(self.context, names=['ns0']))

    def test_namespace_assigned_to_another_instance_is_never_erased(self):
        owner, claimed = self._claim(1)
        stranger = self._instance()
        result = self.rt.give_up(self.context, claimed, stranger.uuid,
                                 giver=stranger.uuid)
        self.assertEqual([], self.driver.erased)
        self.assertEqual(1, len(result.skipped))
        self.assertIn(owner.uuid, result.skipped[0][1])
        self.assertEqual('assigned', self._record('ns0').state)

    def test_assignment_nobody_holds_is_quarantined(self):
        # A move ended in error after its destination claimed here, and
        # nothing could drop the claim: no record says who holds it now.
        incoming, migration = self._claimed_incoming(1, 'running')
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual('assigned', self._record('ns0').state)
        migration.status = 'error'
        migration.save()
        incoming.drop_migration_context()
        incoming.save()
        self.rt.update_available_resource(self.context, NODE)
        record = self._record('ns0')
        self.assertEqual('quarantined', record.state)
        self.assertIn(incoming.uuid, record.reason)
        self.assertEqual({'ns0': True}, self.rt.retry_erases(self.context))

    def test_a_noted_move_end_settles_the_migration_once_erased(self):
        # A revert's destination could not make the record let go: its
        # namespaces stay assigned while the record names them, then are
        # quarantined, erased, and the migration ends as noted.
        instance, _claimed = self._claim(2)
        migration = self._ended_move_from_host_b(instance, 'migration')
        self.rt.keep_until_let_go(self.context, instance.uuid, migration,
                                  'reverted')
        # The quarantine consumer counts them instead of the instance.
        self.report.move_to_quarantine.assert_called_once_with(
            self.context, self.node.uuid, instance.uuid, {RC: 2})
        # Kept once: a repeated call counts nothing twice.
        self.rt.keep_until_let_go(self.context, instance.uuid, migration,
                                  'reverted')
        self.assertEqual(1, self.report.move_to_quarantine.call_count)
        # Still named by the record: the update leaves them, and the note,
        # and the quarantine consumer keeps counting them.
        self.rt.update_available_resource(self.context, NODE)
        self.report.set_quarantine_hold.assert_called_with(
            self.context, self.node.uuid, {RC: 2})
        for name in ('ns0', 'ns1'):
            record = self._record(name)
            self.assertEqual(('assigned', migration.uuid, 'reverted'),
                             (record.state, record.migration_uuid,
                              record.migration_final_status))
        self.assertEqual([], self.driver.erased)

        self._recorded_on_host_b(instance)
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual('quarantined', self._record('ns0').state)
        self.assertEqual({'ns0': True, 'ns1': True},
                         self.rt.retry_erases(self.context))
        self.assertEqual('reverted', objects.Migration.get_by_id(
            self.context, migration.id).status)
        self.rt.update_available_resource(self.context, NODE)
        self.report.set_quarantine_hold.assert_called_with(
            self.context, self.node.uuid, {})

    def test_kept_namespaces_survive_placement_down_and_a_restart(self):
        # Placement is away when the destination keeps its namespaces and
        # the service then restarts: the notes are in the records, so the
        # new tracker's update counts them in the quarantine consumer and
        # still settles the migration with the noted end.
        instance, _claimed = self._claim(2)
        migration = self._ended_move_from_host_b(instance, 'live-migration')
        self.report.move_to_quarantine.side_effect = (
            exception.PlacementUnavailable(reason='injected'))
        self.rt.keep_until_let_go(self.context, instance.uuid, migration,
                                  'cancelled')
        self.assertEqual({'ns0': 'assigned', 'ns1': 'assigned',
                          'ns2': 'free'}, self._states())

        report = mock.Mock()
        fresh = self._tracker(self.driver, report)
        fresh.update_available_resource(self.context, NODE, startup=True)
        report.set_quarantine_hold.assert_called_with(
            self.context, self.node.uuid, {RC: 2})
        self._recorded_on_host_b(instance)
        fresh.update_available_resource(self.context, NODE)
        self.assertEqual({'ns0': True, 'ns1': True},
                         fresh.retry_erases(self.context))
        self.assertEqual('cancelled', objects.Migration.get_by_id(
            self.context, migration.id).status)
        fresh.update_available_resource(self.context, NODE)
        report.set_quarantine_hold.assert_called_with(
            self.context, self.node.uuid, {})

    def test_an_assignment_during_a_move_is_not_taken_away(self):
        # The source still holds its namespace while the instance's
        # record already says the destination (a move in progress).
        instance, _claimed = self._claim(1)
        migration = objects.Migration(
            self.context, instance_uuid=instance.uuid,
            source_compute='host-a', source_node=NODE,
            dest_compute='host-b', dest_node='node-b',
            migration_type='live-migration', status='running')
        migration.create()
        self._recorded_on_host_b(instance)
        self.rt.update_available_resource(self.context, NODE)
        self.assertEqual('assigned', self._record('ns0').state)

    def test_interrupted_erase_is_quarantined_by_a_new_tracker(self):
        instance, _claimed = self._claim(1)
        record = self._record('ns0')
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'erasing'})
        fresh = self._tracker(self.driver)
        fresh.update_available_resource(self.context, NODE, startup=True)
        record = self._record('ns0')
        self.assertEqual('quarantined', record.state)
        self.assertIn('interrupted', record.reason)

    def test_free_record_of_a_held_namespace_becomes_assigned(self):
        instance, _claimed = self._claim(1)
        record = self._record('ns0')
        db.vpmem_namespace_update(self.context, record.id,
                                  {'state': 'free', 'instance_uuid': None})
        self.rt.update_available_resource(self.context, NODE)
        record = self._record('ns0')
        self.assertEqual(('assigned', instance.uuid),
                         (record.state, record.instance_uuid))

    def test_namespace_dropped_from_config_is_new_when_it_comes_back(self):
        self.rt.update_available_resource(self.context, NODE)
        shrunk = self._tracker(FakeDriver(names=('ns0', 'ns1')))
        shrunk.update_available_resource(self.context, NODE)
        self.assertNotIn('ns2', shrunk.namespace_states(NODE))
        self.assertRaises(IndexError, self._record, 'ns2')
        grown = self._tracker(FakeDriver())
        grown.update_available_resource(self.context, NODE)
        self.assertEqual('quarantined', self._record('ns2').state)

    def test_quarantine_hold_follows_the_records(self):
        instance, claimed = self._claim(2)
        self.driver.failing = {'ns0', 'ns1'}
        self.rt.give_up(self.context, claimed, instance.uuid,
                        giver=instance.uuid)
        self.report.reset_mock()
        self.rt.update_available_resource(self.context, NODE)
        self.report.set_quarantine_hold.assert_called_once_with(
            self.context, self.node.uuid, {RC: 2})

    def test_placement_outage_while_quarantining_keeps_the_record(self):
        self.report.move_to_quarantine.side_effect = (
            exception.PlacementAPIConnectFailure(endpoint='x', error='down'))
        instance, claimed = self._claim(1)
        self.driver.failing = {'ns0'}
        result = self.rt.give_up(self.context, claimed, instance.uuid,
                                 giver=instance.uuid)
        self.assertFalse(result.clean)
        self.assertEqual('quarantined', self._record('ns0').state)


class TestHistoryDoesNotSlowTheUpdate(TrackerTestBase):
    """Ended migrations, in 'error' included, are not read at all."""

    def _error_migrations(self, count):
        instance = self._instance()
        now = timeutils.utcnow()
        rows = [{'uuid': str(uuid.uuid4()), 'instance_uuid': instance.uuid,
                 'source_compute': 'host-a', 'source_node': NODE,
                 'dest_compute': 'host-b', 'dest_node': 'node-b',
                 'migration_type': 'live-migration', 'status': 'error',
                 'hidden': False, 'deleted': 0, 'created_at': now}
                for _ in range(count)]
        with db.get_engine().begin() as conn:
            conn.execute(sa.insert(db.models.Migration), rows)

    def _cost_of_one_update(self):
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        built = []
        real = objects.Migration._from_db_object

        def counting(context, migration, db_migration):
            built.append(db_migration['uuid'])
            return real(context, migration, db_migration)

        engine = db.get_engine()
        sa.event.listen(engine, 'before_cursor_execute', count)
        try:
            with mock.patch.object(objects.Migration, '_from_db_object',
                                   side_effect=counting):
                self.rt.update_available_resource(self.context, NODE)
        finally:
            sa.event.remove(engine, 'before_cursor_execute', count)
        return len(statements), len(built)

    def test_cost_stays_flat_as_error_migrations_pile_up(self):
        self._error_migrations(5)
        few = self._cost_of_one_update()
        self._error_migrations(3000)
        many = self._cost_of_one_update()
        self.assertEqual(few, many)
        self.assertEqual(0, many[1])


class _Clock(fixtures.Fixture):
    """Freeze oslo's clock at ``start``; tests move it forward."""

    def __init__(self, start):
        super().__init__()
        self.start = start

    def _setUp(self):
        timeutils.set_time_override(self.start)
        self.addCleanup(timeutils.clear_time_override)
