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

"""RPC between real services over oslo.messaging's fake:// transport."""

import threading
import time
from unittest import mock

import fixtures
from oslo_config import cfg
import oslo_messaging as messaging

from nova.compute import rpcapi as compute_rpcapi
from nova.conductor import rpcapi as conductor_rpcapi
from nova import context
from nova import exception
from nova import objects
from nova.objects import service as service_obj
from nova import rpc
from nova import test


class _Recorder:
    """Wraps a manager method to see what reached it, and when."""

    def __init__(self, manager, name):
        self.calls = []
        self.arrived = threading.Event()
        self._real = getattr(manager, name)

    def __call__(self, ctxt, **kwargs):
        self.calls.append((ctxt, kwargs))
        self.arrived.set()
        return self._real(ctxt, **kwargs)


class TestRequestContextSerializer(test.NoDBTestCase):

    def test_context_round_trip(self):
        serializer = rpc.RequestContextSerializer()
        ctxt = context.RequestContext(user_id='u1', project_id='p1',
                                      roles=['member'], read_deleted='yes')
        wire = serializer.serialize_context(ctxt)
        self.assertIsInstance(wire, dict)
        back = serializer.deserialize_context(wire)
        self.assertIsInstance(back, context.RequestContext)
        self.assertEqual(('u1', 'p1', ['member'], 'yes', ctxt.request_id),
                         (back.user_id, back.project_id, back.roles,
                          back.read_deleted, back.request_id))
        self.assertFalse(back.is_admin)

    def test_entities_go_through_the_base_serializer(self):
        base = mock.Mock()
        base.serialize_entity.return_value = 'wire'
        base.deserialize_entity.return_value = 'object'
        serializer = rpc.RequestContextSerializer(base)
        self.assertEqual('wire', serializer.serialize_entity(None, 'x'))
        self.assertEqual('object', serializer.deserialize_entity(None, 'y'))
        base.serialize_entity.assert_called_once_with(None, 'x')
        base.deserialize_entity.assert_called_once_with(None, 'y')

    def test_entities_unchanged_without_base(self):
        serializer = rpc.RequestContextSerializer()
        self.assertEqual({'a': 1}, serializer.serialize_entity(None,
                                                               {'a': 1}))


class TestTransport(test.NoDBTestCase):

    def test_fixture_uses_fake_transport(self):
        self.assertTrue(rpc.initialized())
        self.assertEqual('fake://', self.conf.transport_url)
        self.assertEqual('nova', self.conf.control_exchange)

    def test_unset_transport_url_is_not_silently_fake(self):
        # Separate processes must not quietly each get a private bus.
        conf = cfg.ConfigOpts()
        rpc.register_opts(conf)
        conf([], project='nova', default_config_files=[])
        self.assertNotEqual('fake://', rpc.transport_url(conf))
        self.assertEqual('nova', conf.control_exchange)

    def test_configured_transport_url_is_used(self):
        self.flags(transport_url='rabbit://u:p@broker:5672/')
        self.assertEqual('rabbit://u:p@broker:5672/',
                         rpc.transport_url(self.conf))

    def test_control_exchange_default_survives_reparse(self):
        self.conf([], project='nova', default_config_files=[])
        self.assertEqual('nova', self.conf.control_exchange)

    def test_cleanup_then_client_refuses(self):
        rpc.cleanup()
        self.assertFalse(rpc.initialized())
        target = messaging.Target(topic='compute', version='1.0')
        self.assertRaises(RuntimeError, rpc.get_client, target)


