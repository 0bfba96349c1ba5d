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

"""Instance and InstanceList: migration context handling and persistence."""

import fixtures

from nova.compute import task_states
from nova.compute import vm_states
from nova.db import api as db
from nova import exception
from nova import objects
from nova import test
from nova.tests.unit.objects import fake_objects


class TestMigrationContextSwitch(test.NoDBTestCase):
    """apply/revert/drop and mutated_migration_context, in memory."""

    def setUp(self):
        super().setUp()
        self.instance = fake_objects.instance()
        self.instance.obj_reset_changes(recursive=True)
        self.source = fake_objects.source_resources()
        self.dest = fake_objects.dest_resources()

    def _names(self, resources):
        return [r.identifier for r in resources]

    def test_mutated_uses_new_resources_then_restores(self):
        original = self.instance.resources
        with self.instance.mutated_migration_context():
            self.assertEqual(self._names(self.dest),
                             self._names(self.instance.resources))
        self.assertIs(original, self.instance.resources)
        self.assertEqual(['ns0', 'ns1'], self._names(self.instance.resources))
        self.assertNotIn('resources', self.instance.obj_what_changed())

    def test_mutated_revert_uses_old_resources(self):
        self.instance.resources = None
        self.instance.obj_reset_changes()
        with self.instance.mutated_migration_context(revert=True):
            self.assertEqual(['ns0', 'ns1'],
                             self._names(self.instance.resources))
        self.assertIsNone(self.instance.resources)

    def test_mutated_restores_after_exception(self):
        original = self.instance.resources

        class Boom(Exception):
            pass

        def fail_inside():
            with self.instance.mutated_migration_context():
                self.assertEqual(['ns4', 'ns5'],
                                 self._names(self.instance.resources))
                raise Boom()

        self.assertRaises(Boom, fail_inside)
        self.assertIs(original, self.instance.resources)
        self.assertNotIn('resources', self.instance.obj_what_changed())

    def test_mutated_keeps_pending_change(self):
        # A change made before the block is still pending after it.
        self.instance.resources = self.dest
        with self.instance.mutated_migration_context(revert=True):
            pass
        self.assertIs(self.dest, self.instance.resources)
        self.assertIn('resources', self.instance.obj_what_changed())

    def test_mutated_unset_resources_become_unset_again(self):
        del self.instance.resources
        with self.instance.mutated_migration_context():
            self.assertEqual(['ns4', 'ns5'],
                             self._names(self.instance.resources))
        self.assertFalse(self.instance.obj_attr_is_set('resources'))

    def test_mutated_without_migration_context(self):
        self.instance.migration_context = None
        original = self.instance.resources
        with self.instance.mutated_migration_context():
            self.assertIs(original, self.instance.resources)
        self.assertIs(original, self.instance.resources)

    def test_apply(self):
        self.instance.apply_migration_context()
        self.assertEqual(['ns4', 'ns5'], self._names(self.instance.resources))
        self.assertIn('resources', self.instance.obj_what_changed())

    def test_revert(self):
        self.instance.resources = None
        self.instance.revert_migration_context()
        self.assertEqual(['ns0', 'ns1'], self._names(self.instance.resources))

    def test_apply_without_context_changes_nothing(self):
        self.instance.migration_context = None
        self.instance.obj_reset_changes()
        self.instance.apply_migration_context()
        self.assertEqual(['ns0', 'ns1'], self._names(self.instance.resources))
        self.assertEqual(set(), self.instance.obj_what_changed())

    def test_drop(self):
        self.instance.drop_migration_context()
        self.assertIsNone(self.instance.migration_context)
        self.assertIn('migration_context', self.instance.obj_what_changed())

    def test_nested_change_is_seen(self):
        # Changing the context in place must be noticed by save().
        self.instance.migration_context.new_resources = (
            fake_objects.resource_list())
        self.assertIn('migration_context', self.instance.obj_what_changed())

    def test_lazy_load_needs_context(self):
        instance = objects.Instance(uuid=fake_objects.PROVIDER_UUID)
        self.assertRaises(exception.OrphanedObjectError, getattr, instance,
                          'flavor')

    def test_plain_field_is_not_lazy_loadable(self):
        instance = objects.Instance(self.context,
                                    uuid=fake_objects.PROVIDER_UUID)
        self.assertRaises(exception.ObjectActionError, getattr, instance,
                          'host')


