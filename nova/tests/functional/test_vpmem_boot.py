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

"""Instances with vpmem: boot, exhaustion, delete and erase, restarts."""

import logging
import time

import fixtures

from nova.compute import vm_states
from nova.conductor import manager as conductor_manager
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.virt.libvirt import domain_xml

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'


class TestBootAndDelete(base.VPMEMTestBase):

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor(pmem='SMALL')

    def test_boot_until_exhausted_then_readable_fault(self):
        servers = [self.boot(self.flavor, 'vm%d' % i) for i in range(4)]
        # Spread over both hosts, two namespaces each, none shared.
        by_host = {}
        for server in servers:
            self.assertEqual(1, len(server.resources))
            resource = server.resources[0]
            self.assertEqual(RC, resource.resource_class)
            self.assertEqual(self.node(server.host).uuid,
                             resource.provider_uuid)
            by_host.setdefault(server.host, []).append(resource.identifier)
            self.assertEqual([server.host], self.domain_hosts(server.uuid))
        self.assertEqual({'compute-a': ['ns0', 'ns1'],
                          'compute-b': ['ns0', 'ns1']},
                         {h: sorted(n) for h, n in by_host.items()})
        for host in self.computes:
            self.assertEqual(2, self.placement_usage(host))
            self.assertEqual(['ns0', 'ns1'], self.rt_assigned(host))
            self.assert_host_consistent(host)

        failed = self.boot(self.flavor, 'one-too-many',
                           expect=vm_states.ERROR)
        self.assertIsNone(failed.host)
        self.assertIn('No valid host', failed.fault.message)
        self.assertIn('1 free %s' % RC, failed.fault.message)
        self.assertIn('hw:pmem=SMALL', failed.fault.message)
        self.assertEqual({}, self.reportclient.get_allocations_for_consumer(
            self.context, failed.uuid)['allocations'])

    def test_guest_xml_uses_assigned_namespaces_in_label_order(self):
        self.flavor = self.create_flavor(name='two', pmem='SMALL,SMALL')
        server = self.boot(self.flavor)
        names = [r.identifier for r in server.resources]
        self.assertEqual(['ns0', 'ns1'], sorted(names))
        conn = base.emulator.open('emulated://%s' % server.host)
        xml = conn.lookupByUUIDString(server.uuid).XMLDesc(0)
        self.assertEqual(
            [self.namespace_path(server.host, n) for n in names],
            domain_xml.nvdimm_paths(xml))

    def test_delete_erases_and_frees_namespaces(self):
        server = self.boot(self.flavor)
        host, name = server.host, server.resources[0].identifier
        self.write_namespace(host, name)
        self.assertFalse(self.namespace_is_zero(host, name))

        self.api.delete(self.context, server)
        self.wait_for_deleted(server.uuid)

        self.assertTrue(self.namespace_is_zero(host, name))
        self.assertEqual([], self.domain_hosts(server.uuid))
        self.assertEqual(0, self.placement_usage(host))
        self.assertEqual([], self.rt_assigned(host))
        self.assertEqual({}, self.reportclient.get_allocations_for_consumer(
            self.context, server.uuid)['allocations'])
        self.assert_host_consistent(host)

        # The freed namespace can be given to the next instance.
        for i in range(4):
            self.boot(self.flavor, 'again%d' % i)
        self.assertEqual(['ns0', 'ns1'], self.rt_assigned(host))

    def test_restart_rebuilds_assignments_from_database(self):
        servers = [self.boot(self.flavor, 'vm%d' % i) for i in range(3)]
        before = {h: self.rt_assigned(h) for h in self.computes}
        for host in list(self.computes):
            self.restart_compute(host)
        after = {h: self.rt_assigned(h) for h in self.computes}
        self.assertEqual(before, after)
        self.assertEqual(3, sum(len(v) for v in after.values()))
        for server in servers:
            self.assertEqual([server.host], self.domain_hosts(server.uuid))
        for host in self.computes:
            self.assert_host_consistent(host)