class TestRoundTrip(test.TestCase):
    """Two computes and a conductor in one process, on one fake bus."""

    USES_PLACEMENT = True

    def setUp(self):
        super().setUp()
        self.compute1 = self.start_service('nova-compute', host='compute1')
        self.compute2 = self.start_service('nova-compute', host='compute2')
        self.conductor = self.start_service('nova-conductor',
                                            host='conductor1')
        self.compute_api = compute_rpcapi.ComputeAPI()
        self.user_ctxt = context.RequestContext(
            user_id='user1', project_id='project1', roles=['member'])

    def test_call_reaches_the_named_host(self):
        for host in ('compute1', 'compute2'):
            reply = self.compute_api.ping(self.user_ctxt, host, 'hello')
            self.assertEqual({'host': host, 'arg': 'hello'}, reply)

    def test_context_crosses_intact(self):
        recorder = _Recorder(self.compute2.manager, 'ping')
        self.compute2.manager.ping = recorder
        self.compute_api.ping(self.user_ctxt, 'compute2', 1)
        self.assertEqual(1, len(recorder.calls))
        remote_ctxt = recorder.calls[0][0]
        self.assertIsInstance(remote_ctxt, context.RequestContext)
        self.assertIsNot(self.user_ctxt, remote_ctxt)
        self.assertEqual(
            (self.user_ctxt.user_id, self.user_ctxt.project_id,
             self.user_ctxt.roles, self.user_ctxt.request_id, False),
            (remote_ctxt.user_id, remote_ctxt.project_id, remote_ctxt.roles,
             remote_ctxt.request_id, remote_ctxt.is_admin))

    def test_versioned_object_crosses_intact(self):
        sent = objects.Service(host='h', binary='nova-compute',
                               report_count=7, forced_down=True)
        recorder = _Recorder(self.compute1.manager, 'ping')
        self.compute1.manager.ping = recorder
        reply = self.compute_api.ping(self.user_ctxt, 'compute1', sent)

        # The manager got an object, not a primitive...
        received = recorder.calls[0][1]['arg']
        self.assertIsInstance(received, objects.Service)
        self.assertIsNot(sent, received)
        self.assertEqual(('h', 'nova-compute', 7, True),
                         (received.host, received.binary,
                          received.report_count, received.forced_down))
        self.assertFalse(received.obj_attr_is_set('id'))
        # ...and the caller gets one back, carrying the caller's context.
        echoed = reply['arg']
        self.assertIsInstance(echoed, objects.Service)
        sent_wire = sent.obj_to_primitive()
        echoed_wire = echoed.obj_to_primitive()
        # The list of changed fields comes from a set: compare as sets.
        self.assertEqual(set(sent_wire.pop('nova_object.changes')),
                         set(echoed_wire.pop('nova_object.changes')))
        self.assertEqual(sent_wire, echoed_wire)
        self.assertEqual(self.user_ctxt.request_id,
                         echoed._context.request_id)

    def test_cast_arrives(self):
        recorder = _Recorder(self.compute2.manager, 'ping')
        self.compute2.manager.ping = recorder
        client = self.compute_api.client.prepare(server='compute2')
        self.assertIsNone(client.cast(self.user_ctxt, 'ping', arg='cast'))
        self.assertTrue(recorder.arrived.wait(5))
        self.assertEqual({'arg': 'cast'}, recorder.calls[0][1])

    def test_call_to_missing_host_times_out(self):
        start = time.monotonic()
        self.assertRaises(messaging.MessagingTimeout, self.compute_api.ping,
                          self.user_ctxt, 'nohost', 'x', timeout=0.5)
        self.assertLess(time.monotonic() - start, 5)

    def test_conductor_round_trip(self):
        reply = conductor_rpcapi.ConductorAPI().ping(self.user_ctxt, 'hi')
        self.assertEqual({'host': 'conductor1', 'arg': 'hi'}, reply)

    def test_plumbing_and_periodic_tasks_are_not_rpc(self):
        client = self.compute_api.client.prepare(server='compute1',
                                                 timeout=5)
        for method in ('init_host', 'periodic_tasks', '_periodic_loop',
                       'update_available_resource'):
            self.assertRaises(messaging.NoSuchMethod, client.call,
                              self.user_ctxt, method)
        # The same dispatcher still serves the API.
        self.assertEqual('compute1',
                         client.call(self.user_ctxt, 'ping', arg=0)['host'])

    def test_newer_version_than_server_is_refused(self):
        client = rpc.get_client(
            messaging.Target(topic='compute', version='1.0'))
        cctxt = client.prepare(server='compute1', version=FUTURE_COMPUTE_RPC,
                               timeout=5)
        self.assertRaises(messaging.UnsupportedVersion, cctxt.call,
                          self.user_ctxt, 'ping', arg=0)

    def test_nova_exception_keeps_its_class(self):
        def boom(ctxt, arg):
            raise exception.InstanceNotFound(instance_id=arg)

        self.compute1.manager.ping = boom
        exc = self.assertRaises(exception.InstanceNotFound,
                                self.compute_api.ping, self.user_ctxt,
                                'compute1', 'uuid-1', timeout=5)
        self.assertIn('uuid-1', str(exc))


