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

"""``os-migrateLive`` per microversion: checked after the 202 from 2.34.

From 2.34 the API answers 202 as soon as the instance is migrating and
the migration recorded; a refusal (no room on the destination, a failed
destination check) then shows in the migration ('error') and the
instance action (a failed ``conductor_live_migrate_instance`` event with
its reason), with everything as before the request. Before 2.34 the
same request answers 400 with the reason. A conductor slower than
``rpc_response_timeout`` neither delays a 2.34 answer nor turns an older
one into an error: the request is accepted (202) and the migration goes on.

The real compute API (in-process WSGI, noauth2), the real placement, the
DB layer, fake:// RPC and emulated hosts.
"""

import threading
import time

import fixtures

from nova.compute import task_states
from nova.compute import vm_states
from nova.conductor.tasks import move
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration

ADMIN = 'admin:adminproj'
GATE_TIMEOUT = 30


class AsyncLiveMigrationTestBase(test_live_migration.LiveMigrationTestBase):

    def setUp(self):
        super().setUp()
        self.api_app = self.useFixture(base.InProcessAPI(self))

    def request(self, method, path, version, body=None):
        return self.api_app.request(method, path, ADMIN, version, body)

    def migrate_live(self, server, version, host, force=None):
        args = {'host': host, 'block_migration': 'auto'}
        if force is not None:
            args['force'] = force
        return self.request('POST', '/servers/%s/action' % server.uuid,
                            version, {'os-migrateLive': args})

    def only_migration(self, server):
        [migration] = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})
        return migration

    def conductor_event(self, server, request_id):
        """The action of ``request_id`` and its conductor event, as an
        operator reads them (``openstack server event show``)."""
        resp = self.request('GET', '/servers/%s/os-instance-actions/%s'
                            % (server.uuid, request_id), '2.100')
        self.assertEqual(200, resp.status_int, resp.text)
        action = resp.json['instanceAction']
        [event] = [e for e in action['events']
                   if e['event'] == 'conductor_live_migrate_instance']
        return action, event

    def server_status(self, server, version='2.100'):
        resp = self.request('GET', '/servers/%s' % server.uuid, version)
        self.assertEqual(200, resp.status_int, resp.text)
        return resp.json['server']['status']


class TestAsyncRefusals(AsyncLiveMigrationTestBase):
    """The same refused requests, at 2.34+ and at 2.33."""

    def _no_room_on_b(self):
        # compute-b's namespaces are taken: placement refuses the claim.
        self.boot_on('compute-b', name='squatter')
        return self.boot_on('compute-a')

    def _failing_destination_check(self):
        server = self.boot_on('compute-a')

        def refuse(*args, **kwargs):
            raise exception.MigrationPreCheckError(
                reason='injected: compute-b cannot take the guest')

        self.useFixture(base._AttributeFixture(
            self.manager('compute-b').driver,
            'check_can_live_migrate_destination', refuse))
        return server

    def _assert_refused_after_202(self, server, before, resp, reason):
        self.assertEqual(202, resp.status_int, resp.text)
        self.assertEqual(b'', resp.body)
        migration = self.wait_for_status(self.only_migration(server),
                                         'error')
        self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assert_source_intact(server, {})
        self.assertEqual('ACTIVE', self.server_status(server))
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assertEqual(before, self.snapshot())
        request_id = resp.headers['x-openstack-request-id']
        action, event = self.conductor_event(server, request_id)
        self.assertEqual(('live-migration', 'Error'),
                         (action['action'], action['message']))
        self.assertEqual('Error', event['result'])
        self.assertIn(reason, event['details'])
        self.assertEqual('conductor', event['host'])

    def test_no_room_at_2_34_answers_202_then_error(self):
        server = self._no_room_on_b()
        before = self.snapshot()
        resp = self.migrate_live(server, '2.34', 'compute-b', force=True)
        self._assert_refused_after_202(server, before, resp, 'compute-b')

    def test_no_valid_host_at_2_68_answers_202_then_error(self):
        # Scheduled (no force from 2.68): the scheduler finds no room.
        server = self._no_room_on_b()
        before = self.snapshot()
        resp = self.migrate_live(server, '2.68', None)
        self._assert_refused_after_202(server, before, resp,
                                       'No valid host')

    def test_destination_check_at_2_34_answers_202_then_error(self):
        server = self._failing_destination_check()
        before = self.snapshot()
        resp = self.migrate_live(server, '2.34', 'compute-b', force=True)
        self._assert_refused_after_202(server, before, resp,
                                       'compute-b cannot take the guest')
        self.assert_host_consistent('compute-b')

    def _assert_refused_with_400(self, server, before, resp, reason):
        self.assertEqual(400, resp.status_int, resp.text)
        self.assertIn(reason, resp.json['badRequest']['message'])
        self.assertEqual('error', self.only_migration(server).status)
        self.assert_source_intact(server, {})
        self.assertEqual(before, self.snapshot())

    def test_no_room_at_2_33_answers_400(self):
        server = self._no_room_on_b()
        before = self.snapshot()
        resp = self.migrate_live(server, '2.33', 'compute-b', force=True)
        self._assert_refused_with_400(server, before, resp, 'compute-b')

    def test_destination_check_at_2_33_answers_400(self):
        server = self._failing_destination_check()
        before = self.snapshot()
        resp = self.migrate_live(server, '2.33', 'compute-b', force=True)
        self._assert_refused_with_400(server, before, resp,
                                      'compute-b cannot take the guest')
        self.assert_host_consistent('compute-b')

    def test_api_checks_still_answer_at_once_at_2_34(self):
        # What the API itself checks is no conductor precheck: an unknown
        # host is 400 and a busy server 409, at every microversion.
        server = self.boot_on('compute-a')
        resp = self.migrate_live(server, '2.34', 'nowhere')
        self.assertEqual(400, resp.status_int, resp.text)
        self.assertIn('nowhere', resp.text)
        self.assertEqual([], objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid}).objects)
        busy = objects.Instance.get_by_uuid(self.context, server.uuid)
        busy.task_state = task_states.MIGRATING
        busy.save()
        resp = self.migrate_live(server, '2.34', 'compute-b')
        self.assertEqual(409, resp.status_int, resp.text)


