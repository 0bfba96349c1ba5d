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

"""Every call of the compute API, at every microversion, checked by tempest.

tempest's own compute clients validate each answer against Nova's JSON
schema for the microversion they asked for (see tempest_harness). This
module is the table: per resource, the microversions where Nova's response
schema (or the call's existence) changes, and the calls to make at each of
them. A call outside its microversion range must answer as Nova's does
(404, or 400 where a newer call on the same path refuses the old body).
Each test collects every mismatch of its resource and fails with the whole
list, one line per call and microversion, so everything that still drifts
shows at once.
"""

import json
import re
import time

import fixtures

from nova.api import routes
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests.functional.api import tempest_harness as harness
from nova.tests.functional.api import test_keypairs
from nova.tests.functional.api.tempest_harness import ADMIN_TOKEN
from nova.tests.functional.api.tempest_harness import call
from nova.tests.functional.api.tempest_harness import LATEST
from nova.tests.functional.api.tempest_harness import MiB
from nova.tests.functional.api.tempest_harness import USER_TOKEN
from nova.tests.functional import base

# -- microversions per resource -----------------------------------------------
#
# None is "no header" (2.1). The others are where tempest's schema changes
# (a directory of tempest/lib/api_schema/response/compute/ for the
# resource), where a call appears or disappears, and the maximum we serve.
#
#   resource           versions (besides None, 2.1 and 2.100)
#   servers            every servers.py directory: 2.3 2.6 2.8 2.9 2.16
#                      2.19 2.26 2.45 2.47 2.48 2.51 2.54 2.57 2.58 2.62
#                      2.63 2.70 2.71 2.73 2.75 2.79 2.80 2.84 2.89 2.96
#                      2.97 2.98 2.99; 2.37 (networks required)
#   server actions     2.25 2.30 2.56 2.68 2.73 (request bodies change)
#   server migrations  2.22 (force_complete) 2.23 (list, show) 2.24
#                      (abort) 2.59 2.80 (servers.py)
#   migrations         2.23 2.59 2.80 (migrations.py)
#   instance actions   2.21 (deleted servers) 2.51 2.58 2.62 2.84
#   flavors            2.55 2.61 (flavors.py) 2.75 (swap 0)
#   services           2.11 2.53 (services.py)
#   hypervisors        2.28 2.33 2.53 (hypervisors.py) 2.88 (statistics,
#                      uptime removed)
#   images             2.35 2.36 (proxy API removed) 2.45 (images.py)
#   aggregates         2.41 (aggregates.py)
#   versions           no header only: version documents are unversioned
#
# Three of tempest 47's clients miss a change Nova makes; tempest_harness's
# clients add it from tempest's own schema data: ServersClient skips its
# v2_59 schemas (server migrations carry ``uuid`` from 2.59),
# HypervisorClient has nothing for 2.88 (usage fields removed, ``uptime``
# added) and MigrationsClient forbids the ``migrations_links`` of a full
# page (2.59 paging).

VERSIONS = {
    'servers': (None, '2.1', '2.3', '2.6', '2.8', '2.9', '2.16', '2.19',
                '2.26', '2.37', '2.45', '2.47', '2.48', '2.51', '2.54',
                '2.57', '2.58', '2.62', '2.63', '2.70', '2.71', '2.73',
                '2.75', '2.79', '2.80', '2.84', '2.89', '2.96', '2.97',
                '2.98', '2.99', LATEST),
    'server_actions': (None, '2.1', '2.25', '2.30', '2.56', '2.68', '2.73',
                       LATEST),
    'server_migrations': (None, '2.1', '2.22', '2.23', '2.24', '2.59',
                          '2.80', LATEST),
    'migrations': (None, '2.1', '2.23', '2.59', '2.80', LATEST),
    'instance_actions': (None, '2.1', '2.21', '2.51', '2.58', '2.62',
                         '2.84', LATEST),
    'flavors': (None, '2.1', '2.55', '2.61', '2.75', LATEST),
    'services': (None, '2.1', '2.11', '2.53', LATEST),
    'hypervisors': (None, '2.1', '2.28', '2.33', '2.53', '2.88', LATEST),
    'images': (None, '2.1', '2.35', '2.36', '2.45', LATEST),
    'aggregates': (None, '2.1', '2.41', LATEST),
    'versions': (None,),
}