def _next_minor(version):
    major, minor = version.split('.')
    return '%s.%d' % (major, int(minor) + 1)


CURRENT_COMPUTE_RPC = compute_rpcapi.ComputeAPI.VERSION
FUTURE_COMPUTE_RPC = _next_minor(CURRENT_COMPUTE_RPC)
# The real history plus one future service version that speaks one more
# compute RPC minor version.
FUTURE_HISTORY = service_obj.SERVICE_VERSION_HISTORY + (
    {'compute_rpc': FUTURE_COMPUTE_RPC,
     'conductor_rpc':
         service_obj.SERVICE_VERSION_HISTORY[-1]['conductor_rpc']},)
FUTURE_SERVICE_VERSION = service_obj.SERVICE_VERSION + 1


class _FutureComputeAPI(compute_rpcapi.ComputeAPI):
    """A compute API one version ahead, with a method needing it."""

    VERSION = FUTURE_COMPUTE_RPC

    def future_method(self, ctxt, host):
        cctxt = self._prepare('future_method', FUTURE_COMPUTE_RPC,
                              server=host)
        return cctxt.call(ctxt, 'future_method')


class TestVersionCap(test.TestCase):

    USES_PLACEMENT = True

    def setUp(self):
        super().setUp()
        self.ctxt = context.get_admin_context()

    def _add_compute(self, host, version):
        objects.Service(context=self.ctxt, host=host, binary='nova-compute',
                        topic='compute', version=version).create()

    def test_cap_follows_oldest_compute(self):
        self._add_compute('c1', service_obj.SERVICE_VERSION)
        api = compute_rpcapi.ComputeAPI()
        expected = service_obj.SERVICE_VERSION_HISTORY[
            service_obj.SERVICE_VERSION]['compute_rpc']
        self.assertEqual(expected, api.version_cap)
        self.assertTrue(api.can_send_version('1.0'))

    def test_cap_is_cached_once_a_compute_exists(self):
        self._add_compute('c1', service_obj.SERVICE_VERSION)
        with mock.patch.object(objects.Service, 'get_minimum_version',
                               wraps=objects.Service.get_minimum_version
                               ) as get_min:
            first = compute_rpcapi.ComputeAPI().version_cap
            second = compute_rpcapi.ComputeAPI().version_cap
        self.assertEqual(first, second)
        self.assertEqual(1, get_min.call_count)

    def test_no_compute_means_no_pin_and_no_cache(self):
        with mock.patch.object(objects.Service, 'get_minimum_version',
                               return_value=0) as get_min:
            first = compute_rpcapi.ComputeAPI()
            self.assertEqual(compute_rpcapi.ComputeAPI.VERSION,
                             first.version_cap)
            second = compute_rpcapi.ComputeAPI().version_cap
        self.assertEqual(first.version_cap, second)
        self.assertEqual(2, get_min.call_count)

    def test_explicit_cap_skips_the_database(self):
        with mock.patch.object(objects.Service,
                               'get_minimum_version') as get_min:
            api = compute_rpcapi.ComputeAPI(version_cap='1.0')
            self.assertEqual('1.0', api.version_cap)
        get_min.assert_not_called()

    def test_unknown_newer_service_version_caps_at_our_version(self):
        newer = len(service_obj.SERVICE_VERSION_HISTORY) + 3
        self._add_compute('c1', newer)
        api = compute_rpcapi.ComputeAPI()
        self.assertEqual(compute_rpcapi.ComputeAPI.VERSION, api.version_cap)

    def test_old_compute_pins_newer_method(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.service.SERVICE_VERSION_HISTORY', FUTURE_HISTORY))
        self.start_service('nova-compute', host='old')  # today's version
        self._add_compute('new', FUTURE_SERVICE_VERSION)
        api = _FutureComputeAPI()

        # Broadcasts follow the oldest compute.
        self.assertEqual(CURRENT_COMPUTE_RPC, api.version_cap)
        self.assertFalse(api.can_send_version(FUTURE_COMPUTE_RPC))
        # A call to the old host is refused, naming the pin and the host.
        exc = self.assertRaises(exception.RPCPinnedToOldVersion,
                                api.future_method, self.ctxt, 'old')
        self.assertIn('future_method', str(exc))
        self.assertIn(FUTURE_COMPUTE_RPC, str(exc))
        self.assertIn('pinned to %s' % CURRENT_COMPUTE_RPC, str(exc))
        self.assertIn('old', str(exc))
        # A call to the new host is not held back by the old one.
        cctxt = api._prepare('future_method', FUTURE_COMPUTE_RPC,
                             server='new')
        self.assertTrue(cctxt.can_send_version(FUTURE_COMPUTE_RPC))
        # What the old compute understands still goes through.
        self.assertEqual('old', api.ping(self.ctxt, 'old', 0)['host'])

    def test_all_upgraded_allows_newer_method(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.service.SERVICE_VERSION_HISTORY', FUTURE_HISTORY))
        self._add_compute('new1', FUTURE_SERVICE_VERSION)
        self._add_compute('new2', FUTURE_SERVICE_VERSION)
        api = _FutureComputeAPI()
        self.assertEqual(FUTURE_COMPUTE_RPC, api.version_cap)
        self.assertTrue(api.can_send_version(FUTURE_COMPUTE_RPC))

    def _count_host_reads(self):
        return self.useFixture(fixtures.MockPatchObject(
            objects.Service, 'get_by_host_and_binary',
            wraps=objects.Service.get_by_host_and_binary)).mock

    def test_host_cap_is_read_once_within_its_lifetime(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.service.SERVICE_VERSION_HISTORY', FUTURE_HISTORY))
        self._add_compute('new', FUTURE_SERVICE_VERSION)
        reads = self._count_host_reads()
        api = _FutureComputeAPI()
        for _ in range(3):
            cctxt = api._prepare('future_method', FUTURE_COMPUTE_RPC,
                                 server='new')
            self.assertTrue(cctxt.can_send_version(FUTURE_COMPUTE_RPC))
        self.assertEqual(1, reads.call_count)

    def test_host_cap_is_read_again_once_expired(self):
        self._add_compute('c1', service_obj.SERVICE_VERSION)
        reads = self._count_host_reads()
        api = compute_rpcapi.ComputeAPI()
        api._prepare('ping', '1.0', server='c1')
        api._prepare('ping', '1.0', server='c1')
        self.assertEqual(1, reads.call_count)
        # Kept no time at all: expired at once.
        service_obj.forget_recorded_version()
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.service.RECORDED_VERSION_TTL', 0.0))
        api._prepare('ping', '1.0', server='c1')
        api._prepare('ping', '1.0', server='c1')
        self.assertEqual(3, reads.call_count)

    def test_host_without_record_is_not_remembered(self):
        reads = self._count_host_reads()
        self.assertIsNone(rpc.host_version_cap(
            'nova-compute', 'compute_rpc', 'nowhere', '1.0'))
        self._add_compute('nowhere', service_obj.SERVICE_VERSION)
        self.assertIsNotNone(rpc.host_version_cap(
            'nova-compute', 'compute_rpc', 'nowhere', '1.0'))
        self.assertEqual(2, reads.call_count)

    def test_upgrade_written_here_is_seen_at_once(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova.objects.service.SERVICE_VERSION_HISTORY', FUTURE_HISTORY))
        self._add_compute('host1', service_obj.SERVICE_VERSION)
        api = _FutureComputeAPI()
        self.assertRaises(exception.RPCPinnedToOldVersion, api._prepare,
                          'future_method', FUTURE_COMPUTE_RPC,
                          server='host1')
        service = objects.Service.get_by_host_and_binary(
            self.ctxt, 'host1', 'nova-compute')
        service.version = FUTURE_SERVICE_VERSION
        service.save()
        cctxt = api._prepare('future_method', FUTURE_COMPUTE_RPC,
                             server='host1')
        self.assertTrue(cctxt.can_send_version(FUTURE_COMPUTE_RPC))

    def test_reporting_without_a_version_change_keeps_the_cap(self):
        self._add_compute('c1', service_obj.SERVICE_VERSION)
        reads = self._count_host_reads()
        api = compute_rpcapi.ComputeAPI()
        api._prepare('ping', '1.0', server='c1')
        service = objects.Service.get_by_host_and_binary(
            self.ctxt, 'c1', 'nova-compute')
        service.report_count = 7
        service.save()
        api._prepare('ping', '1.0', server='c1')
        # Two reads: the first _prepare and this test's own get.
        self.assertEqual(2, reads.call_count)

    def test_conductor_cap_from_conductor_services(self):
        self.start_service('nova-conductor', host='cond')
        api = conductor_rpcapi.ConductorAPI()
        self.assertEqual(service_obj.SERVICE_VERSION_HISTORY[
            service_obj.SERVICE_VERSION]['conductor_rpc'], api.version_cap)

    def test_prepare_for_version_refuses_beyond_cap(self):
        client = rpc.get_client(
            messaging.Target(topic='compute', version='1.0'),
            version_cap='1.0')
        exc = self.assertRaises(exception.RPCPinnedToOldVersion,
                                rpc.prepare_for_version, client, 'm', '1.2',
                                server='h1')
        self.assertEqual(('m', '1.2', '1.0', 'h1'),
                         (exc.kwargs['method'], exc.kwargs['needed'],
                          exc.kwargs['pinned'], exc.kwargs['host']))
        prepared = rpc.prepare_for_version(client, 'm', '1.0', server='h1')
        self.assertEqual('1.0', prepared.target.version)
        self.assertEqual('h1', prepared.target.server)



class TestClaimHandedToDestination(test.TestCase):
    """check_can_live_migrate_destination and prep_resize carry the
    conductor's claim to a 1.6 host, and leave it out for an older one
    (which reads it from placement itself)."""

    USES_PLACEMENT = True

    def _sent(self, host_version, call):
        ctxt = context.get_admin_context()
        host = 'compute-v%d' % host_version
        objects.Service(context=ctxt, host=host, binary='nova-compute',
                        topic='compute', version=host_version).create()
        api = compute_rpcapi.ComputeAPI()
        real = api._prepare
        sent = []

        def prepare(method, version, server=None, **kwargs):
            real(method, version, server=server, **kwargs)  # the pin check
            cctxt = mock.Mock()
            cctxt.call.side_effect = lambda c, m, **kw: sent.append(
                (version, sorted(kw)))
            return cctxt

        with mock.patch.object(api, '_prepare', side_effect=prepare):
            call(api, ctxt, host)
        return sent[-1]

    def test_live_migration_check(self):
        def call(api, ctxt, host):
            api.check_can_live_migrate_destination(
                ctxt, mock.sentinel.instance, host, mock.sentinel.migration,
                False, allocations={'rp': {'VCPU': 1}})
        self.assertEqual(
            ('1.6', ['allocations', 'block_migration', 'instance',
                     'migration']),
            self._sent(service_obj.SERVICE_VERSION, call))
        self.assertEqual(
            ('1.2', ['block_migration', 'instance', 'migration']),
            self._sent(7, call))

    def test_prep_resize(self):
        def call(api, ctxt, host):
            api.prep_resize(ctxt, mock.sentinel.instance,
                            mock.sentinel.migration, host,
                            allocations={'rp': {'VCPU': 1}})
        self.assertEqual(('1.6', ['allocations', 'instance', 'migration']),
                         self._sent(service_obj.SERVICE_VERSION, call))
        self.assertEqual(('1.3', ['instance', 'migration']),
                         self._sent(7, call))


class TestBusIsolation(test.TestCase):

    USES_PLACEMENT = True

    def test_cleanup_drops_queued_messages(self):
        client = rpc.get_client(messaging.Target(topic='compute',
                                                 version='1.0'))
        client.prepare(server='ghost').cast(self.context, 'ping', arg=1)
        # What the RPC fixture does between two tests.
        rpc.cleanup()
        rpc.init(self.conf)
        svc = self.start_service('nova-compute', host='ghost')
        recorder = _Recorder(svc.manager, 'ping')
        svc.manager.ping = recorder
        self.assertFalse(recorder.arrived.wait(0.5))
        # The new bus works: the service answers a fresh call.
        self.assertEqual('ghost', compute_rpcapi.ComputeAPI().ping(
            self.context, 'ghost', 2)['host'])
