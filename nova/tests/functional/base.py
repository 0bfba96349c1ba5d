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

"""Base class for functional tests with vpmem compute hosts.

Everything is real except the hypervisor, which is the project's emulated
libvirt connection: the openstack-placement service in-process, the DB
layer on SQLite, oslo.messaging's fake:// bus, a conductor and several
nova-compute services, each on its own emulated host with file-backed
namespaces in its own directory.
"""

import datetime
import json
import os
import threading
import time

import fixtures
from oslo_utils import timeutils
import webob

from nova.api import wsgi
from nova.compute import api as compute_api
from nova.compute import vm_states
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.virt.libvirt import emulator

MiB = 1 << 20


class ServiceCrashed(BaseException):
    """Unwinds a thread of a killed service.

    Not an Exception: no ``except Exception`` of the flow it interrupts
    runs, as none of a killed process's handlers would.
    """


class EmulatorFixture(fixtures.Fixture):
    """Forget every emulated host (and stop guest workloads) afterwards."""

    def _setUp(self):
        emulator.reset()
        self.addCleanup(emulator.reset)


class InProcessAPI(fixtures.Fixture):
    """The compute API application with noauth2, called in-process.

    Tokens are ``user:project`` (``admin`` users are administrators).
    """

    def __init__(self, test_case):
        super().__init__()
        self._test = test_case

    def _setUp(self):
        self._test.flags(auth_strategy='noauth2', group='api')
        # The handlers build their compute API once per process: this
        # test's messaging and placement need a fresh one.
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.handlers.servers._API', None))
        self.app = wsgi.APIApplication(auth_strategy='noauth2')

    def request(self, method, path, token, version, body=None):
        req = webob.Request.blank('/v2.1' + path, method=method)
        req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'compute ' + version
        if body is not None:
            req.body = json.dumps(body).encode()
            req.content_type = 'application/json'
        return req.get_response(self.app)