class _DBCallSpy(fixtures.Fixture):
    """Record the arguments of one nova.db.api function, still calling it."""

    def __init__(self, name):
        super().__init__()
        self.name = name
        self.calls = []

    def _setUp(self):
        real = getattr(db, self.name)

        def spy(*args, **kwargs):
            self.calls.append((args, kwargs))
            return real(*args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch('nova.db.api.' + self.name,
                                             spy))


class TestInstancePersistence(test.TestCase):

    def setUp(self):
        super().setUp()
        self.flavor = objects.Flavor(
            self.context, flavorid='vpmem-small', name='vpmem.small',
            memory_mb=2048, vcpus=2, root_gb=10,
            extra_specs={'hw:pmem': '4GB,4GB'})
        self.flavor.create()

    def _create(self, **overrides):
        values = dict(user_id='user', project_id='project',
                      display_name='guest', host='src', node='src-node',
                      vm_state=vm_states.ACTIVE, task_state=None,
                      flavor=self.flavor,
                      resources=fake_objects.source_resources(),
                      numa_topology=fake_objects.numa_topology())
        values.update(overrides)
        instance = objects.Instance(self.context, **values)
        instance.create()
        return instance

    def _names(self, resources):
        return [r.identifier for r in resources]

    def test_create_and_get(self):
        instance = self._create()
        self.assertTrue(instance.obj_attr_is_set('id'))
        self.assertEqual(set(), instance.obj_what_changed())
        # Sizes come from the flavor when not given.
        self.assertEqual(2048, instance.memory_mb)
        self.assertIsNone(instance.migration_context)

        loaded = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertEqual(instance.id, loaded.id)
        self.assertEqual('src', loaded.host)
        self.assertEqual(vm_states.ACTIVE, loaded.vm_state)
        self.assertIsNone(loaded.task_state)
        self.assertFalse(loaded.deleted)
        self.assertIsNotNone(loaded.created_at)
        # Optional fields were not read yet.
        for name in ('flavor', 'resources', 'migration_context',
                     'numa_topology', 'fault'):
            self.assertFalse(loaded.obj_attr_is_set(name), name)

    def test_extra_fields_round_trip_through_db(self):
        instance = self._create(
            migration_context=fake_objects.migration_context(
                fake_objects.PROVIDER_UUID, migration_id=9))
        loaded = objects.Instance.get_by_uuid(
            self.context, instance.uuid,
            expected_attrs=['flavor', 'resources', 'migration_context',
                            'numa_topology'])
        self.assertEqual(self.flavor.id, loaded.flavor.id)
        self.assertEqual({'hw:pmem': '4GB,4GB'}, loaded.flavor.extra_specs)
        self.assertEqual(instance.resources.objects,
                         loaded.resources.objects)
        self.assertIsInstance(loaded.resources[0].metadata,
                              objects.LibvirtVPMEMDevice)
        self.assertEqual('/dev/dax0.1', loaded.resources[1].metadata.devpath)
        self.assertEqual(9, loaded.migration_context.migration_id)
        self.assertEqual(['ns4', 'ns5'], self._names(
            loaded.migration_context.new_resources))
        self.assertEqual(2, len(loaded.numa_topology.cells))
        self.assertEqual(set(), loaded.obj_what_changed())

    def test_lazy_load(self):
        instance = self._create()
        loaded = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertEqual(['ns0', 'ns1'], self._names(loaded.resources))
        self.assertEqual('vpmem.small', loaded.flavor.name)
        self.assertIsNone(loaded.migration_context)
        self.assertIsNone(loaded.fault)
        self.assertEqual({2, 3}, loaded.numa_topology.cells[1].cpuset)
        self.assertEqual(set(), loaded.obj_what_changed())

    def test_missing_flavor_is_reported(self):
        instance = objects.Instance(self.context, vm_state=vm_states.ACTIVE,
                                    memory_mb=1, vcpus=1, root_gb=0,
                                    ephemeral_gb=0)
        instance.create()
        loaded = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertRaises(exception.ObjectActionError, getattr, loaded,
                          'flavor')

    def test_get_missing(self):
        self.assertRaises(exception.InstanceNotFound,
                          objects.Instance.get_by_uuid, self.context,
                          fake_objects.PROVIDER_UUID)

    def test_save_only_changed_fields(self):
        instance = self._create()
        spy = self.useFixture(_DBCallSpy('instance_update'))
        instance.host = 'dst'
        instance.save()
        (args, kwargs), = spy.calls
        self.assertEqual({'host': 'dst'}, args[2])
        self.assertIsNone(kwargs.get('expected'))
        self.assertEqual(set(), instance.obj_what_changed())
        self.assertEqual(
            'dst', objects.Instance.get_by_uuid(self.context,
                                                instance.uuid).host)

    def test_save_without_changes_skips_db(self):
        instance = self._create()
        spy = self.useFixture(_DBCallSpy('instance_update'))
        instance.save(expected_task_state=[None])
        self.assertEqual([], spy.calls)

    def test_save_extra_column(self):
        instance = self._create()
        spy = self.useFixture(_DBCallSpy('instance_update'))
        instance.migration_context = fake_objects.migration_context(
            instance.uuid, migration_id=5)
        instance.save()
        (args, _kwargs), = spy.calls
        self.assertEqual({'extra'}, set(args[2]))
        self.assertEqual({'migration_context'}, set(args[2]['extra']))

        mc = objects.MigrationContext.get_by_instance_uuid(self.context,
                                                           instance.uuid)
        self.assertEqual(5, mc.migration_id)
        self.assertEqual(['ns4', 'ns5'], self._names(mc.new_resources))

        # Apply the move and drop the context: both columns change.
        instance.apply_migration_context()
        instance.drop_migration_context()
        instance.save()
        loaded = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertIsNone(loaded.migration_context)
        self.assertEqual(['ns4', 'ns5'], self._names(loaded.resources))
        self.assertEqual(
            ['ns4', 'ns5'],
            self._names(objects.ResourceList.get_by_instance_uuid(
                self.context, instance.uuid)))

    def test_save_nested_change(self):
        instance = self._create(
            migration_context=fake_objects.migration_context(
                fake_objects.PROVIDER_UUID))
        instance.migration_context.new_resources = (
            fake_objects.resource_list(fake_objects.vpmem_resource('ns7')))
        instance.save()
        mc = objects.MigrationContext.get_by_instance_uuid(self.context,
                                                           instance.uuid)
        self.assertEqual(['ns7'], self._names(mc.new_resources))

    def test_save_expected_task_state(self):
        instance = self._create()
        spy = self.useFixture(_DBCallSpy('instance_update'))
        instance.task_state = task_states.MIGRATING
        instance.save(expected_task_state=[None])
        self.assertEqual({'task_state': [None]},
                         spy.calls[-1][1]['expected'])
        # A single value is a one-item list.
        instance.task_state = None
        instance.save(expected_task_state=task_states.MIGRATING)
        self.assertEqual({'task_state': [task_states.MIGRATING]},
                         spy.calls[-1][1]['expected'])
        self.assertIsNone(objects.Instance.get_by_uuid(
            self.context, instance.uuid).task_state)

    def test_save_cas_fails_when_task_state_differs(self):
        instance = self._create()
        stale = objects.Instance.get_by_uuid(self.context, instance.uuid)
        instance.task_state = task_states.MIGRATING
        instance.save(expected_task_state=[None])

        # The second operation still believes the instance idle.
        stale.task_state = task_states.DELETING
        stale.host = 'elsewhere'
        exc = self.assertRaises(exception.UnexpectedTaskStateError,
                                stale.save, expected_task_state=[None])
        self.assertIn(task_states.MIGRATING, str(exc))
        current = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertEqual(task_states.MIGRATING, current.task_state)
        self.assertEqual('src', current.host)

    def test_save_cas_fails_when_vm_state_differs(self):
        instance = self._create()
        instance.task_state = task_states.MIGRATING
        self.assertRaises(exception.UnexpectedVMStateError, instance.save,
                          expected_vm_state=[vm_states.STOPPED])
        self.assertIsNone(objects.Instance.get_by_uuid(
            self.context, instance.uuid).task_state)

    def test_refresh(self):
        instance = self._create()
        instance.resources  # noqa: B018 - load it, so refresh reloads it
        other = objects.Instance.get_by_uuid(self.context, instance.uuid)
        other.host = 'dst'
        other.resources = fake_objects.dest_resources()
        other.save()
        instance.refresh()
        self.assertEqual('dst', instance.host)
        self.assertEqual(['ns4', 'ns5'], self._names(instance.resources))
        self.assertEqual(set(), instance.obj_what_changed())

    def test_destroy(self):
        instance = self._create()
        instance.destroy()
        self.assertTrue(instance.deleted)
        self.assertRaises(exception.InstanceNotFound,
                          objects.Instance.get_by_uuid, self.context,
                          instance.uuid)

    def test_fault(self):
        instance = self._create()
        for message in ('first', 'second'):
            objects.InstanceFault(self.context, instance_uuid=instance.uuid,
                                  code=500, message=message, details='',
                                  host='src').create()
        loaded = objects.Instance.get_by_uuid(self.context, instance.uuid,
                                              expected_attrs=['fault'])
        self.assertEqual('second', loaded.fault.message)
        lazy = objects.Instance.get_by_uuid(self.context, instance.uuid)
        self.assertEqual('second', lazy.fault.message)

    def test_create_twice_refused(self):
        instance = self._create()
        self.assertRaises(exception.ObjectActionError, instance.create)


