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

"""The server views at every microversion, against tempest's schemas.

Tempest's response schemas are Nova's (one directory per microversion
where a body changes); every view is checked at every microversion from
2.1 to 2.100 against the schema of the newest directory not above it, for
an administrator and a project member, with and without a fault.
"""

import datetime
import importlib
import os

from nova.api.handlers import server_views
from nova.compute import task_states
from nova.compute import vm_states
from nova import objects
from nova import test

import tempest.lib.api_schema.response.compute as tempest_compute
from tempest.lib.common import jsonschema_validator

UUID = '6f1f4f52-8d8d-4c8e-9c1d-2a3b4c5d6e7f'
IMAGE_ID = '155d900f-4e14-4e4c-a73d-069cbf4541e6'
BASE = 'http://api.example:8774'
ALL_VERSIONS = [(2, minor) for minor in range(1, 101)]


def instance(**kwargs):
    values = dict(
        uuid=UUID, display_name='vm1', project_id='p', user_id='u',
        vm_state=vm_states.ACTIVE, task_state=None, power_state=1,
        host='compute-a', node='compute-a', image_ref='cirros',
        launched_at=datetime.datetime(2025, 1, 1, 0, 1),
        terminated_at=None, created_at=datetime.datetime(2025, 1, 1),
        updated_at=datetime.datetime(2025, 1, 1, 0, 2), fault=None,
        display_description=None, locked=False, locked_by=None,
        locked_reason=None,
        flavor=objects.Flavor(flavorid='f1', name='f1', vcpus=1,
                              memory_mb=16, root_gb=0, ephemeral_gb=0,
                              swap=0, extra_specs={'hw:pmem': 'SMALL'}))
    values.update(kwargs)
    return objects.Instance(**values)


def fault():
    return objects.InstanceFault(code=500, message='NoValidHost',
                                 details='Traceback ...',
                                 created_at=datetime.datetime(2025, 1, 2))


def env(version, admin=True, host_status='UP', allows=None):
    images = {'cirros': {'id': IMAGE_ID, 'name': 'cirros',
                         'min_ram': 0, 'min_disk': 0, 'disk_format': 'raw',
                         'container_format': 'bare',
                         'properties': {'kernel': '/k.elf'}}}

    def allowed(what, inst):
        if allows is not None:
            return what in allows
        return admin or what == 'flavor_extra_specs'

    return server_views.ViewEnv(
        base_url=BASE, version=version, is_admin=admin, allows=allowed,
        image=images.get, host_status=lambda host: host_status)


def _schemas_dir_for(version):
    """The tempest servers schema module for ``version``."""
    root = os.path.dirname(tempest_compute.__file__)
    best = None
    for name in os.listdir(root):
        if not name.startswith('v2_'):
            continue
        minor = int(name[3:])
        if (2, minor) <= version and os.path.exists(
                os.path.join(root, name, 'servers.py')):
            best = max(best or minor, minor)
    return importlib.import_module(
        'tempest.lib.api_schema.response.compute.v2_%d.servers' % best)


class TestViewsAgainstTempest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()

    def _check(self, schema, body, version, what):
        validator = jsonschema_validator.JSONSCHEMA_VALIDATOR(
            schema['response_body'],
            format_checker=jsonschema_validator.FORMAT_CHECKER)
        errors = [e.message for e in validator.iter_errors(body)]
        self.assertEqual([], errors, '%s at %d.%d' % ((what,) + version))

    def _each(self, build, schema_name, wrap, **instance_args):
        for version in ALL_VERSIONS:
            schemas = _schemas_dir_for(version)
            for admin in (True, False):
                body = wrap(build(instance(**instance_args),
                                  env(version, admin=admin)))
                self._check(getattr(schemas, schema_name), body, version,
                            '%s admin=%s' % (schema_name, admin))

    def test_show(self):
        self._each(server_views.show, 'get_server',
                   lambda s: {'server': s})

    def test_show_in_error_with_fault(self):
        self._each(server_views.show, 'get_server',
                   lambda s: {'server': s}, vm_state=vm_states.ERROR,
                   fault=fault())

    def test_show_building_without_host_or_image(self):
        self._each(server_views.show, 'get_server',
                   lambda s: {'server': s}, vm_state=vm_states.BUILDING,
                   task_state=task_states.SCHEDULING, host=None, node=None,
                   image_ref=None, launched_at=None)

    def test_show_locked_with_description(self):
        self._each(server_views.show, 'get_server',
                   lambda s: {'server': s}, locked=True, locked_by='admin',
                   locked_reason='maintenance', display_description='db')

    def test_detail(self):
        self._each(server_views.detail, 'list_servers_detail',
                   lambda s: {'servers': [s], 'servers_links': [
                       {'rel': 'next', 'href': BASE + '/v2.1/servers/'
                                               'detail?marker=x'}]})

    def test_update(self):
        self._each(server_views.update, 'update_server',
                   lambda s: {'server': s})

    def test_index(self):
        self._each(server_views.summary, 'list_servers',
                   lambda s: {'servers': [s]})

    def test_create(self):
        schemas = _schemas_dir_for((2, 1))
        body = {'server': server_views.created(instance(), env((2, 1)),
                                               'pw')}
        self._check(schemas.create_server_with_admin_pass, body, (2, 1),
                    'create')