class SchemaTest(harness.TempestSchemaTestBase):

    def check(self, resource, calls):
        self.run_table(resource, VERSIONS[resource], calls)


# -- helpers the tables call --------------------------------------------------

def _at_least(version, minimum):
    return harness.version_tuple(version) >= harness.version_tuple(minimum)


def _other_host(test, uuid):
    return 'compute-b' if test.host_of(uuid) == 'compute-a' else 'compute-a'


def _wait(vm_state):
    def after(test, version):
        test.wait_for_state(test.server_uuid, vm_state)
    return after


# -- servers ------------------------------------------------------------------

def _create_server(test, clients, version):
    server = {'name': 'created-%s' % (version or 'none'),
              'flavorRef': test.flavor.flavorid, 'imageRef': test.image_id}
    if _at_least(version, '2.37'):
        server['networks'] = 'none'  # required from 2.37
    body = clients.servers.create_server(**server)
    test.created.append(body['server']['id'])


def _wait_created(test, version):
    test.wait_for_state(test.created[-1], vm_states.ACTIVE)


def _delete_created(test, clients, version):
    if not test.created:
        raise AssertionError('nothing to delete: POST /servers failed')
    clients.servers.delete_server(test.created[-1])


def _wait_deleted(test, version):
    test.wait_for_deleted(test.created.pop())


SERVER_CALLS = [
    call('POST /servers', _create_server, token=USER_TOKEN,
         only=(None, '2.37', LATEST), after=_wait_created),
    call('GET /servers', lambda t, c, v: c.servers.list_servers(),
         token=USER_TOKEN),
    call('GET /servers?all_tenants', lambda t, c, v:
         c.servers.list_servers(all_tenants=True)),
    call('GET /servers/detail', lambda t, c, v:
         c.servers.list_servers(detail=True), token=USER_TOKEN),
    call('GET /servers/detail?all_tenants', lambda t, c, v:
         c.servers.list_servers(detail=True, all_tenants=True)),
    call('GET /servers/{server_id}', lambda t, c, v:
         c.servers.show_server(t.server_uuid), token=USER_TOKEN),
    call('GET /servers/{server_id} (admin)', lambda t, c, v:
         c.servers.show_server(t.server_uuid)),
    call('GET /servers/{server_id} (error, with fault)', lambda t, c, v:
         c.servers.show_server(t.errored_uuid), token=USER_TOKEN),
    call('GET /servers/{server_id} (error, admin)', lambda t, c, v:
         c.servers.show_server(t.errored_uuid)),
    call('GET /servers?limit=1', lambda t, c, v:
         c.servers.list_servers(limit=1), token=USER_TOKEN),
    call('GET /servers/detail?limit=1', lambda t, c, v:
         c.servers.list_servers(detail=True, limit=1), token=USER_TOKEN),
    call('PUT /servers/{server_id}', lambda t, c, v:
         c.servers.update_server(t.server_uuid, name='vm1'),
         token=USER_TOKEN),
    call('DELETE /servers/{server_id}', _delete_created, token=USER_TOKEN,
         only=(None, '2.37', LATEST), after=_wait_deleted),
]


# -- server actions -----------------------------------------------------------

def _lock(test, clients, version):
    if _at_least(version, '2.73'):
        clients.servers.lock_server(test.server_uuid,
                                    locked_reason='schema check')
    else:
        clients.servers.lock_server(test.server_uuid)


def _migrate(test, clients, version):
    test.previous_migration = test.newest_migration(test.server_uuid)
    if _at_least(version, '2.56'):
        clients.servers.migrate_server(
            test.server_uuid, host=_other_host(test, test.server_uuid))
    else:
        clients.servers.migrate_server(test.server_uuid)