class TestInstanceList(test.TestCase):

    def setUp(self):
        super().setUp()
        flavor = objects.Flavor(self.context, flavorid='f1', name='f1',
                                memory_mb=512, vcpus=1, root_gb=1)
        flavor.create()
        self.instances = {}
        for name, host, node in (('a', 'src', 'src-node'),
                                 ('b', 'src', 'other-node'),
                                 ('c', 'dst', 'dst-node')):
            instance = objects.Instance(
                self.context, display_name=name, host=host, node=node,
                vm_state=vm_states.ACTIVE, flavor=flavor,
                project_id='project', user_id='user')
            instance.create()
            self.instances[name] = instance

    def _names(self, instances):
        return sorted(inst.display_name for inst in instances)

    def test_get_by_host(self):
        found = objects.InstanceList.get_by_host(self.context, 'src')
        self.assertIsInstance(found, objects.InstanceList)
        self.assertEqual(['a', 'b'], self._names(found))
        self.assertEqual(set(), found.obj_what_changed())

    def test_get_by_host_and_node(self):
        found = objects.InstanceList.get_by_host_and_node(
            self.context, 'src', 'other-node')
        self.assertEqual(['b'], self._names(found))

    def test_get_by_filters(self):
        found = objects.InstanceList.get_by_filters(
            self.context, {'host': ['src', 'dst'], 'node': 'dst-node'},
            expected_attrs=['flavor'])
        self.assertEqual(['c'], self._names(found))
        self.assertTrue(found[0].obj_attr_is_set('flavor'))
        self.assertEqual('f1', found[0].flavor.name)

    def test_get_uuids_by_host(self):
        self.assertEqual(
            sorted([self.instances['a'].uuid, self.instances['b'].uuid]),
            sorted(objects.InstanceList.get_uuids_by_host(self.context,
                                                          'src')))

    def test_faults_in_one_query(self):
        objects.InstanceFault(self.context,
                              instance_uuid=self.instances['a'].uuid,
                              code=400, message='bad', details='',
                              host='src').create()
        spy = self.useFixture(
            _DBCallSpy('instance_fault_get_by_instance_uuids'))
        found = objects.InstanceList.get_by_host(self.context, 'src',
                                                 expected_attrs=['fault'])
        self.assertEqual(1, len(spy.calls))
        faults = {inst.display_name: inst.fault for inst in found}
        self.assertEqual('bad', faults['a'].message)
        self.assertIsNone(faults['b'])