class VPMEMTestBase(test.TestCase):
    """Two compute hosts with file-backed namespaces under label SMALL."""

    # host -> [libvirt]pmem_namespaces entries
    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1'],
        'compute-b': ['SMALL:ns0|ns1'],
    }
    NAMESPACE_MIB = 4
    TIMEOUT = 30

    def setUp(self):
        super().setUp()
        # Placement records who owns each allocation.
        self.context = nova_context.RequestContext(
            user_id='fake-user', project_id='fake-project', is_admin=True)
        self.placement = self.useFixture(nova_fixtures.PlacementFixture())
        self.useFixture(EmulatorFixture())
        self.pmem_root = self.useFixture(fixtures.TempDir()).path
        self.flags(pmem_backend='file', virt_type='qemu',
                   pmem_file_size_mb=self.NAMESPACE_MIB, group='libvirt')
        self.flags(reserved_host_memory_mb=0, group='compute')
        self.conductor = self.start_service('nova-conductor',
                                            host='conductor',
                                            periodic_enable=False)
        self.computes = {}
        for host, namespaces in self.COMPUTES.items():
            self.start_compute(host, namespaces)
        self.api = compute_api.API()
        self.reportclient = self.placement.client

    # -- services -----------------------------------------------------------

    def _compute_flags(self, host, namespaces):
        self.flags(connection_uri='emulated://%s' % host,
                   pmem_namespaces=namespaces,
                   pmem_file_dir=os.path.join(self.pmem_root, host),
                   group='libvirt')

    def start_compute(self, host, namespaces=None):
        namespaces = (self.COMPUTES[host] if namespaces is None
                      else namespaces)
        self._compute_flags(host, namespaces)
        service = self.start_service('nova-compute', host=host,
                                     periodic_enable=False)
        # Up for the others at once (its heartbeat thread may lag).
        service.report_state()
        self.computes[host] = service
        return service

    def stop_compute(self, host):
        self.computes.pop(host).kill()

    def restart_compute(self, host, namespaces=None):
        self.stop_compute(host)
        return self.start_compute(host, namespaces)

    def crash_compute(self, host):
        """``kill -9`` of nova-compute on ``host``.

        It takes no more requests, sends no heartbeats and runs no
        periodic tasks; nothing is cleaned up, and the other services see
        it down at once. Its emulated host (libvirtd, its guests, their
        namespace files) stays as it is, as a real host's would.
        """
        svc = self.computes.pop(host)
        svc._stop_event.set()
        if svc._rpcserver is not None:
            svc._rpcserver.stop()
        ref = objects.Service.get_by_compute_host(self.context, host)
        ref.last_seen_up = timeutils.utcnow() - datetime.timedelta(days=1)
        ref.save()
        return svc

    def crash_when(self, host, target, name, after=False, when=None,
                   unwind=True):
        """Kill nova-compute on ``host`` when ``target.name`` is called.

        ``target`` is an object (a service's manager, driver, tracker) or
        a module.

        With ``after``, once the call returned. ``when(*args, **kwargs)``
        limits it to matching calls. The calling thread then unwinds with
        ServiceCrashed, unless ``unwind`` is False (the call was made by
        another host's service, which goes on). Returns an Event set at
        the crash.
        """
        real = getattr(target, name)
        crashed = threading.Event()

        def crashing(*args, **kwargs):
            if crashed.is_set() or (when and not when(*args, **kwargs)):
                return real(*args, **kwargs)
            result = real(*args, **kwargs) if after else None
            self.crash_compute(host)
            crashed.set()
            if not unwind:
                return result if after else real(*args, **kwargs)
            raise ServiceCrashed('nova-compute on %s killed in %s'
                                 % (host, name))

        self.useFixture(_AttributeFixture(target, name, crashing))
        return crashed

    def manager(self, host):
        return self.computes[host].manager

    def run_periodic(self, host):
        # What a live migration's source erases in the background first.
        self.manager(host).rt.wait_for_background_erases(self.TIMEOUT)
        self.manager(host).update_available_resource(self.context)

    # -- flavors and servers --------------------------------------------------

    def create_flavor(self, name='pmem-small', pmem='SMALL', memory_mb=128,
                      vcpus=1):
        flavor = objects.Flavor(self.context, name=name, flavorid=name,
                                memory_mb=memory_mb, vcpus=vcpus, root_gb=0,
                                ephemeral_gb=0, swap=0, disabled=False,
                                is_public=True, extra_specs={})
        if pmem:
            flavor.extra_specs = {'hw:pmem': pmem}
        flavor.create()
        return flavor

    def boot(self, flavor, name='server', expect=vm_states.ACTIVE):
        instance = self.api.create(self.context, flavor, name)
        return self.wait_for_state(instance.uuid, expect)

    def wait_for_state(self, instance_uuid, vm_state, task_state=None):
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            instance = objects.Instance.get_by_uuid(
                self.context, instance_uuid,
                expected_attrs=['flavor', 'resources', 'migration_context'])
            if (instance.vm_state == vm_state and
                    instance.task_state == task_state):
                return instance
            if time.monotonic() > deadline:
                self.fail('instance %s is %s/%s, not %s/%s' % (
                    instance_uuid, instance.vm_state, instance.task_state,
                    vm_state, task_state))
            time.sleep(0.05)

    def wait_for_deleted(self, instance_uuid):
        deadline = time.monotonic() + self.TIMEOUT
        while time.monotonic() < deadline:
            try:
                objects.Instance.get_by_uuid(self.context, instance_uuid)
            except exception.InstanceNotFound:
                return
            time.sleep(0.05)
        self.fail('instance %s was not deleted' % instance_uuid)

    # -- what the owners of state say ---------------------------------------

    def node(self, host):
        return objects.ComputeNode.get_by_host_and_nodename(
            self.context, host, host)

    def placement_usage(self, host, rc='CUSTOM_PMEM_NAMESPACE_SMALL'):
        return self.reportclient.get_usages(
            self.context, self.node(host).uuid).get(rc, 0)

    def rt_assigned(self, host, rc='CUSTOM_PMEM_NAMESPACE_SMALL'):
        return self.manager(host).rt.assigned_identifiers(host).get(rc, [])

    def namespace_path(self, host, name):
        return os.path.join(self.pmem_root, host, name)

    def write_namespace(self, host, name, pattern=b'tenant-data!'):
        with open(self.namespace_path(host, name), 'r+b') as f:
            f.write(pattern * (MiB // len(pattern)))

    def namespace_is_zero(self, host, name):
        with open(self.namespace_path(host, name), 'rb') as f:
            while True:
                chunk = f.read(MiB)
                if not chunk:
                    return True
                if chunk.count(0) != len(chunk):
                    return False

    def domain_hosts(self, instance_uuid):
        """Emulated hosts that have a domain for the instance."""
        found = []
        for host in self.computes:
            conn = emulator.open('emulated://%s' % host)
            try:
                conn.lookupByUUIDString(instance_uuid)
            except emulator.libvirtError:
                continue
            found.append(host)
        return found

    def assert_host_consistent(self, host):
        """Placement, the tracker and the DB agree on a host's namespaces."""
        self.run_periodic(host)
        instances = objects.InstanceList.get_by_host(
            self.context, host, expected_attrs=['resources'])
        in_db = sorted(r.identifier for i in instances
                       for r in (i.resources or []))
        self.assertEqual(in_db, self.rt_assigned(host))
        self.assertEqual(len(in_db), self.placement_usage(host))


class _AttributeFixture(fixtures.Fixture):
    """Set an attribute of an object for the test; restore it after."""

    def __init__(self, target, name, value):
        super().__init__()
        self.target, self.name, self.value = target, name, value

    def _setUp(self):
        missing = object()
        previous = self.target.__dict__.get(self.name, missing)
        setattr(self.target, self.name, self.value)

        def restore():
            if previous is missing:
                delattr(self.target, self.name)
            else:
                setattr(self.target, self.name, previous)

        self.addCleanup(restore)