def _live_migrate(test, clients, version):
    test.previous_migration = test.newest_migration(test.server_uuid)
    args = {'host': _other_host(test, test.server_uuid)}
    if _at_least(version, '2.25'):
        args['block_migration'] = 'auto'
    else:
        args.update(block_migration=False, disk_over_commit=False)
    clients.servers.live_migrate_server(test.server_uuid, **args)


def _wait_migration_done(test, version):
    test.wait_for_migration_status(test.server_uuid,
                                   ('completed', 'confirmed', 'reverted'),
                                   newer_than=test.previous_migration)
    test.wait_for_state(test.server_uuid, vm_states.ACTIVE)


def _wait_resized(test, version):
    test.wait_for_state(test.server_uuid, vm_states.RESIZED)


SERVER_ACTION_CALLS = [
    call('POST /servers/{server_id}/action os-stop', lambda t, c, v:
         c.servers.stop_server(t.server_uuid),
         after=_wait(vm_states.STOPPED)),
    call('POST /servers/{server_id}/action os-start', lambda t, c, v:
         c.servers.start_server(t.server_uuid),
         after=_wait(vm_states.ACTIVE)),
    call('POST /servers/{server_id}/action pause', lambda t, c, v:
         c.servers.pause_server(t.server_uuid),
         after=_wait(vm_states.PAUSED)),
    call('POST /servers/{server_id}/action unpause', lambda t, c, v:
         c.servers.unpause_server(t.server_uuid),
         after=_wait(vm_states.ACTIVE)),
    call('POST /servers/{server_id}/action reboot', lambda t, c, v:
         c.servers.reboot_server(t.server_uuid, type='SOFT'),
         after=_wait(vm_states.ACTIVE)),
    call('POST /servers/{server_id}/action lock', _lock),
    call('GET /servers/{server_id} (locked)', lambda t, c, v:
         c.servers.show_server(t.server_uuid), token=USER_TOKEN),
    call('POST /servers/{server_id}/action unlock', lambda t, c, v:
         c.servers.unlock_server(t.server_uuid)),
    call('POST /servers/{server_id}/action migrate', _migrate,
         after=_wait_resized),
    call('GET /servers/{server_id} (resized)', lambda t, c, v:
         c.servers.show_server(t.server_uuid)),
    call('POST /servers/{server_id}/action confirmResize', lambda t, c, v:
         c.servers.confirm_resize_server(t.server_uuid),
         after=_wait_migration_done),
    call('POST /servers/{server_id}/action migrate (to revert)', _migrate,
         after=_wait_resized),
    call('POST /servers/{server_id}/action revertResize', lambda t, c, v:
         c.servers.revert_resize_server(t.server_uuid),
         after=_wait_migration_done),
    call('POST /servers/{server_id}/action os-migrateLive', _live_migrate,
         after=_wait_migration_done),
]


class ServersSchemaTest(SchemaTest):

    def test_servers(self):
        self.server_uuid = self.boot_as_user('vm1').uuid
        # No host has this much memory: ERROR, with a fault to show.
        too_big = self.create_flavor(name='too-big', memory_mb=1 << 30)
        errored = self.api.create(self.user_context, too_big, 'broken',
                                  image_ref=self.image_id)
        self.errored_uuid = self.wait_for_state(errored.uuid,
                                                vm_states.ERROR).uuid
        self.created = []
        self.check('servers', SERVER_CALLS)

    def test_server_actions(self):
        self.server_uuid = self.boot_as_user('vm1').uuid
        self.previous_migration = None
        self.check('server_actions', SERVER_ACTION_CALLS)


# -- server migrations (in progress) and os-migrations ------------------------

def _show_server_migration(test, clients, version):
    # tempest has no show call: check the migration with the item schema
    # of its list call for this microversion.
    client = clients.servers
    body = harness.raw_call(client, 'GET', 'servers/%s/migrations/%s' % (
        test.server_uuid, test.migration_id),
        {'status_code': [200], 'response_body': {
            'type': 'object', 'properties': {'migration': {'type': 'object'}},
            'required': ['migration'], 'additionalProperties': False}})
    schema = client.get_schema(client.schema_versions_info)
    client.validate_response(schema.list_live_migrations,
                             _Resp200(), {'migrations': [body['migration']]})