class TestComputeStartupChecks(base.VPMEMTestBase):

    COMPUTES = {'compute-a': ['SMALL:ns0|ns1']}

    def test_bad_pmem_namespaces_stops_compute_naming_entry(self):
        self.stop_compute('compute-a')
        err = self.assertRaises(
            exception.PMEMNamespaceConfigInvalid, self.start_compute,
            'compute-a', ['SMALL:ns0|ns1', 'BIG ns2'])
        self.assertIn('BIG ns2', str(err))

    def test_new_host_with_bad_pmem_namespaces_records_nothing(self):
        # Bad input changes nothing: no service, compute node or resource
        # provider appears for a host that refused to start.
        err = self.assertRaises(
            exception.PMEMNamespaceConfigInvalid, self.start_compute,
            'compute-new', ['SMALL:ns0', 'BIG ns2'])
        self.assertIn('BIG ns2', str(err))
        self.assertRaises(exception.ComputeHostNotFound,
                          objects.Service.get_by_compute_host,
                          self.context, 'compute-new')
        self.assertEqual(
            [], [n for n in objects.ComputeNodeList.get_all(self.context)
                 if n.host == 'compute-new'])
        providers = self.reportclient._get('/resource_providers').json()
        self.assertNotIn('compute-new', [
            rp['name'] for rp in providers['resource_providers']])
        self.assertIn('compute-a', [
            rp['name'] for rp in providers['resource_providers']])

    def test_namespace_removed_while_assigned_stops_compute(self):
        flavor = self.create_flavor(pmem='SMALL')
        server = self.boot(flavor)
        held = server.resources[0].identifier
        kept = 'ns1' if held == 'ns0' else 'ns0'
        self.stop_compute('compute-a')
        err = self.assertRaises(exception.AssignedResourceNotFound,
                                self.start_compute, 'compute-a',
                                ['SMALL:%s' % kept])
        self.assertIn(server.uuid, str(err))
        self.assertIn(held, str(err))


class TestDeleteWhileBuilding(base.VPMEMTestBase):
    """A server deleted at any moment of its build leaves nothing behind."""

    COMPUTES = {'compute-a': ['SMALL:ns0|ns1']}

    def setUp(self):
        super().setUp()
        self.flavor = self.create_flavor(pmem='SMALL')
        self.errors = self.useFixture(fixtures.FakeLogger(
            name='nova', level=logging.ERROR))
        # Which instances the conductor has finished scheduling: it may
        # claim after the delete (then drops the claim), so a check
        # must wait for it to be done.
        self.scheduled = set()
        real = conductor_manager.ConductorManager.build_instances

        def build_instances(manager, context, instance, *args, **kwargs):
            try:
                return real(manager, context, instance, *args, **kwargs)
            finally:
                self.scheduled.add(instance.uuid)

        self.useFixture(base._AttributeFixture(
            conductor_manager.ConductorManager, 'build_instances',
            build_instances))

    def _delete_now(self, instance_uuid):
        instance = objects.Instance.get_by_uuid(self.context, instance_uuid)
        self.api.delete(self.context, instance)

    def _create_and_delete_during(self, target, name, after=False):
        """Create a server; delete it as ``target.name`` is called (or
        once it returned)."""
        real = getattr(target, name)
        deleted = []

        def deleting(*args, **kwargs):
            instance = next(a for a in args + tuple(kwargs.values())
                            if isinstance(a, objects.Instance))
            result = real(*args, **kwargs) if after else None
            if not deleted:
                deleted.append(instance.uuid)
                self._delete_now(instance.uuid)
            return result if after else real(*args, **kwargs)

        self.useFixture(base._AttributeFixture(target, name, deleting))
        instance = self.api.create(self.context, self.flavor, 'doomed')
        self.wait_for_deleted(instance.uuid)
        return instance

    def _assert_nothing_left(self, instance):
        deadline = time.monotonic() + self.TIMEOUT
        while (instance.uuid not in self.scheduled
               or self.reportclient.get_allocations_for_consumer(
                   self.context, instance.uuid)['allocations']):
            self.assertLess(time.monotonic(), deadline,
                            'instance %s kept its allocations'
                            % instance.uuid)
            time.sleep(0.1)
        self.assertEqual([], self.domain_hosts(instance.uuid))
        self.assert_host_consistent('compute-a')
        self.assertEqual({'ns0': 'free', 'ns1': 'free'},
                         self.manager('compute-a').rt.namespace_states(
                             'compute-a'))
        self.assertNotIn('Traceback', self.errors.output)
        # The host is as good as new.
        self.boot(self.flavor, 'after')

    def test_deleted_before_it_is_scheduled(self):
        instance = self.api.create(self.context, self.flavor, 'doomed')
        self._delete_now(instance.uuid)
        self.wait_for_deleted(instance.uuid)
        self._assert_nothing_left(instance)

    def test_deleted_after_the_conductor_claimed(self):
        from nova.scheduler import selection
        instance = self._create_and_delete_during(
            selection, 'select_and_claim', after=True)
        self._assert_nothing_left(instance)

    def test_deleted_as_the_compute_claims(self):
        instance = self._create_and_delete_during(
            self.manager('compute-a').rt, 'instance_claim')
        self._assert_nothing_left(instance)

    def test_deleted_while_it_spawns(self):
        instance = self._create_and_delete_during(
            self.manager('compute-a').driver, 'spawn')
        self._assert_nothing_left(instance)
