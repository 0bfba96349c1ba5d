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

"""Tests of the privileged persistent memory helpers (run in-process)."""

import os
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_privsep import capabilities
from oslo_utils import importutils

from nova import test
import nova.privsep
from nova.privsep import pmem


class PrivsepTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # Run entry points in this process instead of a root daemon.
        self.useFixture(fixtures.MockPatchObject(
            nova.privsep.sys_admin_pctxt, 'client_mode', False))
        self.execute = self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute')).mock
        self.execute.return_value = ('', '')


class ContextTestCase(test.NoDBTestCase):

    def test_pypath_names_the_context(self):
        ctx = nova.privsep.sys_admin_pctxt
        # The daemon re-imports the context by this path.
        self.assertIs(ctx, importutils.import_class(ctx.pypath))
        self.assertEqual('nova_sys_admin', ctx.cfg_section)

    def test_capabilities(self):
        # Read the constant, not cfg.CONF: other tests reset the global
        # configuration's defaults.
        self.assertEqual(
            {capabilities.CAP_SYS_ADMIN, capabilities.CAP_DAC_OVERRIDE,
             capabilities.CAP_CHOWN, capabilities.CAP_FOWNER},
            set(nova.privsep.SYS_ADMIN_CAPABILITIES))
        self.assertIn('capabilities', cfg.CONF.nova_sys_admin)

    def test_functions_are_entrypoints(self):
        ctx = nova.privsep.sys_admin_pctxt
        for func in (pmem.list_namespaces, pmem.zero_devdax,
                     pmem.devdax_first_nonzero):
            self.assertTrue(ctx.is_entrypoint(func))


class NdctlDaxioTestCase(PrivsepTestCase):

    def test_list_namespaces_returns_ndctl_stdout(self):
        self.execute.return_value = ('[{"dev":"namespace0.0"}]\n', '')
        self.assertEqual('[{"dev":"namespace0.0"}]\n', pmem.list_namespaces())
        self.execute.assert_called_once_with('ndctl', 'list', '-X')

    def test_list_namespaces_failure_propagates(self):
        self.execute.side_effect = processutils.ProcessExecutionError(
            stderr='no nvdimm bus', exit_code=1)
        self.assertRaises(processutils.ProcessExecutionError,
                          pmem.list_namespaces)

    def test_zero_devdax_runs_daxio(self):
        pmem.zero_devdax('/dev/dax1.3')
        self.execute.assert_called_once_with('daxio', '-z', '-o',
                                             '/dev/dax1.3')

    def test_zero_devdax_refuses_other_paths(self):
        for path in ('/etc/shadow', '/dev/dax0.0/../../etc/passwd',
                     '/dev/pmem0', 'dax0.0', '/dev/dax0.0 ', None):
            self.assertRaises(ValueError, pmem.zero_devdax, path)
        self.execute.assert_not_called()

    def test_devdax_first_nonzero_refuses_other_paths(self):
        with mock.patch.object(pmem, 'first_nonzero_in_mapping') as scan:
            self.assertRaises(ValueError, pmem.devdax_first_nonzero,
                              '/var/lib/nova/x', 4096)
            scan.assert_not_called()

    def test_devdax_first_nonzero_maps_the_device(self):
        with mock.patch.object(pmem, 'first_nonzero_in_mapping',
                               return_value=8192) as scan:
            self.assertEqual(8192,
                             pmem.devdax_first_nonzero('/dev/dax0.1', 1 << 21))
        scan.assert_called_once_with('/dev/dax0.1', 1 << 21, None)
        with mock.patch.object(pmem, 'first_nonzero_in_mapping',
                               return_value=None) as scan:
            self.assertIsNone(pmem.devdax_first_nonzero(
                '/dev/dax0.1', 1 << 21, blocks=[(0, 4096)]))
        scan.assert_called_once_with('/dev/dax0.1', 1 << 21, [(0, 4096)])


class SampleBlocksTestCase(test.NoDBTestCase):

    def test_small_namespace_is_read_whole(self):
        self.assertEqual([(0, 64), (64, 64), (128, 36)],
                         pmem.sample_blocks(164, 64, 5))

    def test_sample_has_first_last_and_count_distinct_blocks(self):
        blocks = pmem.sample_blocks(1 << 30, 64 << 10, 256)
        offsets = [offset for offset, _size in blocks]
        self.assertEqual(258, len(set(offsets)))
        self.assertEqual(sorted(offsets), offsets)
        self.assertEqual(0, offsets[0])
        self.assertEqual((1 << 30) - (64 << 10), offsets[-1])
        self.assertTrue(all(size == 64 << 10 for _off, size in blocks))

    def test_sample_changes_between_checks(self):
        first = pmem.sample_blocks(1 << 30, 64 << 10, 256)
        second = pmem.sample_blocks(1 << 30, 64 << 10, 256)
        self.assertNotEqual(first, second)

    def test_first_nonzero_in_blocks_looks_only_there(self):
        buf = bytearray(1000)
        buf[500] = 1
        self.assertIsNone(pmem.first_nonzero_in_blocks(
            bytes(buf), [(0, 100), (900, 100)], 1000))
        self.assertEqual(500, pmem.first_nonzero_in_blocks(
            bytes(buf), [(0, 100), (450, 100)], 1000))


class FirstNonzeroTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # Small chunks make chunk boundaries cheap to test.
        self.useFixture(fixtures.MockPatchObject(pmem, 'SCAN_CHUNK', 16))

    def test_all_zero(self):
        self.assertIsNone(pmem.first_nonzero(bytes(100), 0, 100))

    def test_finds_first_byte_in_later_chunk(self):
        buf = bytearray(100)
        buf[37] = 1
        buf[90] = 7
        self.assertEqual(37, pmem.first_nonzero(bytes(buf), 0, 100))

    def test_partial_last_chunk(self):
        buf = bytearray(100)
        buf[99] = 0xff
        self.assertEqual(99, pmem.first_nonzero(bytes(buf), 0, 100))

    def test_honours_range(self):
        buf = bytearray(100)
        buf[5] = 1
        buf[70] = 1
        self.assertEqual(70, pmem.first_nonzero(bytes(buf), 10, 100))
        self.assertIsNone(pmem.first_nonzero(bytes(buf), 10, 70))

    def test_mapping_of_a_file(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'ns')
        with open(path, 'wb') as f:
            f.truncate(1 << 20)
            f.seek(300000)
            f.write(b'\x01')
        self.assertEqual(300000, pmem.first_nonzero_in_mapping(path, 1 << 20))
        self.assertIsNone(pmem.first_nonzero_in_mapping(path, 300000))