class _Resp200(dict):
    status = 200


def _force_complete(test, clients, version):
    # tempest's force_complete_live_migration parses the empty body of
    # Nova's 202 as JSON and fails; the same request, checked the same way.
    harness.raw_call(
        clients.servers, 'POST', 'servers/%s/migrations/%s/action' % (
            test.server_uuid, test.migration_id),
        harness.status_only(202), body={'force_complete': None})


def _wait_forced(test, version):
    test.wait_for_migration_status(test.server_uuid, ('completed',))
    test.wait_for_state(test.server_uuid, vm_states.ACTIVE)
    test.start_slow_migration()


def _abort(test, clients, version):
    harness.raw_call(clients.servers, 'DELETE', 'servers/%s/migrations/%s' % (
        test.server_uuid, test.migration_id), harness.status_only(202))


def _wait_aborted(test, version):
    test.wait_for_migration_status(test.server_uuid, ('cancelled',))
    test.wait_for_state(test.server_uuid, vm_states.ACTIVE)
    test.start_slow_migration()


SERVER_MIGRATION_CALLS = [
    call('GET /servers/{server_id}/migrations', lambda t, c, v:
         c.servers.list_in_progress_live_migration(t.server_uuid),
         first='2.23'),
    call('GET /servers/{server_id}/migrations/{migration_id}',
         _show_server_migration, first='2.23'),
    # Each ends the migration in progress; the next starts another.
    call('POST /servers/{server_id}/migrations/{migration_id}/action '
         'force_complete', _force_complete, first='2.22',
         only=(None, '2.1', '2.22'), after=_wait_forced),
    call('DELETE /servers/{server_id}/migrations/{migration_id}', _abort,
         first='2.24', only=(None, '2.1', '2.24'), after=_wait_aborted),
]


MIGRATION_CALLS = [
    call('GET /os-migrations', lambda t, c, v:
         c.migrations.list_migrations()),
    # Paging exists from 2.59 (older versions may refuse the parameter).
    call('GET /os-migrations?limit=1', lambda t, c, v:
         c.migrations.list_migrations(limit=1),
         only=('2.59', '2.80', LATEST)),
    call('GET /os-migrations?instance_uuid', lambda t, c, v:
         c.migrations.list_migrations(instance_uuid=t.server_uuid)),
]


class MigrationsSchemaTest(SchemaTest):

    def start_slow_migration(self):
        """A live migration that does not converge until forced."""
        host = self.host_of(self.server_uuid)
        emulated = base.emulator.get_host(host)
        # Writes at twice the bandwidth: it never converges.
        emulated.configure(default_bandwidth=8 * MiB)
        emulated.set_workload(self.server_uuid,
                              dirty_pages_per_second=4096)
        instance = objects.Instance.get_by_uuid(self.context,
                                                self.server_uuid)
        self.api.live_migrate(self.context, instance,
                              host_name=_other_host(self, self.server_uuid))
        migration = self.wait_for_migration_status(self.server_uuid,
                                                   ('running',))
        self.migration_id = migration.id

    def end_slow_migration(self):
        """Abort what the table left running, before the services stop."""
        instance = objects.Instance.get_by_uuid(self.context,
                                                self.server_uuid)
        for migration in objects.MigrationList.get_by_filters(
                self.context, {'instance_uuid': self.server_uuid}):
            if migration.status in ('queued', 'preparing', 'running'):
                self.api.live_migrate_abort(self.context, instance,
                                            migration.id)
                self.wait_for_migration_status(
                    self.server_uuid, ('cancelled', 'failed', 'error'))

    def test_server_migrations(self):
        self.server_uuid = self.boot_as_user('vm1', host='compute-a').uuid
        self.addCleanup(self.end_slow_migration)
        self.start_slow_migration()
        self.check('server_migrations', SERVER_MIGRATION_CALLS)

    def test_migrations(self):
        self.server_uuid = self.boot_as_user('vm1', host='compute-a').uuid
        instance = objects.Instance.get_by_uuid(self.context,
                                                self.server_uuid)
        self.api.live_migrate(self.context, instance, host_name='compute-b')
        self.wait_for_migration_status(self.server_uuid, ('completed',))
        self.wait_for_state(self.server_uuid, vm_states.ACTIVE)
        self.check('migrations', MIGRATION_CALLS)