class TestFieldsPerVersion(test.NoDBTestCase):
    """Which attribute appears from which microversion, and for whom."""

    def _keys(self, view, version, admin=True, **kwargs):
        return set(view(instance(**kwargs), env(version, admin=admin)))

    def test_2_1_has_none_of_the_later_attributes(self):
        keys = self._keys(server_views.show, (2, 1))
        for later in ('locked', 'description', 'tags', 'host_status',
                      'trusted_image_certificates', 'server_groups',
                      'locked_reason', 'pinned_availability_zone',
                      'scheduler_hints', 'OS-EXT-SRV-ATTR:hostname'):
            self.assertNotIn(later, keys)
        flavor = server_views.show(instance(), env((2, 1)))['flavor']
        self.assertEqual({'id': 'f1', 'links': [
            {'rel': 'bookmark', 'href': BASE + '/flavors/f1'}]}, flavor)

    def test_first_versions(self):
        firsts = {'OS-EXT-SRV-ATTR:reservation_id': (2, 3),
                  'locked': (2, 9), 'host_status': (2, 16),
                  'description': (2, 19), 'tags': (2, 26),
                  'trusted_image_certificates': (2, 63),
                  'server_groups': (2, 71), 'locked_reason': (2, 73),
                  'pinned_availability_zone': (2, 96),
                  'scheduler_hints': (2, 100)}
        for name, first in firsts.items():
            before = (first[0], first[1] - 1)
            self.assertNotIn(name, self._keys(server_views.show, before),
                             name)
            self.assertIn(name, self._keys(server_views.show, first), name)

    def test_empty_values_of_unused_features(self):
        body = server_views.show(instance(), env((2, 100)))
        self.assertEqual([], body['tags'])
        self.assertEqual([], body['server_groups'])
        self.assertIsNone(body['trusted_image_certificates'])
        self.assertIsNone(body['pinned_availability_zone'])
        self.assertEqual({}, body['scheduler_hints'])
        self.assertEqual([], body['os-extended-volumes:volumes_attached'])

    def test_server_groups_not_in_detail(self):
        self.assertNotIn('server_groups',
                         self._keys(server_views.detail, (2, 100)))

    def test_embedded_flavor_from_2_47(self):
        flavor = server_views.show(instance(), env((2, 47)))['flavor']
        self.assertEqual({'original_name': 'f1', 'vcpus': 1, 'ram': 16,
                          'disk': 0, 'ephemeral': 0, 'swap': 0,
                          'extra_specs': {'hw:pmem': 'SMALL'}}, flavor)
        # Without the extra specs policy, no extra_specs.
        flavor = server_views.show(
            instance(), env((2, 47), allows=set()))['flavor']
        self.assertNotIn('extra_specs', flavor)

    def test_image_properties_from_2_98(self):
        image = server_views.show(instance(), env((2, 97)))['image']
        self.assertEqual({'id', 'links'}, set(image))
        image = server_views.show(instance(), env((2, 98)))['image']
        self.assertEqual(IMAGE_ID, image['id'])
        self.assertEqual('/k.elf', image['properties']['kernel'])
        self.assertEqual('raw', image['properties']['disk_format'])

    def test_extended_attributes_for_admins(self):
        keys = self._keys(server_views.show, (2, 3), admin=False)
        self.assertFalse([k for k in keys if k.startswith('OS-EXT-SRV')])
        self.assertNotIn('host_status',
                         self._keys(server_views.show, (2, 16), admin=False))
        keys = self._keys(server_views.show, (2, 3))
        for name in ('host', 'instance_name', 'hypervisor_hostname',
                     'reservation_id', 'launch_index', 'hostname',
                     'kernel_id', 'ramdisk_id', 'root_device_name',
                     'user_data'):
            self.assertIn('OS-EXT-SRV-ATTR:' + name, keys)
        self.assertNotIn('OS-EXT-SRV-ATTR:reservation_id',
                         self._keys(server_views.show, (2, 2)))
        # 2.90 shows the hostname to everyone.
        keys = self._keys(server_views.show, (2, 90), admin=False)
        self.assertEqual({'OS-EXT-SRV-ATTR:hostname'},
                         {k for k in keys if k.startswith('OS-EXT-SRV')})

    def test_host_status_unknown_only(self):
        only_unknown = {'host_status_unknown_only', 'flavor_extra_specs'}
        body = server_views.show(instance(), env(
            (2, 16), host_status='UNKNOWN', allows=only_unknown))
        self.assertEqual('UNKNOWN', body['host_status'])
        body = server_views.show(instance(), env(
            (2, 16), host_status='UP', allows=only_unknown))
        self.assertNotIn('host_status', body)

    def test_update_is_the_basic_view_until_2_75(self):
        basic = self._keys(server_views.update, (2, 74))
        self.assertNotIn('OS-EXT-STS:vm_state', basic)
        self.assertNotIn('OS-EXT-SRV-ATTR:host', basic)
        self.assertIn('server_groups', basic)
        self.assertEqual(self._keys(server_views.show, (2, 75)),
                         self._keys(server_views.update, (2, 75)))

    def test_fault_only_in_error_and_details_only_for_admins(self):
        self.assertNotIn('fault', self._keys(server_views.show, (2, 1),
                                             fault=fault()))
        body = server_views.show(
            instance(vm_state=vm_states.ERROR, fault=fault()), env((2, 1)))
        self.assertEqual('Traceback ...', body['fault']['details'])
        body = server_views.show(
            instance(vm_state=vm_states.ERROR, fault=fault()),
            env((2, 1), admin=False))
        self.assertNotIn('details', body['fault'])
        self.assertNotIn('progress', body)

    def test_a_deleted_server_is_deleted(self):
        body = server_views.show(instance(deleted=True,
                                          vm_state=vm_states.ERROR),
                                 env((2, 1)))
        self.assertEqual('DELETED', body['status'])

    def test_links(self):
        body = server_views.show(instance(), env((2, 1)))
        self.assertEqual(
            [{'rel': 'self', 'href': BASE + '/v2.1/servers/' + UUID},
             {'rel': 'bookmark', 'href': BASE + '/servers/' + UUID}],
            body['links'])
        self.assertEqual([{'rel': 'bookmark',
                           'href': BASE + '/images/' + IMAGE_ID}],
                         body['image']['links'])

    def test_host_id_is_per_project(self):
        one = server_views.host_id('p1', 'compute-a')
        self.assertNotEqual(one, server_views.host_id('p2', 'compute-a'))
        self.assertEqual('', server_views.host_id('p1', None))


