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

"""Versioning rules of all objects: fingerprints, backports, round trips.

If test_versions fails, an object's fields or remotable methods changed:
bump its VERSION (with a line in its version comment and, for a new
field, an obj_make_compatible that drops it for older targets), then put
the new fingerprint below. If test_relationships fails, a child object's
version changed: bump every parent and add the new version to its
obj_relationships.
"""

import datetime
import types

from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import exception as ovo_exc
from oslo_versionedobjects import fixture

from nova import context
from nova import objects
from nova.objects import base
from nova.objects import fields
from nova.objects import resource
from nova import test
from nova.tests.unit.objects import fake_objects

# {name: 'VERSION-md5 of fields, remotable method signatures and child
# relationships'}.
object_data = {
    'ComputeNode': '1.1-248057a2dc58df0f12e0c5ccbe29796e',
    'ComputeNodeList': '1.1-d5376ebda2819d535f915eeb8ee60f85',
    'Destination': '1.0-08a4af0bae308375c70f4325a196f423',
    'Flavor': '1.0-7634ebfff4672fc25264928c8b076245',
    'FlavorList': '1.0-52f9ffabca21c5591f9c638cd478bedc',
    'Instance': '1.3-41cca74548ec961c51d025d06d9b5c5b',
    'InstanceAction': '1.0-3a938f9af05b61c88dc4f32aa95b04c0',
    'InstanceActionEvent': '1.0-76971b99b8755c85011c3ec4248a872c',
    'InstanceActionEventList': '1.0-8a76b8d22c0dfe3f309a9a320389f324',
    'InstanceActionList': '1.0-970486df776d9619538d13ca6e111e3a',
    'InstanceFault': '1.0-9cec00033d867a9fa36714d1136d78b1',
    'InstanceFaultList': '1.0-b5299591fc8ea07db9c0291c2cf7bb60',
    'InstanceList': '1.3-d42fb6b6fec7e851d190de67c8747076',
    'InstanceNUMACell': '1.0-fbdca55498f416e7ad73f010d1167fce',
    'InstanceNUMATopology': '1.0-b00c8f0bdd335de9b63177d7b41a1bd8',
    'KeyPair': '1.0-7f0fa8ae37abbcbd69ff183ee42c124a',
    'KeyPairList': '1.0-aa43d11df031f7f1f3c673fdf35b64b6',
    'LibvirtLiveMigrateData': '1.4-32b493eacd66fe6d3c1e84567ff49317',
    'LibvirtVPMEMDevice': '1.0-e8e81000ecf0719eb6332f28299278df',
    'LiveMigrateData': '1.2-0b48a016cf5d1dfca3dab5a1a9e63495',
    'Migration': '1.2-b0d84c814571b8b3d3400c62da25487c',
    'MigrationContext': '1.1-2607985ed123a5d3a62047f1694811e6',
    'MigrationList': '1.3-84e57d64810fc143dff7e096a5c51a06',
    'RequestSpec': '1.0-332de2eea01dbf9a4e2144789f5b19c7',
    'Resource': '1.0-0d7fcc3ab35b07bfc5c0b4fd406fe426',
    'ResourceList': '1.0-58bfb63cc53c0159806452c50efe2dc9',
    'ResourceMetadata': '1.0-394d5285eb9ee5cd5da910f3d7c8a522',
    'Service': '1.0-1cb73753811f8b0ab3229f7d220fa31d',
    'ServiceList': '1.0-d8de67b6428e7b1eb9a79305952c020d',
    'VPMEMNamespace': '1.0-95e8d98973b55dc16ae9964ed84e9a8e',
    'VPMEMNamespaceList': '1.0-0c544763fe522f814762c2ff3aa49724',
}

# {parent: {child object field type: child version}}, as oslo computes it
# (ObjectField children only).
object_relationships = {
    'Instance': {'Flavor': '1.0', 'InstanceFault': '1.0',
                 'InstanceNUMATopology': '1.0', 'MigrationContext': '1.1',
                 'ResourceList': '1.0'},
    'LibvirtLiveMigrateData': {'Migration': '1.2'},
    'LiveMigrateData': {'Migration': '1.2'},
    'MigrationContext': {'ResourceList': '1.0'},
    'RequestSpec': {'Destination': '1.0', 'Flavor': '1.0'},
    'Resource': {'ResourceMetadata': '1.0'},
}