class _Gate:
    """Hold the conductor at ``MoveTask._claim`` until opened."""

    def __init__(self, test):
        self.entered = threading.Event()
        self.opened = threading.Event()
        real = move.MoveTask._claim

        def gated(task, *args, **kwargs):
            self.entered.set()
            self.opened.wait(GATE_TIMEOUT)
            return real(task, *args, **kwargs)

        test.useFixture(base._AttributeFixture(move.MoveTask, '_claim',
                                               gated))


class TestSlowConductor(AsyncLiveMigrationTestBase):
    """A conductor slower than ``rpc_response_timeout``."""

    RPC_TIMEOUT = 3

    def setUp(self):
        super().setUp()
        self.flags(rpc_response_timeout=self.RPC_TIMEOUT)
        self.gate = _Gate(self)

    def _assert_completes(self, server):
        migration = self.wait_for_status(self.only_migration(server),
                                         'completed')
        moved = self.wait_for_state(server.uuid, vm_states.ACTIVE)
        self.assertEqual('compute-b', moved.host)
        # First: it waits for the source's background erase, after which
        # the source drops the migration's allocations.
        self.assert_free_and_erased('compute-a')
        self.assertEqual({}, self.consumer_allocations(migration.uuid))
        self.assert_host_consistent('compute-b')

    def test_2_34_answers_at_once_and_the_migration_completes(self):
        server = self.boot_on('compute-a')
        started = time.monotonic()
        resp = self.migrate_live(server, '2.34', 'compute-b', force=True)
        answered_in = time.monotonic() - started
        self.assertEqual(202, resp.status_int, resp.text)
        # The conductor has not even claimed yet: nothing waited for it.
        self.assertTrue(self.gate.entered.wait(GATE_TIMEOUT))
        self.assertLess(answered_in, self.RPC_TIMEOUT)
        self.assertEqual('accepted', self.only_migration(server).status)
        self.assertEqual('MIGRATING', self.server_status(server))
        # Slower than the RPC timeout, and nobody minds.
        time.sleep(max(0, self.RPC_TIMEOUT + 0.5 -
                       (time.monotonic() - started)))
        self.gate.opened.set()
        self._assert_completes(server)

    def test_2_33_still_checking_is_202_and_it_completes(self):
        # As from 2.34: accepted; the migration and the action tell the
        # rest. An error here would be wrong, since it goes ahead.
        server = self.boot_on('compute-a')
        # The conductor is held well past the call's timeout.
        started = time.monotonic()
        resp = self.migrate_live(server, '2.33', 'compute-b', force=True)
        self.assertGreaterEqual(time.monotonic() - started,
                                self.RPC_TIMEOUT)
        self.assertTrue(self.gate.entered.is_set())
        self.assertEqual(202, resp.status_int, resp.text)
        migration = self.only_migration(server)
        # Nothing was reset under the conductor's feet.
        self.assertEqual('accepted', migration.status)
        self.assertEqual('MIGRATING', self.server_status(server, '2.33'))
        self.gate.opened.set()
        self._assert_completes(server)

    def test_2_33_late_but_past_the_checks_is_202(self):
        # The conductor passed its checks only after the call timed out
        # ... and before the API looked: the answer a timely call gives.
        server = self.boot_on('compute-a')
        api_looks = threading.Event()
        real_late = type(self.api)._live_migrate_late

        def late(context, instance, migration):
            self.gate.opened.set()
            self.wait_for_migration(migration, ('queued', 'preparing',
                                                'running', 'completed'))
            api_looks.set()
            return real_late(context, instance, migration)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.compute.live_migrate_api.LiveMigrationAPIMixin.'
            '_live_migrate_late', staticmethod(late)))
        resp = self.migrate_live(server, '2.33', 'compute-b', force=True)
        self.assertTrue(api_looks.is_set())
        self.assertEqual(202, resp.status_int, resp.text)
        self._assert_completes(server)