class TestStatuses(test.NoDBTestCase):

    def test_status_of_states(self):
        for vm_state, task_state, status in (
                (vm_states.ACTIVE, None, 'ACTIVE'),
                (vm_states.ACTIVE, task_states.MIGRATING, 'MIGRATING'),
                (vm_states.ACTIVE, task_states.REBOOTING_HARD,
                 'HARD_REBOOT'),
                (vm_states.PAUSED, task_states.MIGRATING, 'MIGRATING'),
                (vm_states.STOPPED, task_states.POWERING_ON, 'SHUTOFF'),
                (vm_states.RESIZED, task_states.RESIZE_REVERTING,
                 'REVERT_RESIZE'),
                (vm_states.BUILDING, task_states.DELETING, 'BUILD'),
                ('nonsense', None, 'UNKNOWN')):
            self.assertEqual(status, server_views.status_from_states(
                vm_state, task_state), (vm_state, task_state))

    def test_states_of_statuses(self):
        self.assertEqual(([vm_states.ERROR], ['default']),
                         server_views.states_from_statuses(['error']))
        vms, tasks = server_views.states_from_statuses(['REBUILD'])
        self.assertEqual([vm_states.ACTIVE, vm_states.ERROR,
                          vm_states.STOPPED], vms)
        self.assertNotIn('default', tasks)
        vms, tasks = server_views.states_from_statuses(['MIGRATING'])
        self.assertEqual([vm_states.ACTIVE, vm_states.PAUSED], vms)
        self.assertEqual([task_states.MIGRATING], tasks)
        self.assertEqual(([], []),
                         server_views.states_from_statuses(['BOGUS']))
        self.assertEqual((['shelved'], ['default']),
                         server_views.states_from_statuses(['SHELVED']))