# What the contract of the foundation promised; more may be added.
CONTRACT_OBJECTS = {
    'Service', 'ServiceList', 'ComputeNode', 'ComputeNodeList', 'Flavor',
    'FlavorList', 'Resource', 'ResourceList', 'ResourceMetadata',
    'LibvirtVPMEMDevice', 'MigrationContext', 'InstanceNUMATopology',
    'InstanceNUMACell', 'Instance', 'InstanceList', 'InstanceFault',
    'InstanceFaultList', 'Migration', 'MigrationList', 'RequestSpec',
    'Destination', 'LiveMigrateData', 'LibvirtLiveMigrateData',
}


def nova_object_classes():
    """The registry, limited to classes in the nova namespace."""
    return {name: classes
            for name, classes in base.NovaObjectRegistry.obj_classes().items()
            if classes and classes[0].OBJ_PROJECT_NAMESPACE == 'nova'}


def object_fields(obj_class):
    return {name: field for name, field in obj_class.fields.items()
            if base.is_object_field(field)}


def extra_fingerprint_data(obj_class):
    # oslo's fingerprint shows an object field as "Object(...)" whatever
    # class it holds; add the class names and the relationship table so
    # changing either also changes the fingerprint.
    children = sorted((name, field.objname)
                      for name, field in object_fields(obj_class).items())
    relationships = sorted((name, tuple(versions)) for name, versions in
                           obj_class.obj_relationships.items())
    return (children, relationships)


def comparable(primitive):
    """A primitive with its change lists sorted (they come from sets)."""
    if isinstance(primitive, dict):
        return {key: sorted(value) if key.endswith('.changes')
                else comparable(value) for key, value in primitive.items()}
    if isinstance(primitive, (list, tuple)):
        return [comparable(item) for item in primitive]
    return primitive


def json_round_trip(primitive):
    # What RPC or an instance_extra column does to a primitive.
    return jsonutils.loads(jsonutils.dumps(primitive))