# -- instance actions ---------------------------------------------------------

def _request_id(test, uuid, action='create'):
    actions = objects.InstanceActionList.get_by_instance_uuid(
        nova_context.get_admin_context(read_deleted='yes'), uuid)
    return [a.request_id for a in actions if a.action == action][0]


def _actions_calls():
    calls = []
    for token in (USER_TOKEN, ADMIN_TOKEN):
        suffix = ' (admin)' if token == ADMIN_TOKEN else ''
        calls += [
            call('GET /servers/{server_id}/os-instance-actions' + suffix,
                 lambda t, c, v: c.servers.list_instance_actions(
                     t.server_uuid), token=token),
            call('GET /servers/{server_id}/os-instance-actions/'
                 '{request_id}' + suffix,
                 lambda t, c, v: c.servers.show_instance_action(
                     t.server_uuid, _request_id(t, t.server_uuid)),
                 token=token),
            # Its events failed: traceback, details.
            call('GET /servers/{server_id}/os-instance-actions/'
                 '{request_id} (refused)' + suffix,
                 lambda t, c, v: c.servers.show_instance_action(
                     t.server_uuid, _request_id(t, t.server_uuid,
                                                'live-migration')),
                 token=token),
            call('GET /servers/{deleted}/os-instance-actions' + suffix,
                 lambda t, c, v: c.servers.list_instance_actions(
                     t.deleted_uuid), token=token, first='2.21'),
            call('GET /servers/{deleted}/os-instance-actions/'
                 '{request_id}' + suffix,
                 lambda t, c, v: c.servers.show_instance_action(
                     t.deleted_uuid, _request_id(t, t.deleted_uuid)),
                 token=token, first='2.21'),
        ]
    return calls


class InstanceActionsSchemaTest(SchemaTest):

    def wait_for_failed_event(self, uuid, action):
        deadline = time.monotonic() + self.TIMEOUT
        while time.monotonic() < deadline:
            for found in objects.InstanceActionList.get_by_instance_uuid(
                    self.context, uuid):
                events = objects.InstanceActionEventList.get_by_action(
                    self.context, found.id)
                if found.action == action and any(
                        e.result == 'Error' for e in events):
                    return
            time.sleep(0.05)
        self.fail('no %s action of %s with a failed event' % (action, uuid))

    def test_instance_actions(self):
        server = self.boot_as_user('vm1')
        self.server_uuid = server.uuid
        # Refused by the conductor (its own host): an action in error.
        try:
            self.api.live_migrate(self.context, server,
                                  host_name=server.host, force=True)
        except exception.NovaException:
            pass  # refused at once; else the conductor records it
        self.wait_for_failed_event(server.uuid, 'live-migration')
        deleted = self.boot_as_user('gone')
        self.api.delete(self.user_context, deleted)
        self.wait_for_deleted(deleted.uuid)
        self.deleted_uuid = deleted.uuid
        self.check('instance_actions', _actions_calls())


# -- flavors ------------------------------------------------------------------

def _create_flavor(test, clients, version):
    flavor_id = 'schema-%s' % (version or 'none')
    test.flavor_id = flavor_id  # the next calls use it even if this fails
    clients.flavors.create_flavor(name=flavor_id, id=flavor_id, ram=16,
                                  vcpus=1, disk=0,
                                  **{'os-flavor-access:is_public': False})


