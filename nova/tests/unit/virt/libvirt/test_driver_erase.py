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

"""Tests of the libvirt driver's erase: only this host's namespaces."""

import os

from oslo_utils import uuidutils

from nova import exception
from nova import objects
from nova.tests.unit.virt.libvirt import test_driver as base
from nova.virt.libvirt import driver as libvirt_driver

BIG = base.BIG
SMALL = base.SMALL
first_nonzero = base.first_nonzero
fill = base.fill


class EraseTestCase(base.DriverTestBase):

    def setUp(self):
        super().setUp()
        self.sizes = {name: fill(self.ns_path(name))
                      for name in self.by_name}

    def assert_untouched(self, *names):
        for name in names:
            self.assertEqual(0, first_nonzero(self.ns_path(name)), name)
            self.assertEqual(self.sizes[name],
                             os.path.getsize(self.ns_path(name)))

    def test_erase(self):
        wanted = [self.by_name['ns_s2'], self.by_name['ns_b1']]
        self.assertEqual(wanted, self.drv.erase_vpmems(self.context, wanted))
        self.assertIsNone(first_nonzero(self.ns_path('ns_s2')))
        self.assertIsNone(first_nonzero(self.ns_path('ns_b1')))
        self.assert_untouched('ns_s1')

    def test_erase_ignores_duplicates_and_other_resources(self):
        plain = objects.Resource(provider_uuid=self.rp_uuid,
                                 resource_class='CUSTOM_OTHER',
                                 identifier='x', metadata=None)
        erased = self.drv.erase_vpmems(
            self.context, [self.by_name['ns_s1'], plain,
                           self.by_name['ns_s1']])
        self.assertEqual([self.by_name['ns_s1']], erased)
        self.assertEqual([], self.drv.erase_vpmems(self.context, [plain]))
        self.assertEqual([], self.drv.erase_vpmems(self.context, None))

    def test_erase_refuses_another_provider(self):
        foreign = self.foreign_copy('ns_s1',
                                    provider_uuid=uuidutils.generate_uuid())
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                self.drv.erase_vpmems, self.context,
                                [self.by_name['ns_b1'], foreign])
        self.assertEqual([foreign], [r for r, _why in exc.refused])
        self.assertIn(foreign.provider_uuid, exc.format_message())
        self.assertIn('nothing was erased', exc.format_message())
        # Refused as a whole: the local namespace was not erased either.
        self.assert_untouched('ns_s1', 'ns_s2', 'ns_b1')

    def test_erase_refuses_a_record_with_another_path(self):
        # A same-named namespace of another host, at a path that exists
        # here too: neither file may be touched.
        elsewhere = os.path.join(self.tmp, 'elsewhere')
        os.makedirs(elsewhere)
        other_path = os.path.join(elsewhere, 'ns_s1')
        with open(other_path, 'wb') as f:
            f.write(b'other data' * 100)
        foreign = self.foreign_copy('ns_s1', devpath=other_path)
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                self.drv.erase_vpmems, self.context,
                                [foreign])
        self.assertIn(other_path, exc.format_message())
        self.assert_untouched('ns_s1')
        with open(other_path, 'rb') as f:
            self.assertEqual(b'other data' * 100, f.read())

    def test_erase_refuses_unknown_names_and_classes(self):
        renamed = self.foreign_copy('ns_s1', identifier='ns_s2')
        wrong_class = self.foreign_copy('ns_s1', resource_class=BIG)
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                self.drv.erase_vpmems, self.context,
                                [renamed, wrong_class])
        self.assertEqual(2, len(exc.refused))
        self.assertIn('differs from the name ns_s1', exc.format_message())
        self.assertIn('offers it as %s' % SMALL, exc.format_message())
        self.assert_untouched('ns_s1', 'ns_s2')

    def test_erase_refuses_before_the_provider_is_known(self):
        fresh = libvirt_driver.LibvirtDriver()
        fresh.init_host('compute-a')
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                fresh.erase_vpmems, self.context,
                                [self.by_name['ns_s1']])
        self.assertIn('get_vpmem_resources', exc.format_message())
        self.assert_untouched('ns_s1')

    def test_erase_refuses_a_namespace_of_a_running_guest(self):
        instance = self.make_instance(['ns_b1'], pmem='BIG')
        self.drv.spawn(self.context, instance)
        exc = self.assertRaises(exception.VPMEMEraseRefused,
                                self.drv.erase_vpmems, self.context,
                                instance.resources)
        self.assertIn('backs running domain', exc.format_message())
        self.assert_untouched('ns_b1')

    def test_erase_incomplete_reports_resources(self):
        # A namespace file that vanished cannot be erased (and must stay
        # reserved); the others are erased anyway.
        os.unlink(self.ns_path('ns_s2'))
        wanted = [self.by_name[name] for name in ('ns_s1', 'ns_s2', 'ns_b1')]
        exc = self.assertRaises(exception.VPMEMEraseIncomplete,
                                self.drv.erase_vpmems, self.context, wanted)
        self.assertEqual([self.by_name['ns_s1'], self.by_name['ns_b1']],
                         exc.erased)
        self.assertEqual([self.by_name['ns_s2']],
                         [r for r, _error in exc.failed])
        self.assertIsInstance(exc.failed[0][1], exception.VPMEMCleanupFailed)
        self.assertIn('Erased: ns_s1, ns_b1', exc.format_message())
        self.assertIsNone(first_nonzero(self.ns_path('ns_s1')))
        self.assertIsNone(first_nonzero(self.ns_path('ns_b1')))