class TestObjectVersions(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.checker = fixture.ObjectVersionChecker(nova_object_classes())

    def test_versions(self):
        expected, actual = self.checker.test_hashes(
            object_data, extra_data_func=extra_fingerprint_data)
        self.assertEqual(expected, actual,
                         'Some objects changed: bump their version and '
                         'update object_data.')

    def test_object_list_complete(self):
        registered = set(nova_object_classes())
        self.assertEqual(set(object_data), registered)
        self.assertTrue(CONTRACT_OBJECTS.issubset(registered),
                        CONTRACT_OBJECTS - registered)

    def test_newest_class_published_on_package(self):
        for name, classes in nova_object_classes().items():
            self.assertIs(classes[0], getattr(objects, name))

    def test_relationships(self):
        expected, actual = self.checker.test_relationships(
            object_relationships)
        self.assertEqual(expected, actual,
                         'A child object changed version: bump its parents '
                         'and update object_relationships.')

    def test_every_object_field_has_current_relationship(self):
        # Without an entry, a backport without a manifest fails; with a
        # stale last entry, the parent forgot the bump of its child.
        classes = nova_object_classes()
        for name, obj_classes in classes.items():
            obj_class = obj_classes[0]
            for field_name, field in object_fields(obj_class).items():
                where = '%s.%s' % (name, field_name)
                self.assertIn(field_name, obj_class.obj_relationships, where)
                parent_ver, child_ver = (
                    obj_class.obj_relationships[field_name][-1])
                self.assertEqual(classes[field.objname][0].VERSION,
                                 child_ver, where)
                self.assertLessEqual(
                    base._version_tuple(parent_ver),
                    base._version_tuple(obj_class.VERSION), where)

    def test_relationships_in_order(self):
        self.checker.test_relationships_in_order()

    def test_compatibility_routines(self):
        # Every older version can be produced, with and without a manifest.
        self.checker.test_compatibility_routines()
        self.checker.test_compatibility_routines(use_manifest=True)

    def test_fingerprint_notices_field_change(self):
        # The mechanism itself: a field change without a bump is caught.
        class Changed(objects.Destination):
            fields = dict(objects.Destination.fields,
                          rack=fields.StringField(nullable=True))

        changed = fixture.ObjectVersionChecker(
            {'Destination': [Changed]})
        expected, actual = changed.test_hashes(
            {'Destination': object_data['Destination']},
            extra_data_func=extra_fingerprint_data)
        self.assertNotEqual(expected, actual)


class TestRoundTrips(test.NoDBTestCase):
    """obj_to_primitive -> JSON -> obj_from_primitive keeps everything."""

    def _round_trip(self, obj):
        primitive = json_round_trip(obj.obj_to_primitive())
        return base.NovaObject.obj_from_primitive(primitive,
                                                  context=self.context)

    def test_every_object(self):
        samples = fake_objects.every_object()
        self.assertEqual(set(nova_object_classes()), set(samples),
                         'every object needs a sample in fake_objects')
        for name, obj in samples.items():
            loaded = self._round_trip(obj)
            self.assertIsInstance(loaded, type(obj), name)
            self.assertEqual(comparable(obj.obj_to_primitive()),
                             comparable(loaded.obj_to_primitive()), name)
            for field in obj.fields:
                self.assertEqual(obj.obj_attr_is_set(field),
                                 loaded.obj_attr_is_set(field),
                                 '%s.%s' % (name, field))

    def test_instance_nested_children(self):
        instance = fake_objects.instance()
        loaded = self._round_trip(instance)
        self.assertEqual('vpmem.small', loaded.flavor.name)
        self.assertEqual({'hw:pmem': '4GB,4GB'}, loaded.flavor.extra_specs)
        devices = [r.metadata for r in loaded.resources]
        self.assertEqual([objects.LibvirtVPMEMDevice] * 2,
                         [type(d) for d in devices])
        self.assertEqual(['/dev/dax0.0', '/dev/dax0.1'],
                         [d.devpath for d in devices])
        self.assertEqual(instance.resources.objects,
                         loaded.resources.objects)
        mc = loaded.migration_context
        self.assertEqual(['ns4', 'ns5'],
                         [r.identifier for r in mc.new_resources])
        self.assertEqual(fake_objects.DEST_PROVIDER_UUID,
                         mc.new_resources[0].provider_uuid)
        self.assertEqual(instance.migration_context.old_resources.objects,
                         mc.old_resources.objects)
        self.assertEqual({0, 1}, loaded.numa_topology.cells[0].cpuset)
        self.assertEqual(fake_objects.NOW, loaded.launched_at)
        self.assertIs(self.context, loaded._context)

    def test_json_helpers(self):
        mc = fake_objects.migration_context(fake_objects.PROVIDER_UUID)
        text = base.obj_to_json(mc)
        self.assertIsInstance(text, str)
        loaded = objects.MigrationContext.obj_from_db_obj(text)
        self.assertEqual(mc.new_resources.objects,
                         loaded.new_resources.objects)
        # A loaded object has nothing to save.
        self.assertEqual(set(), loaded.obj_what_changed())
        self.assertIsNone(base.obj_to_json(None))
        self.assertIsNone(base.obj_from_json(None))


class TestBackports(test.NoDBTestCase):

    @staticmethod
    def _data(primitive):
        return primitive['nova_object.data']

    @staticmethod
    def _version(primitive):
        return primitive['nova_object.version']

    def test_migration_1_0_drops_progress(self):
        migration = fake_objects.migration()
        new = self._data(migration.obj_to_primitive())
        old = self._data(migration.obj_to_primitive(target_version='1.0'))
        progress = {'memory_total', 'memory_processed', 'memory_remaining',
                    'disk_total', 'disk_processed', 'disk_remaining'}
        self.assertTrue(progress.issubset(new))
        self.assertEqual(set(), progress & set(old))
        self.assertEqual(set(new) - progress, set(old))

    def test_migration_context_1_0_drops_resources(self):
        mc = fake_objects.migration_context(fake_objects.PROVIDER_UUID)
        old = mc.obj_to_primitive(target_version='1.0')
        self.assertEqual('1.0', self._version(old))
        self.assertEqual({'instance_uuid', 'migration_id'},
                         set(self._data(old)))
        # The object itself is untouched by the backport.
        self.assertEqual(2, len(mc.new_resources))

    def test_migration_context_1_0_without_resources_set(self):
        mc = objects.MigrationContext(instance_uuid=fake_objects.
                                      PROVIDER_UUID, migration_id=1)
        old = mc.obj_to_primitive(target_version='1.0')
        self.assertEqual({'instance_uuid', 'migration_id'},
                         set(self._data(old)))

    def test_libvirt_migrate_data_1_0(self):
        data = fake_objects.libvirt_migrate_data()
        old = data.obj_to_primitive(target_version='1.0')
        old_data = self._data(old)
        self.assertNotIn('dst_vpmems', old_data)
        self.assertEqual('tmpfile', old_data['filename'])
        # The nested migration follows the table: 1.0 carried Migration 1.0.
        self.assertEqual('1.0', self._version(old_data['migration']))
        self.assertNotIn('memory_total', self._data(old_data['migration']))
        # A 1.0 peer can load what it got.
        loaded = base.NovaObject.obj_from_primitive(json_round_trip(old))
        self.assertFalse(loaded.obj_attr_is_set('dst_vpmems'))
        self.assertFalse(loaded.has_vpmems)

    def test_libvirt_migrate_data_1_1_keeps_vpmems(self):
        data = fake_objects.libvirt_migrate_data()
        new = self._data(data.obj_to_primitive(target_version='1.1'))
        self.assertEqual(2, len(new['dst_vpmems']))
        self.assertIn('memory_total', self._data(new['migration']))
        self.assertNotIn('target_libvirt_uri', new)

    def test_libvirt_migrate_data_1_2_keeps_target_uri(self):
        data = fake_objects.libvirt_migrate_data()
        new = self._data(data.obj_to_primitive(target_version='1.2'))
        self.assertEqual('qemu+tcp://192.0.2.2/system',
                         new['target_libvirt_uri'])
        self.assertNotIn('dst_can_post_copy', new)
        self.assertNotIn('dst_post_copy_reason', new)
        # An older source loads it and sees no post-copy answer.
        loaded = base.NovaObject.obj_from_primitive(json_round_trip(
            data.obj_to_primitive(target_version='1.3')))
        self.assertFalse(loaded.obj_attr_is_set('dst_can_post_copy'))

    def test_libvirt_migrate_data_1_4_keeps_post_copy_answer(self):
        data = fake_objects.libvirt_migrate_data()
        loaded = base.NovaObject.obj_from_primitive(json_round_trip(
            data.obj_to_primitive(target_version='1.4')))
        self.assertIs(False, loaded.dst_can_post_copy)
        self.assertEqual('vm.unprivileged_userfaultfd = 0',
                         loaded.dst_post_copy_reason)

    def test_instance_1_0_backports_migration_context(self):
        instance = fake_objects.instance()
        old = self._data(instance.obj_to_primitive(target_version='1.0'))
        mc = old['migration_context']
        self.assertEqual('1.0', self._version(mc))
        self.assertNotIn('new_resources', self._data(mc))
        # Instance 1.0 already had resources.
        self.assertEqual(2, len(self._data(old['resources'])['objects']))

    def test_instance_list_1_0(self):
        instances = objects.InstanceList(objects=[fake_objects.instance()])
        old = self._data(instances.obj_to_primitive(target_version='1.0'))
        inst = old['objects'][0]
        self.assertEqual('1.0', self._version(inst))
        self.assertEqual(
            '1.0', self._version(self._data(inst)['migration_context']))

    def test_migration_list_1_0(self):
        migrations = objects.MigrationList(objects=[fake_objects.migration()])
        old = self._data(migrations.obj_to_primitive(target_version='1.0'))
        self.assertEqual('1.0', self._version(old['objects'][0]))
        self.assertNotIn('disk_total', self._data(old['objects'][0]))

    def test_manifest_backports_nested_child_only(self):
        # A peer that knows Instance 1.1 but (say) MigrationContext 1.0 and
        # says so in its manifest gets exactly that.
        instance = fake_objects.instance()
        manifest = base.obj_tree_get_versions('Instance')
        manifest['MigrationContext'] = '1.0'
        primitive = instance.obj_to_primitive(target_version='1.1',
                                              version_manifest=manifest)
        self.assertEqual('1.1', self._version(primitive))
        mc = self._data(primitive)['migration_context']
        self.assertEqual('1.0', self._version(mc))
        self.assertNotIn('old_resources', self._data(mc))

    def test_instance_backport_drops_the_api_fields(self):
        instance = fake_objects.instance()
        instance.locked = True
        instance.locked_by = 'admin'
        instance.locked_reason = 'maintenance'
        instance.display_description = 'db primary'
        old = self._data(instance.obj_to_primitive(target_version='1.1'))
        for name in ('locked', 'locked_by', 'locked_reason',
                     'display_description'):
            self.assertNotIn(name, old)
        current = self._data(instance.obj_to_primitive())
        self.assertEqual('admin', current['locked_by'])

    def test_instance_backport_drops_the_key_name(self):
        instance = fake_objects.instance()
        instance.key_name = 'mykey'
        instance.locked_by = 'admin'
        old = self._data(instance.obj_to_primitive(target_version='1.2'))
        self.assertNotIn('key_name', old)
        self.assertEqual('admin', old['locked_by'])
        self.assertEqual('mykey', self._data(
            instance.obj_to_primitive())['key_name'])

    def test_manifest_backports_list_children(self):
        manifest = base.obj_tree_get_versions('LibvirtLiveMigrateData')
        self.assertEqual('1.0', manifest['LibvirtVPMEMDevice'])
        manifest['Migration'] = '1.0'
        data = fake_objects.libvirt_migrate_data()
        primitive = data.obj_to_primitive(version_manifest=manifest)
        migration = self._data(primitive)['migration']
        self.assertEqual('1.0', self._version(migration))
        self.assertNotIn('memory_remaining', self._data(migration))
        self.assertEqual(2, len(self._data(primitive)['dst_vpmems']))

    def test_manifest_includes_metadata_subclasses(self):
        # Resource.metadata is declared as ResourceMetadata but carries
        # LibvirtVPMEMDevice, so the manifest must name it too.
        manifest = base.obj_tree_get_versions('Instance')
        self.assertEqual('1.0', manifest['ResourceMetadata'])
        self.assertEqual('1.0', manifest['LibvirtVPMEMDevice'])

    def test_newer_primitive_is_refused(self):
        primitive = fake_objects.migration().obj_to_primitive()
        primitive['nova_object.version'] = '1.99'
        self.assertRaises(ovo_exc.IncompatibleObjectVersion,
                          base.NovaObject.obj_from_primitive, primitive)

    def test_older_primitive_loads(self):
        primitive = fake_objects.migration().obj_to_primitive(
            target_version='1.0')
        loaded = base.NovaObject.obj_from_primitive(primitive)
        self.assertIsInstance(loaded, objects.Migration)
        self.assertFalse(loaded.obj_attr_is_set('memory_total'))
        self.assertEqual('dst', loaded.dest_compute)


class _MetadataV11(resource.ResourceMetadata):
    """A made-up metadata class whose 1.1 added a field."""

    VERSION = '1.1'
    fields = {
        'name': fields.StringField(),
        'speed': fields.IntegerField(),
    }

    @classmethod
    def obj_name(cls):
        return 'FakeSpeedyMetadata'

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if base._version_tuple(target_version) < (1, 1):
            primitive.pop('speed', None)


class TestPolymorphicBackport(test.NoDBTestCase):
    """A metadata subclass is backported along its own version line."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixture.VersionedObjectRegistryFixture())
        base.NovaObjectRegistry.register(_MetadataV11)
        self.addCleanup(delattr, objects, 'FakeSpeedyMetadata')
        self.resource = objects.Resource(
            provider_uuid=fake_objects.PROVIDER_UUID,
            resource_class='CUSTOM_SPEEDY', identifier='s0',
            metadata=_MetadataV11(name='s0', speed=9))

    def _metadata(self, primitive):
        return primitive['nova_object.data']['metadata']

    def test_manifest_names_the_subclass_version(self):
        manifest = base.obj_tree_get_versions('Resource')
        self.assertEqual('1.1', manifest['FakeSpeedyMetadata'])
        manifest['FakeSpeedyMetadata'] = '1.0'
        metadata = self._metadata(self.resource.obj_to_primitive(
            target_version='1.0', version_manifest=manifest))
        self.assertEqual('1.0', metadata['nova_object.version'])
        self.assertEqual({'name': 's0'}, metadata['nova_object.data'])

    def test_without_manifest_subclass_keeps_its_version(self):
        # The parent's table speaks of ResourceMetadata versions; applying
        # them to the subclass would mislabel it.
        metadata = self._metadata(
            self.resource.obj_to_primitive(target_version='1.0'))
        self.assertEqual('1.1', metadata['nova_object.version'])
        self.assertEqual(9, metadata['nova_object.data']['speed'])


class TestRegistry(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixture.VersionedObjectRegistryFixture())
        current = objects.Destination
        self.addCleanup(setattr, objects, 'Destination', current)

    def test_older_version_does_not_replace_newer(self):
        current = objects.Destination

        class OldDestination(current):
            VERSION = '0.9'

            @classmethod
            def obj_name(cls):
                return 'Destination'

        base.NovaObjectRegistry.register(OldDestination)
        self.assertIs(current, objects.Destination)

    def test_newer_version_is_published(self):
        class NewDestination(objects.Destination):
            VERSION = '1.5'

            @classmethod
            def obj_name(cls):
                return 'Destination'

        base.NovaObjectRegistry.register(NewDestination)
        self.assertIs(NewDestination, objects.Destination)

    def test_register_all_is_idempotent(self):
        before = dict(nova_object_classes())
        objects.register_all()
        self.assertEqual(before, nova_object_classes())


class TestSerializer(test.NoDBTestCase):

    def test_round_trip_with_context(self):
        serializer = base.NovaObjectSerializer()
        ctxt = context.RequestContext(user_id='u', project_id='p')
        instance = fake_objects.instance()
        migrate_data = fake_objects.libvirt_migrate_data()
        payload = {'instance': instance, 'migrate_data': migrate_data,
                   'hosts': ['src', 'dst'], 'count': 2}
        wire = json_round_trip(serializer.serialize_entity(ctxt, payload))
        self.assertEqual('Instance', wire['instance']['nova_object.name'])
        self.assertEqual('nova', wire['instance']['nova_object.namespace'])

        loaded = serializer.deserialize_entity(ctxt, wire)
        self.assertIsInstance(loaded['instance'], objects.Instance)
        self.assertIs(ctxt, loaded['instance']._context)
        self.assertEqual(comparable(instance.obj_to_primitive()),
                         comparable(loaded['instance'].obj_to_primitive()))
        self.assertIsInstance(loaded['migrate_data'],
                              objects.LibvirtLiveMigrateData)
        self.assertEqual(
            ['/dev/dax1.0', '/dev/dax1.1'],
            [d.devpath for d in loaded['migrate_data'].dst_vpmems])
        self.assertEqual(['src', 'dst'], loaded['hosts'])
        self.assertEqual(2, loaded['count'])

    def test_serializer_base_is_nova_object(self):
        self.assertIs(base.NovaObject,
                      base.NovaObjectSerializer.OBJ_BASE_CLASS)
        self.assertTrue(issubclass(base.NovaObjectSerializer,
                                   ovo_base.VersionedObjectSerializer))


class TestUnchangedFor(test.NoDBTestCase):

    def test_last_change_against_the_timeout(self):
        now = timeutils.utcnow()
        record = types.SimpleNamespace(
            created_at=now - datetime.timedelta(seconds=500),
            updated_at=now - datetime.timedelta(seconds=30))
        self.assertFalse(base.unchanged_for(record, 60))
        self.assertTrue(base.unchanged_for(record, 20))
        # Never updated: its creation counts.
        record.updated_at = None
        self.assertTrue(base.unchanged_for(record, 60))
        self.assertFalse(base.unchanged_for(record, 600))
        # No time at all: nothing says it is recent.
        record.created_at = None
        self.assertTrue(base.unchanged_for(record, 60))