FLAVOR_CALLS = [
    call('POST /flavors', _create_flavor),
    call('GET /flavors', lambda t, c, v: c.flavors.list_flavors(),
         token=USER_TOKEN),
    call('GET /flavors?is_public=None', lambda t, c, v:
         c.flavors.list_flavors(is_public='None')),
    call('GET /flavors/detail', lambda t, c, v:
         c.flavors.list_flavors(detail=True), token=USER_TOKEN),
    call('GET /flavors?limit=1', lambda t, c, v:
         c.flavors.list_flavors(limit=1), token=USER_TOKEN),
    call('GET /flavors/{flavor_id}', lambda t, c, v:
         c.flavors.show_flavor(t.flavor_id)),
    call('PUT /flavors/{flavor_id}', lambda t, c, v:
         c.flavors.update_flavor(t.flavor_id, description='checked'),
         first='2.55'),
    call('POST /flavors/{flavor_id}/os-extra_specs', lambda t, c, v:
         c.flavors.set_flavor_extra_spec(t.flavor_id, **{
             'hw:pmem': 'SMALL'})),
    call('GET /flavors/{flavor_id}/os-extra_specs', lambda t, c, v:
         c.flavors.list_flavor_extra_specs(t.flavor_id)),
    call('GET /flavors/{flavor_id}/os-extra_specs/{key}', lambda t, c, v:
         c.flavors.show_flavor_extra_spec(t.flavor_id, 'hw:pmem')),
    call('PUT /flavors/{flavor_id}/os-extra_specs/{key}', lambda t, c, v:
         c.flavors.update_flavor_extra_spec(t.flavor_id, 'hw:pmem', **{
             'hw:pmem': 'SMALL,SMALL'})),
    call('DELETE /flavors/{flavor_id}/os-extra_specs/{key}', lambda t, c, v:
         c.flavors.unset_flavor_extra_spec(t.flavor_id, 'hw:pmem')),
    call('POST /flavors/{flavor_id}/action addTenantAccess', lambda t, c, v:
         c.flavors.add_flavor_access(t.flavor_id, 'project')),
    call('GET /flavors/{flavor_id}/os-flavor-access', lambda t, c, v:
         c.flavors.list_flavor_access(t.flavor_id)),
    call('POST /flavors/{flavor_id}/action removeTenantAccess',
         lambda t, c, v: c.flavors.remove_flavor_access(t.flavor_id,
                                                        'project')),
    call('DELETE /flavors/{flavor_id}', lambda t, c, v:
         c.flavors.delete_flavor(t.flavor_id)),
]


class FlavorsSchemaTest(SchemaTest):

    def test_flavors(self):
        self.check('flavors', FLAVOR_CALLS)


# -- services -----------------------------------------------------------------

def _service_id(test, version, host='compute-b'):
    svc = objects.Service.get_by_compute_host(test.context, host)
    return svc.uuid if _at_least(version, '2.53') else svc.id


def _update_service(test, clients, version, **body):
    clients.services.update_service(_service_id(test, version), **body)


def _delete_service(test, clients, version):
    # A host of its own per version: an integer id before 2.53, a uuid on.
    host = 'compute-c' if version is None else 'compute-d'
    test.stop_compute(host)
    harness.raw_call(clients.services, 'DELETE', 'os-services/%s'
                     % _service_id(test, version, host),
                     harness.status_only(204))


def _host(**extra):
    return dict(host='compute-b', binary='nova-compute', **extra)


SERVICE_CALLS = [
    call('GET /os-services', lambda t, c, v: c.services.list_services()),
    call('GET /os-services?binary', lambda t, c, v:
         c.services.list_services(binary='nova-compute')),
    call('PUT /os-services/disable', lambda t, c, v:
         c.services.disable_service(**_host()), last='2.52', gone=400),
    call('PUT /os-services/enable', lambda t, c, v:
         c.services.enable_service(**_host()), last='2.52', gone=400),
    call('PUT /os-services/disable-log-reason', lambda t, c, v:
         c.services.disable_log_reason(**_host(disabled_reason='check')),
         last='2.52', gone=400),
    call('PUT /os-services/enable (again)', lambda t, c, v:
         c.services.enable_service(**_host()), last='2.52', gone=400),
    call('PUT /os-services/force-down', lambda t, c, v:
         c.services.update_forced_down(**_host(forced_down=True)),
         first='2.11', last='2.52', gone=400),
    call('PUT /os-services/force-down (up)', lambda t, c, v:
         c.services.update_forced_down(**_host(forced_down=False)),
         first='2.11', last='2.52', gone=400),
    call('PUT /os-services/{service_id} disable', lambda t, c, v:
         _update_service(t, c, v, status='disabled',
                         disabled_reason='check'), first='2.53'),
    call('PUT /os-services/{service_id} enable', lambda t, c, v:
         _update_service(t, c, v, status='enabled'), first='2.53'),
    call('PUT /os-services/{service_id} forced_down', lambda t, c, v:
         _update_service(t, c, v, forced_down=True), first='2.53'),
    call('PUT /os-services/{service_id} up', lambda t, c, v:
         _update_service(t, c, v, forced_down=False), first='2.53'),
    call('DELETE /os-services/{service_id}', _delete_service,
         only=(None, LATEST)),
]


