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

"""Builders of fully populated objects for tests.

Every field of every object is set (nested objects too), so round trips
and backports see real data. Tests of other areas may use them as well.
"""

import datetime

from oslo_utils import uuidutils

from nova.compute import power_state
from nova.compute import vm_states
from nova import objects
from nova.objects import fields

GiB = 1024 ** 3
NOW = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
PROVIDER_UUID = '7f4d8a1e-3c2b-4f5a-9e6d-1a2b3c4d5e6f'
DEST_PROVIDER_UUID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'


def timestamps(**overrides):
    values = dict(created_at=NOW, updated_at=None, deleted_at=None,
                  deleted=False)
    values.update(overrides)
    return values


def vpmem_device(name='ns0', label='4GB', size=4 * GiB,
                 devpath='/dev/dax0.0', align=2 * 1024 ** 2):
    return objects.LibvirtVPMEMDevice(label=label, name=name, size=size,
                                      devpath=devpath, align=align)


def vpmem_resource(name='ns0', provider_uuid=PROVIDER_UUID, label='4GB',
                   devpath='/dev/dax0.0'):
    return objects.Resource(
        provider_uuid=provider_uuid,
        resource_class='CUSTOM_PMEM_NAMESPACE_' + label.upper(),
        identifier=name,
        metadata=vpmem_device(name=name, label=label, devpath=devpath))


def resource_list(*resources):
    return objects.ResourceList(objects=list(resources))


def source_resources():
    return resource_list(vpmem_resource('ns0', devpath='/dev/dax0.0'),
                         vpmem_resource('ns1', devpath='/dev/dax0.1'))


def dest_resources():
    return resource_list(
        vpmem_resource('ns4', provider_uuid=DEST_PROVIDER_UUID,
                       devpath='/dev/dax1.0'),
        vpmem_resource('ns5', provider_uuid=DEST_PROVIDER_UUID,
                       devpath='/dev/dax1.1'))


def flavor(**overrides):
    values = dict(id=7, flavorid='vpmem-small', name='vpmem.small',
                  memory_mb=2048, vcpus=2, root_gb=10, ephemeral_gb=0,
                  swap=0, disabled=False, is_public=True,
                  description='two 4GB namespaces',
                  extra_specs={'hw:pmem': '4GB,4GB'},
                  created_at=NOW, updated_at=None)
    values.update(overrides)
    return objects.Flavor(**values)


def migration_context(instance_uuid, migration_id=3):
    return objects.MigrationContext(
        instance_uuid=instance_uuid, migration_id=migration_id,
        old_resources=source_resources(), new_resources=dest_resources())


def numa_topology():
    return objects.InstanceNUMATopology(cells=[
        objects.InstanceNUMACell(id=0, cpuset={0, 1}, memory=1024),
        objects.InstanceNUMACell(id=1, cpuset={2, 3}, memory=1024)])


def instance_fault(instance_uuid, **overrides):
    values = dict(id=11, instance_uuid=instance_uuid, code=500,
                  message='boom', details='Traceback...', host='src',
                  **timestamps())
    values.update(overrides)
    return objects.InstanceFault(**values)


def instance(with_db_id=True, **overrides):
    """An Instance with every field set, nested objects included."""
    uuid = overrides.pop('uuid', uuidutils.generate_uuid())
    values = dict(
        uuid=uuid, user_id='user', project_id='project',
        display_name='vpmem-guest', host='src', node='src-node',
        launched_on='src', vm_state=vm_states.ACTIVE, task_state=None,
        power_state=power_state.RUNNING, memory_mb=2048, vcpus=2,
        root_gb=10, ephemeral_gb=0, image_ref='cirros',
        launched_at=NOW, terminated_at=None,
        flavor=flavor(), resources=source_resources(),
        migration_context=migration_context(uuid),
        numa_topology=numa_topology(),
        fault=instance_fault(uuid), **timestamps())
    if with_db_id:
        values['id'] = 42
    values.update(overrides)
    return objects.Instance(**values)


def migration(**overrides):
    values = dict(
        id=3, uuid=uuidutils.generate_uuid(), source_compute='src',
        dest_compute='dst', source_node='src-node', dest_node='dst-node',
        dest_host='192.0.2.2', instance_uuid=uuidutils.generate_uuid(),
        old_instance_type_id=7, new_instance_type_id=7,
        migration_type=fields.MigrationType.LIVE_MIGRATION,
        status=fields.MigrationStatus.RUNNING, hidden=False,
        memory_total=4 * GiB, memory_processed=GiB,
        memory_remaining=3 * GiB, disk_total=0, disk_processed=0,
        disk_remaining=0, user_id='user', project_id='project',
        **timestamps())
    values.update(overrides)
    return objects.Migration(**values)


def service(**overrides):
    values = dict(id=1, uuid=uuidutils.generate_uuid(), host='src',
                  binary='nova-compute', topic='compute', report_count=4,
                  disabled=False, disabled_reason=None, last_seen_up=NOW,
                  forced_down=False, version=1, **timestamps())
    values.update(overrides)
    return objects.Service(**values)


def compute_node(**overrides):
    values = dict(id=1, uuid=uuidutils.generate_uuid(), host='src',
                  hypervisor_hostname='src-node', hypervisor_type='QEMU',
                  hypervisor_version=8002000, vcpus=16, memory_mb=65536,
                  local_gb=500, vcpus_used=2, memory_mb_used=2048,
                  local_gb_used=10, cpu_info='{"arch": "x86_64"}',
                  service_id=1, **timestamps())
    values.update(overrides)
    return objects.ComputeNode(**values)


