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

"""A hw:pmem label no host offers: refused naming it, end to end.

Real placement and database, the conductor and two compute hosts whose
namespaces are all under label SMALL. Placement answers 400 to a query
for a resource class it does not know; the user must see which label of
which flavor is the matter, not that answer.
"""

from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.tests.functional import base
from nova.tests.functional import test_live_migration as lm_base

RC = 'CUSTOM_PMEM_NAMESPACE_SMALL'


class TestUnofferedLabelAtBoot(base.VPMEMTestBase):

    def _assert_refused(self, server, label, flavor_name):
        self.assertIsNone(server.host)
        message = server.fault.message
        self.assertIn('No valid host', message)
        self.assertIn('No compute host offers persistent memory label %s '
                      '(resource class CUSTOM_PMEM_NAMESPACE_%s) that flavor '
                      '%s asks for with hw:pmem=' % (label, label.upper(),
                                                     flavor_name), message)
        self.assertNotIn('Placement answered', message)
        self.assertNotIn('Placement answered', server.fault.details)
        self.assertEqual({}, self.reportclient.get_allocations_for_consumer(
            self.context, server.uuid)['allocations'])
        for host in self.computes:
            self.assertEqual(0, self.placement_usage(host))

    def test_label_placement_does_not_know(self):
        flavor = self.create_flavor(name='pmem-nope', pmem='NOPE')
        server = self.boot(flavor, 'nope', expect=vm_states.ERROR)
        self._assert_refused(server, 'NOPE', 'pmem-nope')
        self.assertIn('hw:pmem=NOPE.', server.fault.message)

    def test_known_label_next_to_unknown_one_is_not_blamed(self):
        flavor = self.create_flavor(name='mixed', pmem='SMALL,nope')
        server = self.boot(flavor, 'mixed', expect=vm_states.ERROR)
        self._assert_refused(server, 'nope', 'mixed')
        self.assertNotIn('label SMALL', server.fault.message)

    def test_class_known_but_offered_by_no_host(self):
        # A class some host offered once stays known to placement.
        self.reportclient.ensure_resource_classes(
            self.context, ['CUSTOM_PMEM_NAMESPACE_GONE'])
        flavor = self.create_flavor(name='pmem-gone', pmem='GONE')
        server = self.boot(flavor, 'gone', expect=vm_states.ERROR)
        self._assert_refused(server, 'GONE', 'pmem-gone')

    def test_offered_label_still_boots(self):
        server = self.boot(self.create_flavor(pmem='SMALL'))
        self.assertEqual(RC, server.resources[0].resource_class)


class TestUnofferedLabelOnMove(lm_base.LiveMigrationTestBase):

    def _relabel(self, server, pmem):
        # The instance keeps its own copy of the flavor; a label that was
        # offered when it booted may be offered by nobody when it moves.
        instance = objects.Instance.get_by_uuid(
            self.context, server.uuid, expected_attrs=['flavor'])
        flavor = instance.flavor.obj_clone()
        flavor.extra_specs = {'hw:pmem': pmem}
        instance.flavor = flavor
        instance.save()
        return self.api.get(self.context, server.uuid)

    def test_live_migration_refused_naming_the_label(self):
        server = self.boot_on('compute-a')
        relabelled = self._relabel(server, 'NOPE,NOPE')
        err = self.assertRaises(exception.NoValidHost, self.live_migrate,
                                relabelled)
        self.assertIn('No compute host offers persistent memory label NOPE '
                      '(resource class CUSTOM_PMEM_NAMESPACE_NOPE) that '
                      'flavor %s asks for with hw:pmem=NOPE,NOPE.'
                      % self.flavor.name, str(err))
        self.assertNotIn('Placement answered', str(err))
        # Refused before anything moved: the instance keeps its source.
        self.assert_source_intact(server, {})
        migrations = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})
        self.assertEqual(['error'], [m.status for m in migrations])

    def test_cold_migration_refused_naming_the_label(self):
        server = self.boot_on('compute-a')
        relabelled = self._relabel(server, 'NOPE,NOPE')
        err = self.assertRaises(exception.NoValidHost, self.api.migrate,
                                self.context, relabelled)
        self.assertIn('No compute host offers persistent memory label NOPE '
                      '(resource class CUSTOM_PMEM_NAMESPACE_NOPE) that '
                      'flavor %s asks for with hw:pmem=NOPE,NOPE.'
                      % self.flavor.name, str(err))
        self.assertNotIn('Placement answered', str(err))
        self.assert_source_intact(server, {})
        migrations = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': server.uuid})
        self.assertEqual(['error'], [m.status for m in migrations])