class ServicesSchemaTest(SchemaTest):

    def test_services(self):
        self.start_compute('compute-c', ['SMALL:ns0'])
        self.start_compute('compute-d', ['SMALL:ns0'])
        self.check('services', SERVICE_CALLS)


# -- hypervisors --------------------------------------------------------------

def _hypervisor_id(test, version):
    node = test.node('compute-a')
    return node.uuid if _at_least(version, '2.53') else node.id


HYPERVISOR_CALLS = [
    call('GET /os-hypervisors', lambda t, c, v:
         c.hypervisors.list_hypervisors()),
    call('GET /os-hypervisors/detail', lambda t, c, v:
         c.hypervisors.list_hypervisors(detail=True)),
    # Paging exists from 2.33.
    call('GET /os-hypervisors?limit=1', lambda t, c, v:
         c.hypervisors.list_hypervisors(limit=1),
         only=('2.33', '2.53', '2.88', LATEST)),
    call('GET /os-hypervisors/detail?limit=1', lambda t, c, v:
         c.hypervisors.list_hypervisors(detail=True, limit=1),
         only=('2.33', '2.53', '2.88', LATEST)),
    call('GET /os-hypervisors?hypervisor_hostname_pattern&with_servers',
         lambda t, c, v: c.hypervisors.list_hypervisors(
             hypervisor_hostname_pattern='compute-a', with_servers=True)),
    call('GET /os-hypervisors/{hypervisor_id}', lambda t, c, v:
         c.hypervisors.show_hypervisor(_hypervisor_id(t, v))),
    call('GET /os-hypervisors/{hypervisor_id}?with_servers',
         lambda t, c, v: c.hypervisors.show_hypervisor(
             _hypervisor_id(t, v), with_servers=True)),
    call('GET /os-hypervisors/statistics', lambda t, c, v:
         c.hypervisors.show_hypervisor_statistics(), last='2.87'),
    call('GET /os-hypervisors/{hypervisor_id}/uptime', lambda t, c, v:
         c.hypervisors.show_hypervisor_uptime(_hypervisor_id(t, v)),
         last='2.87'),
    call('GET /os-hypervisors/{hostname}/search', lambda t, c, v:
         c.hypervisors.search_hypervisor('compute-a'), last='2.52'),
    call('GET /os-hypervisors/{hostname}/servers', lambda t, c, v:
         c.hypervisors.list_servers_on_hypervisor('compute-a'),
         last='2.52'),
]


class HypervisorsSchemaTest(SchemaTest):

    def test_hypervisors(self):
        self.boot_as_user('vm1', host='compute-a')
        self.check('hypervisors', HYPERVISOR_CALLS)


# -- images and versions ------------------------------------------------------

IMAGE_ID = '0b9a3b2e-7c55-4c1e-9a57-5d6c2f0e8d41'
IMAGE_CALLS = [
    call('GET /images', lambda t, c, v: c.images.list_images(),
         token=USER_TOKEN, last='2.35'),
    call('GET /images/detail', lambda t, c, v:
         c.images.list_images(detail=True), token=USER_TOKEN, last='2.35'),
    call('GET /images/{image_id}', lambda t, c, v:
         c.images.show_image(IMAGE_ID), token=USER_TOKEN, last='2.35'),
    call('GET /images/{image_id}/metadata', lambda t, c, v:
         c.images.list_image_metadata(IMAGE_ID), token=USER_TOKEN,
         last='2.35'),
    call('GET /images/{image_id}/metadata/{key}', lambda t, c, v:
         c.images.show_image_metadata_item(IMAGE_ID, 'os_distro'),
         token=USER_TOKEN, last='2.35'),
]