def request_spec(**overrides):
    values = dict(instance_uuid=uuidutils.generate_uuid(),
                  project_id='project', user_id='user', flavor=flavor(),
                  num_instances=1, ignore_hosts=['src'], force_hosts=None,
                  force_nodes=None,
                  requested_destination=objects.Destination(
                      host='dst', node='dst-node'),
                  scheduler_hints={'group': ['g1']})
    values.update(overrides)
    return objects.RequestSpec(**values)


def libvirt_migrate_data(**overrides):
    values = dict(
        migration=migration(), is_volume_backed=False,
        block_migration=False, filename='tmpfile', disk_over_commit=False,
        disk_available_mb=10240, is_shared_instance_path=False,
        is_shared_block_storage=False,
        graphics_listen_addr_vnc='127.0.0.1', serial_listen_addr=None,
        target_connect_addr='192.0.2.2', supported_perf_events=['cmt'],
        dst_vpmems=[vpmem_device('ns4', devpath='/dev/dax1.0'),
                    vpmem_device('ns5', devpath='/dev/dax1.1')],
        target_libvirt_uri='qemu+tcp://192.0.2.2/system',
        dst_can_post_copy=False,
        dst_post_copy_reason='vm.unprivileged_userfaultfd = 0')
    values.update(overrides)
    return objects.LibvirtLiveMigrateData(**values)


def vpmem_namespace(**overrides):
    values = dict(id=7, compute_node_uuid=uuidutils.generate_uuid(),
                  host='src', resource_class='CUSTOM_PMEM_NAMESPACE_SMALL',
                  name='ns0', devpath='/dev/dax0.0', state='quarantined',
                  instance_uuid=uuidutils.generate_uuid(),
                  migration_uuid=uuidutils.generate_uuid(),
                  migration_final_status='completed',
                  reason='daxio -z failed: I/O error',
                  state_changed_at=NOW, erase_attempts=2,
                  next_erase_at=NOW, created_at=NOW, updated_at=None)
    values.update(overrides)
    return objects.VPMEMNamespace(**values)


def instance_action(**overrides):
    values = dict(id=11, action='live-migration',
                  instance_uuid=uuidutils.generate_uuid(),
                  request_id='req-' + uuidutils.generate_uuid(),
                  user_id='fake-user', project_id='fake-project',
                  start_time=NOW, finish_time=NOW, message='Error',
                  **timestamps(updated_at=NOW))
    values.update(overrides)
    return objects.InstanceAction(**values)


def instance_action_event(**overrides):
    values = dict(id=12, event='conductor_live_migrate_instance',
                  action_id=11, start_time=NOW, finish_time=NOW,
                  result='Error', traceback='Traceback (most recent call '
                  'last):\n  ...', host='conductor',
                  details='Migration pre-check error: same host',
                  **timestamps())
    values.update(overrides)
    return objects.InstanceActionEvent(**values)


def keypair(**overrides):
    values = dict(id=21, name='mykey', user_id='user',
                  fingerprint='61:5f:fe:c7:e0:fd:d7:4a:2b:52:6e:a6:f5:bf:'
                              'da:27',
                  public_key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE7k '
                             'user@host',
                  type='ssh', **timestamps())
    values.update(overrides)
    return objects.KeyPair(**values)


def every_object():
    """{object name: a fully populated object of that class}."""
    inst = instance()
    return {
        'ComputeNode': compute_node(),
        'ComputeNodeList': objects.ComputeNodeList(
            objects=[compute_node(), compute_node(id=2)]),
        'Destination': objects.Destination(host='dst', node='dst-node'),
        'Flavor': flavor(),
        'FlavorList': objects.FlavorList(objects=[flavor()]),
        'Instance': inst,
        'InstanceAction': instance_action(instance_uuid=inst.uuid),
        'InstanceActionEvent': instance_action_event(),
        'InstanceActionEventList': objects.InstanceActionEventList(
            objects=[instance_action_event(), instance_action_event(
                id=13, event='compute_live_migration', finish_time=None,
                result=None, traceback=None, details=None)]),
        'InstanceActionList': objects.InstanceActionList(
            objects=[instance_action(instance_uuid=inst.uuid),
                     instance_action(id=10, action='create', message=None,
                                     instance_uuid=inst.uuid)]),
        'InstanceFault': instance_fault(inst.uuid),
        'InstanceFaultList': objects.InstanceFaultList(
            objects=[instance_fault(inst.uuid)]),
        'InstanceList': objects.InstanceList(
            objects=[inst, instance(id=43)]),
        'InstanceNUMACell': objects.InstanceNUMACell(id=0, cpuset={0, 1},
                                                     memory=512),
        'InstanceNUMATopology': numa_topology(),
        'LibvirtLiveMigrateData': libvirt_migrate_data(),
        'LibvirtVPMEMDevice': vpmem_device(),
        'LiveMigrateData': objects.LiveMigrateData(
            migration=migration(), is_volume_backed=True,
            block_migration=None),
        'KeyPair': keypair(),
        'KeyPairList': objects.KeyPairList(
            objects=[keypair(), keypair(id=22, name='x', type='x509')]),
        'Migration': migration(),
        'MigrationContext': migration_context(inst.uuid),
        'MigrationList': objects.MigrationList(
            objects=[migration(), migration(id=4)]),
        'RequestSpec': request_spec(),
        'Resource': vpmem_resource(),
        'ResourceList': source_resources(),
        'ResourceMetadata': objects.ResourceMetadata(),
        'Service': service(),
        'ServiceList': objects.ServiceList(objects=[service()]),
        'VPMEMNamespace': vpmem_namespace(),
        'VPMEMNamespaceList': objects.VPMEMNamespaceList(
            objects=[vpmem_namespace(), vpmem_namespace(
                id=8, name='ns1', state='free', instance_uuid=None,
                migration_uuid=None, migration_final_status=None,
                reason=None, erase_attempts=0, next_erase_at=None)]),
    }