AGGREGATE_CALLS = [
    call('GET /os-aggregates', lambda t, c, v:
         c.aggregates.list_aggregates()),
]

VERSION_CALLS = [
    call('GET /', lambda t, c, v: c.versions.list_versions(),
         token=USER_TOKEN),
    call('GET /v2.1', lambda t, c, v: c.versions.get_version_by_url(
        t.endpoint), token=USER_TOKEN),
]


class ImagesAggregatesVersionsSchemaTest(SchemaTest):

    def test_images(self):
        # An image with a property, for the metadata calls.
        path = self.useFixture(fixtures.TempDir()).join('images.json')
        with open(path, 'w') as f:
            json.dump([{'id': IMAGE_ID, 'name': 'schema-image',
                        'properties': {'os_distro': 'cirros'}}], f)
        self.flags(images_file=path, group='api')
        self.check('images', IMAGE_CALLS)

    def test_aggregates(self):
        self.check('aggregates', AGGREGATE_CALLS)

    def test_versions(self):
        self.check('versions', VERSION_CALLS)


# -- the check checks ---------------------------------------------------------

class _Drift:
    """WSGI middleware: adds a field to every JSON body with services."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured['status'], captured['headers'] = status, headers

        body = b''.join(self.app(environ, capture))
        if b'"services"' in body:
            body = json.dumps(dict(json.loads(body), drift=True)).encode()
        headers = [(k, v) for k, v in captured['headers']
                   if k.lower() != 'content-length']
        headers.append(('Content-Length', str(len(body))))
        start_response(captured['status'], headers)
        return [body]


class SelfCheckTest(SchemaTest):
    """A drifted answer, or a call served outside its range, fails."""

    def make_app(self):
        return _Drift(super().make_app())

    def test_drift_fails_with_every_mismatch_listed(self):
        calls = [
            call('GET /os-services', lambda t, c, v:
                 c.services.list_services()),
            # Served at every version: Nova would 404 from 2.2.
            call('GET /os-migrations', lambda t, c, v:
                 c.migrations.list_migrations(), last='2.1'),
        ]
        error = self.assertRaises(self.failureException, self.run_table,
                                  'self', (None, '2.53'), calls)
        lines = str(error).splitlines()
        self.assertIn('3 mismatch(es)', lines[0])
        self.assertIn('GET /os-services @ no header: InvalidHTTPResponseBody',
                      lines[1])
        self.assertIn("'drift' was unexpected", lines[1])
        self.assertIn('GET /os-services @ 2.53', lines[2])
        self.assertEqual('GET /os-migrations @ 2.53: answered outside '
                         '-2.1; Nova answers 404', lines[3])


ALL_TABLES = (SERVER_CALLS, SERVER_ACTION_CALLS, SERVER_MIGRATION_CALLS,
              MIGRATION_CALLS, _actions_calls(), FLAVOR_CALLS, SERVICE_CALLS,
              HYPERVISOR_CALLS, IMAGE_CALLS, AGGREGATE_CALLS,
              test_keypairs.KEYPAIR_CALLS)


def _shape(method, path):
    """``GET /a/{x}/b?q (admin)`` and ``GET /a/{y}/b`` are the same call."""
    path = path.split('?')[0].split(' ')[0]
    return method, re.sub(r'\{\w+\}', '{}', path)


class CoverageTest(test.NoDBTestCase):

    def test_every_route_is_in_a_table(self):
        tabled = {_shape(*entry.route.split(' ', 1))
                  for table in ALL_TABLES for entry in table}
        served = {_shape(method, template[len('/v2.1'):])
                  for method, template, _first, _last
                  in routes.build_router().routes()}
        self.assertEqual(set(), served - tabled,
                         'routes no table of this module calls: add them')

