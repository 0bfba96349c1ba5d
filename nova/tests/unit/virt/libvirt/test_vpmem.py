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

"""Tests of vpmem namespace configuration, discovery, erase and read-back."""

import errno
import os
import stat
import time
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova import exception
from nova import objects
from nova import test
from nova.conf import compute as compute_conf
from nova.conf import default as default_conf
from nova.conf import libvirt as libvirt_conf
import nova.privsep
from nova.privsep import pmem as privsep_pmem
from nova.virt.libvirt import vpmem
from nova.virt.libvirt import vpmem_backends

MiB = 1024 * 1024
DATA_DIR = os.path.join(os.path.dirname(__file__), 'data')
with open(os.path.join(DATA_DIR, 'ndctl_list_X.json')) as _f:
    NDCTL_LIST_X = _f.read()

SIZE_4G = 4225761280
SIZE_32G = 33820770304
SIZE_8G = 8453619712
ALIGN_2M = 2097152


def _make_conf(**libvirt):
    """A private ConfigOpts, as each compute service in a process has."""
    conf = cfg.ConfigOpts()
    default_conf.register_opts(conf)
    # Groups by name, not the modules' OptGroup objects: those hold the
    # overrides and would be shared between ConfigOpts instances.
    conf.register_opts(libvirt_conf.ALL_OPTS, group='libvirt')
    conf.register_opts(compute_conf.compute_opts, group='compute')
    conf([], project='nova', default_config_files=[])
    for name, value in libvirt.items():
        group = ('compute' if name in ('pmem_verify_erase',
                                       'pmem_erase_verify') else 'libvirt')
        conf.set_override(name, value, group=group)
    return conf


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _nonzero_at(path):
    """(size, first non-zero offset or None), read plainly (no holes
    logic), so a failure message stays short."""
    content = _read(path)
    stripped = content.lstrip(b'\0')
    return len(content), (len(content) - len(stripped) if stripped else None)


class BaseTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=10))
        self.tmp = self.useFixture(fixtures.TempDir()).path


class ParseConfigTestCase(test.NoDBTestCase):

    def test_success_keeps_order(self):
        self.assertEqual(
            {'128G': ['ns2', 'ns0', 'ns1'], 'SMALL': ['ns3']},
            vpmem.parse_pmem_namespaces(['128G:ns2|ns0|ns1', 'SMALL:ns3']))
        self.assertEqual(['SMALL', '128G'], list(vpmem.parse_pmem_namespaces(
            ['SMALL:ns3', '128G:ns0'])))

    def test_whitespace_is_stripped(self):
        self.assertEqual({'SMALL': ['ns1', 'ns2']},
                         vpmem.parse_pmem_namespaces([' SMALL : ns1 | ns2 ']))

    def test_empty(self):
        self.assertEqual({}, vpmem.parse_pmem_namespaces([]))

    def _assert_invalid(self, entries, entry, fragment):
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                vpmem.parse_pmem_namespaces, entries)
        self.assertEqual(entry, exc.kwargs['entry'])
        message = exc.format_message()
        self.assertIn(repr(entry), message)
        self.assertIn(fragment, message)
        return message

    def test_names_may_not_hold_colons(self):
        # A second ':' is a slip for '|' far more often than a real name.
        self._assert_invalid(['A:ns:0'], 'A:ns:0', "namespace name 'ns:0' "
                                                   "holds ':'")

    def test_missing_colon(self):
        self._assert_invalid(['SMALL:ns0', 'BIGns1'], 'BIGns1', "no ':'")

    def test_empty_label(self):
        self._assert_invalid([':ns0'], ':ns0', 'label before')
        self._assert_invalid([' :ns0'], ' :ns0', 'label before')

    def test_bad_label_characters(self):
        self._assert_invalid(['4-G:ns0'], '4-G:ns0', "label '4-G'")
        self._assert_invalid(['BIG G:ns0'], 'BIG G:ns0', "label 'BIG G'")
        self._assert_invalid(['bigé:ns0'], 'bigé:ns0', "label 'bigé'")

    def test_no_namespace(self):
        self._assert_invalid(['SMALL:'], 'SMALL:', 'no namespace')
        self._assert_invalid(['SMALL: '], 'SMALL: ', 'no namespace')

    def test_empty_pipe_item(self):
        self._assert_invalid(['SMALL:ns0||ns1'], 'SMALL:ns0||ns1', 'empty')
        self._assert_invalid(['SMALL:ns0|'], 'SMALL:ns0|', 'empty')
        self._assert_invalid(['SMALL:|ns0'], 'SMALL:|ns0', 'empty')

    def test_empty_entry(self):
        self._assert_invalid(['SMALL:ns0', ''], '', 'entry is empty')

    def test_namespace_twice_in_one_entry(self):
        self._assert_invalid(['SMALL:ns0|ns1|ns0'], 'SMALL:ns0|ns1|ns0',
                             'namespace ns0 is listed twice')

    def test_namespace_in_two_entries_names_both(self):
        message = self._assert_invalid(['BIG:ns0|ns1', 'SMALL:ns2|ns1'],
                                       'SMALL:ns2|ns1', 'namespace ns1')
        self.assertIn("'BIG:ns0|ns1'", message)

    def test_label_twice_names_both(self):
        message = self._assert_invalid(['SMALL:ns0', 'SMALL:ns1'],
                                       'SMALL:ns1', 'label SMALL')
        self.assertIn("'SMALL:ns0'", message)

    def test_labels_sharing_a_resource_class(self):
        message = self._assert_invalid(['small:ns0', 'SMALL:ns1'],
                                       'SMALL:ns1',
                                       'CUSTOM_PMEM_NAMESPACE_SMALL')
        self.assertIn("'small:ns0'", message)

    def test_resource_class_for_label(self):
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_128G',
                         vpmem.resource_class_for_label('128G'))
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_SMALL',
                         vpmem.resource_class_for_label('small'))


class ParseNdctlTestCase(BaseTestCase):

    def test_real_world_output(self):
        devices = vpmem_backends.parse_ndctl_namespaces(NDCTL_LIST_X)
        # fsdax ones (named or not) and the unnamed devdax one are left out.
        self.assertEqual(['ns0', 'ns1', 'ns2', 'ns3', 'ns4'],
                         [d.name for d in devices])
        by_name = {d.name: d for d in devices}
        self.assertEqual('/dev/dax0.1', by_name['ns0'].devpath)
        self.assertEqual('/dev/dax1.3', by_name['ns4'].devpath)
        self.assertEqual(SIZE_4G, by_name['ns1'].size)
        self.assertEqual(SIZE_32G, by_name['ns2'].size)
        self.assertEqual(SIZE_8G, by_name['ns4'].size)
        for device in devices:
            self.assertEqual(ALIGN_2M, device.align)
            self.assertFalse(device.obj_attr_is_set('label'))
        # Other modes are skipped quietly, not reported as broken devdax.
        self.assertNotIn('Ignoring', self.log.output)

    def test_single_namespace_printed_as_object(self):
        text = ('{"dev":"namespace0.0","mode":"devdax","map":"dev",'
                '"size":4225761280,"uuid":"5e4f4c2e-6c1d-4fd4-9a0e-'
                '2f1f5a4b8d11","daxregion":{"id":0,"size":4225761280,'
                '"align":1073741824,"devices":[{"chardev":"dax0.0",'
                '"size":4225761280}]},"name":"only"}')
        [device] = vpmem_backends.parse_ndctl_namespaces(text)
        self.assertEqual(('only', '/dev/dax0.0', 1073741824),
                         (device.name, device.devpath, device.align))

    def test_nothing_printed(self):
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces(''))
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces('\n'))
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces('[]'))

    def test_not_json(self):
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                vpmem_backends.parse_ndctl_namespaces,
                                'libndctl: error: no bus')
        self.assertIn('not JSON', exc.format_message())

    def test_devdax_without_device_is_skipped(self):
        text = ('[{"dev":"namespace0.0","mode":"devdax","size":4096,'
                '"name":"broken"},{"dev":"namespace0.1","mode":"devdax",'
                '"size":4096,"name":"empty","daxregion":{"align":4096,'
                '"devices":[]}}]')
        self.assertEqual([], vpmem_backends.parse_ndctl_namespaces(text))
        # The operator can find out why a configured name is "missing".
        self.assertIn('Ignoring devdax namespace broken', self.log.output)
        self.assertIn('Ignoring devdax namespace empty', self.log.output)


class NdctlBackendTestCase(BaseTestCase):

    def setUp(self):
        super().setUp()
        # Privsep entry points run in-process; only the commands are faked.
        self.useFixture(fixtures.MockPatchObject(
            nova.privsep.sys_admin_pctxt, 'client_mode', False))
        self.execute = self.useFixture(fixtures.MockPatch(
            'oslo_concurrency.processutils.execute')).mock
        self.execute.return_value = (NDCTL_LIST_X, '')
        self.backend = vpmem_backends.NdctlBackend()

    def _device(self):
        return objects.LibvirtVPMEMDevice(label='SMALL', name='ns0',
                                          devpath='/dev/dax0.1',
                                          size=SIZE_4G, align=ALIGN_2M)

    def test_discover(self):
        found = self.backend.discover(['ns1'])
        self.execute.assert_called_once_with('ndctl', 'list', '-X')
        # Everything ndctl shows comes back, so missing names can be
        # explained.
        self.assertEqual({'ns0', 'ns1', 'ns2', 'ns3', 'ns4'}, set(found))
        self.assertEqual('/dev/dax0.2', found['ns1'].devpath)
        self.assertEqual('devdax', self.backend.kind)

    def test_ndctl_not_installed(self):
        self.execute.side_effect = FileNotFoundError(
            errno.ENOENT, 'No such file or directory')
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                self.backend.discover, ['ns0'])
        self.assertIn('apt-get install ndctl', exc.format_message())

    def test_ndctl_fails(self):
        self.execute.side_effect = processutils.ProcessExecutionError(
            stderr='failed to open nvdimm bus', exit_code=1,
            cmd='ndctl list -X')
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                self.backend.discover, ['ns0'])
        self.assertIn('failed to open nvdimm bus', exc.format_message())
        self.assertIn('ndctl list -X failed', exc.format_message())

    def test_privsep_daemon_fails(self):
        with mock.patch.object(privsep_pmem, 'list_namespaces',
                               side_effect=RuntimeError('no sudo')):
            exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                    self.backend.discover, ['ns0'])
        self.assertIn('no sudo', exc.format_message())
        self.assertIn('privsep-helper', exc.format_message())

    def test_duplicate_name_refused_only_when_configured(self):
        text = NDCTL_LIST_X.replace('"name": "ns3"', '"name": "ns2"')
        self.execute.return_value = (text, '')
        exc = self.assertRaises(exception.PMEMNamespaceUnusable,
                                self.backend.discover, ['ns2'])
        self.assertIn('/dev/dax1.0', exc.format_message())
        self.assertIn('/dev/dax1.1', exc.format_message())
        self.assertIn('ns0', self.backend.discover(['ns0']))

    def test_erase_runs_daxio(self):
        self.backend.erase(self._device())
        self.execute.assert_called_once_with('daxio', '-z', '-o',
                                             '/dev/dax0.1')

    def test_erase_failure(self):
        self.execute.side_effect = processutils.ProcessExecutionError(
            stderr='daxio: open failed', exit_code=1)
        exc = self.assertRaises(exception.VPMEMCleanupFailed,
                                self.backend.erase, self._device())
        self.assertIn('ns0 (/dev/dax0.1)', exc.format_message())
        self.assertIn('daxio: open failed', exc.format_message())

    def test_daxio_not_installed(self):
        self.execute.side_effect = FileNotFoundError(errno.ENOENT, 'nope')
        exc = self.assertRaises(exception.VPMEMCleanupFailed,
                                self.backend.erase, self._device())
        self.assertIn('install daxio', exc.format_message())

    def test_verify_clean(self):
        with mock.patch.object(privsep_pmem, 'first_nonzero_in_mapping',
                               return_value=None) as scan:
            self.backend.verify(self._device())
        scan.assert_called_once_with('/dev/dax0.1', SIZE_4G, None)

    def test_verify_finds_data(self):
        with mock.patch.object(privsep_pmem, 'first_nonzero_in_mapping',
                               return_value=4096):
            exc = self.assertRaises(exception.VPMEMEraseVerifyFailed,
                                    self.backend.verify, self._device())
        self.assertIn('offset 4096', exc.format_message())
        self.assertIn('ns0 (/dev/dax0.1)', exc.format_message())

    def test_verify_unreadable_is_not_clean(self):
        with mock.patch.object(privsep_pmem, 'first_nonzero_in_mapping',
                               side_effect=PermissionError(13, 'denied')):
            exc = self.assertRaises(exception.VPMEMEraseVerifyFailed,
                                    self.backend.verify, self._device())
        self.assertIn('read-back failed', exc.format_message())


class FileBackendTestCase(BaseTestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.tmp, 'state', 'pmem')
        self.backend = vpmem_backends.FileBackend(self.dir, 64 * MiB,
                                                  ALIGN_2M)

    def _discover_as_root(self, dir_owner, euid=0):
        """Discover ns0 and ns1 as ``euid`` in a directory owned by
        ``dir_owner``; the (uid, gid) each new file was handed to."""
        os.makedirs(self.dir)
        real_stat = os.stat
        owner_stat = os.stat_result((0o40755, 0, 0, 2, dir_owner, dir_owner,
                                     0, 0, 0, 0))
        chowned = []
        with mock.patch('os.geteuid', return_value=euid), \
                mock.patch('os.stat', side_effect=lambda path, *a, **k: (
                    owner_stat if path == self.dir
                    else real_stat(path, *a, **k))), \
                mock.patch('os.fchown', side_effect=lambda fd, uid, gid:
                           chowned.append((uid, gid))):
            self.backend.discover(['ns0', 'ns1'])
        return chowned

    def test_new_files_belong_to_the_directory_owner(self):
        # The hypervisor's user owns pmem_file_dir; a service running as
        # root hands it each file it creates, or QEMU could not open it.
        self.assertEqual([(1234, 1234)] * 2, self._discover_as_root(1234))

    def test_root_owned_directory_keeps_root_files(self):
        self.assertEqual([], self._discover_as_root(0))

    def test_unprivileged_service_changes_no_owner(self):
        self.assertEqual([], self._discover_as_root(1234, euid=1234))

    def _write(self, name, chunks, size=None):
        path = os.path.join(self.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        with open(path, 'wb') as f:
            if size is not None:
                f.truncate(size)
            for offset, data in chunks:
                f.seek(offset)
                f.write(data)
        return path

    def _overwrite(self, path, chunks):
        """Write in place: the file keeps the blocks it has."""
        with open(path, 'r+b') as f:
            for offset, data in chunks:
                f.seek(offset)
                f.write(data)
            f.flush()
            os.fsync(f.fileno())

    def assertAllocated(self, path):
        info = os.stat(path)
        self.assertGreaterEqual(info.st_blocks * 512, info.st_size)

    def test_creates_allocated_files_in_new_directory(self):
        found = self.backend.discover(['ns0', 'ns1'])
        self.assertEqual(['ns0', 'ns1'], sorted(found))
        for name, device in found.items():
            path = os.path.join(self.dir, name)
            info = os.stat(path)
            self.assertEqual(path, device.devpath)
            self.assertEqual(64 * MiB, device.size)
            self.assertEqual(64 * MiB, info.st_size)
            self.assertEqual(ALIGN_2M, device.align)
            self.assertEqual(0o600, stat.S_IMODE(info.st_mode))
            self.assertAllocated(path)
            self.assertEqual((64 * MiB, None), _nonzero_at(path))
        self.assertEqual('file', self.backend.kind)

    def test_conf_default_keeps_files_allocated(self):
        conf = _make_conf(pmem_backend='file', pmem_file_dir=self.dir)
        self.assertTrue(vpmem_backends.backend_from_conf(conf).preallocate)
        conf = _make_conf(pmem_backend='file', pmem_file_dir=self.dir,
                          pmem_file_preallocate=False)
        self.assertFalse(vpmem_backends.backend_from_conf(conf).preallocate)

    def test_creates_sparse_files_without_preallocate(self):
        backend = vpmem_backends.FileBackend(self.dir, 64 * MiB, ALIGN_2M,
                                             preallocate=False)
        device = backend.discover(['ns0'])['ns0']
        self.assertLess(os.stat(device.devpath).st_blocks * 512, MiB)

    def test_creation_falls_back_to_writing_zeros(self):
        with mock.patch.object(vpmem_backends, 'fallocate',
                               return_value=False):
            device = self.backend.discover(['ns0'])['ns0']
        self.assertAllocated(device.devpath)
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))

    def test_creation_without_disk_space_leaves_no_file(self):
        with mock.patch.object(vpmem_backends, 'allocate_new_file',
                               side_effect=OSError(errno.ENOSPC, 'full')):
            exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                    self.backend.discover, ['ns0'])
        self.assertIn('no disk space for namespace file %s (full)'
                      % os.path.join(self.dir, 'ns0'), str(exc))
        self.assertIn('pmem_file_preallocate', str(exc))
        # The next start creates it again rather than finding it sparse.
        self.assertEqual([], os.listdir(self.dir))

    def _statvfs(self, free, total=1024 * MiB):
        """os.statvfs of a filesystem with ``free`` bytes available."""
        fs = os.statvfs_result((4096, 4096, total // 4096, free // 4096,
                                free // 4096, 0, 0, 0, 0, 255))
        return mock.patch('os.statvfs', return_value=fs)

    def test_creation_keeps_a_share_of_the_disk_free(self):
        # 64 MiB would leave 36 MiB of 1 GiB: less than 5%.
        with self._statvfs(100 * MiB), \
                mock.patch.object(vpmem_backends,
                                  'allocate_new_file') as allocate:
            exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                    self.backend.discover, ['ns0'])
        allocate.assert_not_called()
        self.assertIn('64 MiB needed, 100 MiB free, of which 51 MiB stay '
                      'free', str(exc))
        self.assertEqual([], os.listdir(self.dir))
        with self._statvfs(200 * MiB):
            self.backend.discover(['ns0'])

    def test_sparse_file_left_sparse_when_the_disk_is_short(self):
        path = self._write('ns0', [(0, b'guest data')], size=4 * MiB)
        with self._statvfs(52 * MiB), \
                mock.patch.object(vpmem_backends, 'fallocate') as falloc:
            device = self.backend.discover(['ns0'])['ns0']
        falloc.assert_not_called()
        self.assertEqual(path, device.devpath)
        self.assertIn('is sparse and could not be allocated',
                      self.log.output)

    def test_existing_file_keeps_size_and_data(self):
        path = self._write('ns0', [(0, b'guest data')], size=4 * MiB)
        device = self.backend.discover(['ns0'])['ns0']
        self.assertEqual(4 * MiB, device.size)
        self.assertEqual(b'guest data', _read(path)[:10])

    def test_sparse_file_found_at_discovery_gets_allocated(self):
        # A file from before (or from a sparse host): its guest's data
        # stays, its holes get blocks.
        path = self._write('ns0', [(0, b'guest data'), (3 * MiB, b'end')],
                           size=4 * MiB)
        self.assertLess(os.stat(path).st_blocks * 512, MiB)
        self.backend.discover(['ns0'])
        self.assertAllocated(path)
        content = _read(path)
        self.assertEqual(4 * MiB, len(content))
        self.assertEqual(b'guest data', content[:10])
        self.assertEqual(b'end', content[3 * MiB:3 * MiB + 3])
        self.assertIn('Allocated the holes of namespace file',
                      self.log.output)

    def test_sparse_file_that_cannot_be_allocated_is_still_offered(self):
        path = self._write('ns0', [(0, b'guest data')], size=4 * MiB)
        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=OSError(errno.ENOSPC, 'full')):
            device = self.backend.discover(['ns0'])['ns0']
        self.assertEqual(path, device.devpath)
        self.assertIn('is sparse and could not be allocated',
                      self.log.output)

    def test_erase_keeps_the_file_allocated(self):
        device = self.backend.discover(['ns0'])['ns0']
        self._overwrite(device.devpath, [(0, b'\xaa' * (8 * MiB)),
                                         (40 * MiB + 5, b'secret')])
        self.backend.erase(device)
        self.backend.verify(device)
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))
        self.assertAllocated(device.devpath)

    def test_erase_allocates_a_sparse_file(self):
        device = self.backend.discover(['ns0'])['ns0']
        # Made sparse behind the backend's back (an old erase, a copy).
        self._write('ns0', [(MiB, b'left over')], size=64 * MiB)
        self.backend.erase(device)
        self.backend.verify(device)
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))
        self.assertAllocated(device.devpath)

    def test_no_names_touches_nothing(self):
        self.assertEqual({}, self.backend.discover([]))
        self.assertFalse(os.path.exists(self.dir))

    def test_path_not_a_regular_file(self):
        os.makedirs(os.path.join(self.dir, 'ns1'))
        exc = self.assertRaises(exception.PMEMNamespaceUnusable,
                                self.backend.discover, ['ns0', 'ns1'])
        self.assertEqual('ns1', exc.kwargs['name'])
        self.assertIn('not a regular file', exc.format_message())

    def test_size_not_multiple_of_align(self):
        self._write('ns0', [], size=3 * MiB)
        exc = self.assertRaises(exception.PMEMNamespaceUnusable,
                                self.backend.discover, ['ns0'])
        self.assertEqual('ns0', exc.kwargs['name'])
        self.assertIn('3145728 bytes', exc.format_message())

    def test_empty_file_refused(self):
        self._write('ns0', [])
        self.assertRaises(exception.PMEMNamespaceUnusable,
                          self.backend.discover, ['ns0'])

    def test_name_cannot_leave_the_directory(self):
        for name in ('../escape', '..', 'a/b'):
            exc = self.assertRaises(exception.PMEMNamespaceUnusable,
                                    self.backend.discover, [name])
            self.assertEqual(name, exc.kwargs['name'])
        self.assertEqual([], os.listdir(self.tmp))

    def test_new_size_not_multiple_of_align(self):
        backend = vpmem_backends.FileBackend(self.dir, 5 * MiB, ALIGN_2M)
        self.assertRaises(exception.InvalidConfiguration,
                          backend.discover, ['ns0'])
        self.assertFalse(os.path.exists(self.dir))

    def test_erase_zeroes_and_keeps_size(self):
        device = self.backend.discover(['ns0'])['ns0']
        chunks = [(0, b'\xaa' * 5000), (7 * MiB + 3, b'secret'),
                  (64 * MiB - 1, b'\x01')]
        self._write('ns0', chunks, size=64 * MiB)
        self.assertEqual(b'secret', _read(device.devpath)[7 * MiB + 3:
                                                         7 * MiB + 9])
        self.backend.erase(device)
        self.backend.verify(device)
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))

    def test_erase_of_full_64mib_file_is_fast(self):
        path = self._write('ns0', [(0, b'\x5a' * (64 * MiB))])
        device = self.backend.discover(['ns0'])['ns0']
        start = time.monotonic()
        self.backend.erase(device)
        self.backend.verify(device)
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, 2.0)
        self.assertEqual(64 * MiB, os.stat(path).st_size)
        self.assertEqual((64 * MiB, None), _nonzero_at(path))

    def test_erase_fallback_writes_zeros_when_fallocate_unsupported(self):
        device = self.backend.discover(['ns0'])['ns0']
        self._write('ns0', [(MiB, b'\xff' * (3 * MiB + 17)),
                            (40 * MiB, b'tail')], size=64 * MiB)
        with mock.patch.object(vpmem_backends, 'fallocate',
                               return_value=False) as falloc:
            self.assertEqual('write',
                             vpmem_backends.zero_file(device.devpath))
        # Zero-range, then plain allocation; neither offered: every byte
        # is written, which allocates the holes too.
        self.assertEqual([vpmem_backends.FALLOC_FL_ZERO_RANGE |
                          vpmem_backends.FALLOC_FL_KEEP_SIZE, 0],
                         [c.args[1] for c in falloc.call_args_list])
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))
        self.assertAllocated(device.devpath)
        self.backend.verify(device)

    def test_erase_fallback_allocates_holes_and_writes_the_data(self):
        path = self._write('ns0', [(MiB, b'\xff' * (3 * MiB + 17)),
                                   (40 * MiB, b'tail')], size=64 * MiB)
        real_fallocate = vpmem_backends.fallocate

        def no_zero_range(fd, mode, offset, length):
            if mode & vpmem_backends.FALLOC_FL_ZERO_RANGE:
                return False
            return real_fallocate(fd, mode, offset, length)

        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=no_zero_range), \
                mock.patch.object(vpmem_backends, '_write_zeros',
                                  wraps=vpmem_backends._write_zeros) as wr:
            self.assertEqual('write', vpmem_backends.zero_file(path))
        # Only the written ranges were overwritten, not all 64 MiB.
        ranges = wr.call_args.args[1]
        self.assertLess(sum(end - start for start, end in ranges), 8 * MiB)
        self.assertEqual((64 * MiB, None), _nonzero_at(path))
        self.assertAllocated(path)

    def test_erase_never_punches_holes_by_default(self):
        path = self._write('ns0', [], size=4 * MiB)
        modes = []

        def fake_fallocate(fd, mode, offset, length):
            modes.append(mode)
            return True

        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=fake_fallocate):
            self.assertEqual('zero-range', vpmem_backends.zero_file(path))
        self.assertEqual([vpmem_backends.FALLOC_FL_ZERO_RANGE |
                          vpmem_backends.FALLOC_FL_KEEP_SIZE], modes)

    def test_erase_without_room_for_the_holes_punches_them(self):
        path = self._write('ns0', [(MiB, b'secret')], size=64 * MiB)
        real_fallocate = vpmem_backends.fallocate

        def disk_full(fd, mode, offset, length):
            if not mode & vpmem_backends.FALLOC_FL_PUNCH_HOLE:
                raise OSError(errno.ENOSPC, 'No space left on device')
            return real_fallocate(fd, mode, offset, length)

        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=disk_full):
            self.assertEqual('punch-hole', vpmem_backends.zero_file(path))
        self.assertEqual((64 * MiB, None), _nonzero_at(path))
        self.assertIn('No disk space to keep namespace file', self.log.output)

    def test_erase_other_errors_still_fail(self):
        path = self._write('ns0', [(MiB, b'secret')], size=4 * MiB)
        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=OSError(errno.EIO, 'I/O error')):
            self.assertRaises(OSError, vpmem_backends.zero_file, path)
        self.assertEqual(b'secret', _read(path)[MiB:MiB + 6])

    def test_sparse_erase_tries_zero_range_after_punch_hole(self):
        path = self._write('ns0', [], size=4 * MiB)
        modes = []

        def fake_fallocate(fd, mode, offset, length):
            modes.append(mode)
            return mode & vpmem_backends.FALLOC_FL_ZERO_RANGE

        with mock.patch.object(vpmem_backends, 'fallocate',
                               side_effect=fake_fallocate):
            self.assertEqual('zero-range', vpmem_backends.zero_file(
                path, keep_allocated=False))
        keep = vpmem_backends.FALLOC_FL_KEEP_SIZE
        self.assertEqual(
            [vpmem_backends.FALLOC_FL_PUNCH_HOLE | keep,
             vpmem_backends.FALLOC_FL_ZERO_RANGE | keep], modes)

    def test_sparse_backend_erase_punches_holes(self):
        backend = vpmem_backends.FileBackend(self.dir, 64 * MiB, ALIGN_2M,
                                             preallocate=False)
        device = backend.discover(['ns0'])['ns0']
        self._overwrite(device.devpath, [(0, b'\xaa' * (8 * MiB))])
        backend.erase(device)
        backend.verify(device)
        self.assertEqual((64 * MiB, None), _nonzero_at(device.devpath))
        self.assertLess(os.stat(device.devpath).st_blocks * 512, MiB)

    def test_fallocate_real_errors_raise(self):
        self.assertRaises(OSError, vpmem_backends.fallocate, -1,
                          vpmem_backends.FALLOC_FL_PUNCH_HOLE |
                          vpmem_backends.FALLOC_FL_KEEP_SIZE, 0, 4096)

    def test_erase_of_vanished_file_fails_and_does_not_recreate(self):
        device = self.backend.discover(['ns0'])['ns0']
        os.unlink(device.devpath)
        exc = self.assertRaises(exception.VPMEMCleanupFailed,
                                self.backend.erase, device)
        self.assertIn('ns0 (%s)' % device.devpath, exc.format_message())
        self.assertFalse(os.path.exists(device.devpath))

    def test_verify_finds_leftover_data(self):
        device = self.backend.discover(['ns0'])['ns0']
        self._write('ns0', [(5 * MiB + 1, b'x')], size=64 * MiB)
        exc = self.assertRaises(exception.VPMEMEraseVerifyFailed,
                                self.backend.verify, device)
        self.assertIn('offset %d' % (5 * MiB + 1), exc.format_message())

    def test_verify_finds_size_change(self):
        device = self.backend.discover(['ns0'])['ns0']
        os.truncate(device.devpath, 32 * MiB)
        exc = self.assertRaises(exception.VPMEMEraseVerifyFailed,
                                self.backend.verify, device)
        self.assertIn('size changed', exc.format_message())

    def test_data_extents_skip_holes(self):
        path = self._write('ns0', [(0, b'a'), (32 * MiB, b'b')],
                           size=64 * MiB)
        fd = os.open(path, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        extents = list(vpmem_backends.data_extents(fd, 64 * MiB))
        # Both written bytes are covered, and most of the file is skipped.
        self.assertTrue(any(s <= 0 < e for s, e in extents))
        self.assertTrue(any(s <= 32 * MiB < e for s, e in extents))
        self.assertLess(sum(e - s for s, e in extents), 8 * MiB)
        vpmem_backends.zero_file(path)
        self.assertEqual([], list(vpmem_backends.data_extents(fd, 64 * MiB)))


class HostNamespacesTestCase(BaseTestCase):

    def setUp(self):
        super().setUp()
        self.list_namespaces = self.useFixture(fixtures.MockPatchObject(
            privsep_pmem, 'list_namespaces',
            return_value=NDCTL_LIST_X)).mock
        self.pmem_dir = os.path.join(self.tmp, 'pmem')

    def _file_host(self, namespaces, **overrides):
        overrides.setdefault('pmem_file_dir', self.pmem_dir)
        conf = _make_conf(pmem_namespaces=namespaces, pmem_backend='file',
                          pmem_file_size_mb=8, **overrides)
        return vpmem.HostNamespaces.from_conf(conf)

    def _ndctl_host(self, namespaces, **overrides):
        conf = _make_conf(pmem_namespaces=namespaces, **overrides)
        return vpmem.HostNamespaces.from_conf(conf)

    def test_ndctl_host(self):
        host = self._ndctl_host(['4G:ns1|ns0', '32G:ns3|ns2'])
        self.list_namespaces.assert_called_once_with()
        self.assertEqual('devdax', host.kind)
        self.assertEqual(['4G', '32G'], host.labels)
        by_label = host.by_label
        # Configured order, not ndctl's.
        self.assertEqual(['ns1', 'ns0'], [d.name for d in by_label['4G']])
        self.assertEqual(['ns3', 'ns2'], [d.name for d in by_label['32G']])
        self.assertEqual({'CUSTOM_PMEM_NAMESPACE_4G',
                          'CUSTOM_PMEM_NAMESPACE_32G'},
                         set(host.by_resource_class))
        self.assertEqual(
            ['ns3', 'ns2'],
            [d.name for d in
             host.by_resource_class['CUSTOM_PMEM_NAMESPACE_32G']])
        by_name = host.by_name
        self.assertEqual({'ns0', 'ns1', 'ns2', 'ns3'}, set(by_name))
        self.assertEqual('4G', by_name['ns0'].label)
        self.assertEqual('32G', by_name['ns2'].label)
        self.assertEqual('/dev/dax1.0', by_name['ns2'].devpath)
        self.assertEqual(SIZE_32G, by_name['ns2'].size)
        self.assertEqual('CUSTOM_PMEM_NAMESPACE_4G', host.resource_class('4G'))

    def test_inventory(self):
        host = self._ndctl_host(['4G:ns1|ns0', '8G:ns4'])
        self.assertEqual(
            {'CUSTOM_PMEM_NAMESPACE_4G': {
                'total': 2, 'reserved': 0, 'min_unit': 1, 'max_unit': 2,
                'step_size': 1, 'allocation_ratio': 1.0},
             'CUSTOM_PMEM_NAMESPACE_8G': {
                'total': 1, 'reserved': 0, 'min_unit': 1, 'max_unit': 1,
                'step_size': 1, 'allocation_ratio': 1.0}},
            host.inventory())

    def test_file_host(self):
        host = self._file_host(['SMALL:ns1|ns0', 'BIG:ns2'])
        self.assertEqual('file', host.kind)
        self.assertEqual(['ns1', 'ns0'],
                         [d.name for d in host.by_label['SMALL']])
        self.assertEqual(os.path.join(self.pmem_dir, 'ns2'),
                         host.by_name['ns2'].devpath)
        self.assertEqual(8 * MiB, host.by_name['ns2'].size)
        self.assertEqual('BIG', host.by_name['ns2'].label)
        self.list_namespaces.assert_not_called()

    def test_empty_config_means_no_namespaces_and_no_ndctl(self):
        host = self._ndctl_host([])
        self.assertEqual({}, host.by_name)
        self.assertEqual({}, host.by_label)
        self.assertEqual({}, host.by_resource_class)
        self.assertEqual({}, host.inventory())
        self.list_namespaces.assert_not_called()

    def test_namespace_not_on_host(self):
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                self._ndctl_host, ['4G:ns0', 'SMALL:ns9'])
        self.assertEqual('SMALL:ns9', exc.kwargs['entry'])
        self.assertIn("entry 'SMALL:ns9'", exc.format_message())
        self.assertIn('namespace ns9 is not on this host; ndctl list -X '
                      'shows: ns0, ns1, ns2, ns3, ns4',
                      exc.format_message())

    def test_fsdax_namespace_is_not_usable(self):
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                self._ndctl_host, ['X:scratch'])
        self.assertIn('scratch is not on this host', exc.format_message())

    def test_mixed_sizes_refused(self):
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                self._ndctl_host, ['4G:ns0', 'MIX:ns1|ns2'])
        self.assertEqual('MIX:ns1|ns2', exc.kwargs['entry'])
        message = exc.format_message()
        self.assertIn('ns1=%d' % SIZE_4G, message)
        self.assertIn('ns2=%d' % SIZE_32G, message)
        self.assertIn('pmem_allow_mixed_sizes', message)

    def test_mixed_alignments_refused(self):
        # ns0 and ns1 are both 4 GiB; only ns1's dax region is aligned
        # differently. A label promises one shape, not only one size.
        records = jsonutils.loads(NDCTL_LIST_X)
        [ns1] = [r for r in records if r.get('name') == 'ns1']
        ns1['daxregion']['align'] = 1073741824
        self.list_namespaces.return_value = jsonutils.dumps(records)
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                self._ndctl_host, ['4G:ns0|ns1'])
        self.assertEqual('4G:ns0|ns1', exc.kwargs['entry'])
        message = exc.format_message()
        self.assertIn("entry '4G:ns0|ns1'", message)
        self.assertIn('differ in size or alignment', message)
        self.assertIn('ns0=%d bytes/align %d' % (SIZE_4G, ALIGN_2M), message)
        self.assertIn('ns1=%d bytes/align %d' % (SIZE_4G, 1073741824),
                      message)
        self.assertIn('pmem_allow_mixed_sizes', message)

    def test_mixed_sizes_allowed(self):
        host = self._ndctl_host(['MIX:ns1|ns2'], pmem_allow_mixed_sizes=True)
        self.assertEqual([SIZE_4G, SIZE_32G],
                         [d.size for d in host.by_label['MIX']])

    def test_ndctl_failure(self):
        self.list_namespaces.side_effect = (
            processutils.ProcessExecutionError(stderr='no bus', exit_code=1))
        exc = self.assertRaises(exception.GetPMEMNamespacesFailed,
                                self._ndctl_host, ['4G:ns0'])
        self.assertIn('no bus', exc.format_message())

    def test_unusable_namespace_names_the_entry(self):
        os.makedirs(os.path.join(self.pmem_dir, 'ns1'))
        exc = self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                                self._file_host, ['A:ns2', 'SMALL:ns0|ns1'])
        self.assertEqual('SMALL:ns0|ns1', exc.kwargs['entry'])
        self.assertIn('not a regular file', exc.format_message())

    def test_invalid_config_refused_before_discovery(self):
        self.assertRaises(exception.PMEMNamespaceConfigInvalid,
                          self._ndctl_host, ['4G:ns0|ns0'])
        self.list_namespaces.assert_not_called()

    def test_options_captured_at_construction(self):
        conf_a = _make_conf(pmem_namespaces=['A:ns0'], pmem_backend='file',
                            pmem_file_size_mb=4,
                            pmem_file_dir=os.path.join(self.tmp, 'a'))
        conf_b = _make_conf(pmem_namespaces=['B:ns0|ns1'],
                            pmem_backend='file', pmem_file_size_mb=4,
                            pmem_file_dir=os.path.join(self.tmp, 'b'))
        host_a = vpmem.HostNamespaces.from_conf(conf_a)
        host_b = vpmem.HostNamespaces.from_conf(conf_b)
        conf_a.set_override('pmem_file_dir', os.path.join(self.tmp, 'c'),
                            group='libvirt')
        conf_a.set_override('pmem_verify_erase', False, group='compute')
        self.assertEqual(['A'], host_a.labels)
        self.assertEqual(['B'], host_b.labels)
        self.assertEqual(os.path.join(self.tmp, 'a', 'ns0'),
                         host_a.by_name['ns0'].devpath)
        self.assertEqual(os.path.join(self.tmp, 'b', 'ns0'),
                         host_b.by_name['ns0'].devpath)
        erased = host_a.erase([host_a.by_name['ns0']])
        self.assertEqual([os.path.join(self.tmp, 'a', 'ns0')],
                         [d.devpath for d in erased])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, 'c')))
        # Verification stays on, as configured when host_a was built.
        with mock.patch.object(vpmem_backends, 'zero_file'):
            self._fill(host_a.by_name['ns0'].devpath)
            self.assertRaises(exception.VPMEMEraseIncomplete,
                              host_a.erase, [host_a.by_name['ns0']])

    def _fill(self, path, data=b'tenant data'):
        with open(path, 'r+b') as f:
            f.write(data)

    def test_erase_returns_local_devices(self):
        host = self._file_host(['SMALL:ns0|ns1'])
        for device in host.by_name.values():
            self._fill(device.devpath)
        erased = host.erase([host.by_name['ns1'], 'ns0'])
        self.assertEqual(['ns1', 'ns0'], [d.name for d in erased])
        self.assertEqual(['SMALL', 'SMALL'], [d.label for d in erased])
        for device in erased:
            self.assertEqual((8 * MiB, None), _nonzero_at(device.devpath))

    def test_erase_refuses_device_of_another_host(self):
        host = self._file_host(['SMALL:ns0|ns1'])
        local = host.by_name['ns0']
        self._fill(local.devpath)
        # Same name, other host's path: a record from the wrong side.
        foreign = objects.LibvirtVPMEMDevice(
            label='SMALL', name='ns0', size=local.size, align=local.align,
            devpath='/var/lib/nova/other-host/pmem/ns0')
        exc = self.assertRaises(exception.VPMEMEraseIncomplete, host.erase,
                                [foreign, 'ns7'])
        self.assertEqual([], exc.erased)
        self.assertEqual(2, len(exc.failed))
        for _device, error in exc.failed:
            self.assertIsInstance(error, exception.PMEMNamespaceNotOnHost)
        self.assertIn('/var/lib/nova/other-host/pmem/ns0',
                      str(exc.failed[0][1]))
        self.assertEqual(b'tenant data', _read(local.devpath)[:11])

    def test_erase_tries_all_and_reports_which_were_erased(self):
        host = self._file_host(['SMALL:ns0|ns1|ns2'])
        devices = host.by_label['SMALL']
        for device in devices:
            self._fill(device.devpath)
        os.unlink(devices[1].devpath)
        exc = self.assertRaises(exception.VPMEMEraseIncomplete, host.erase,
                                devices)
        self.assertEqual(['ns0', 'ns2'], [d.name for d in exc.erased])
        self.assertEqual(['ns1'], [d.name for d, _e in exc.failed])
        self.assertIsInstance(exc.failed[0][1], exception.VPMEMCleanupFailed)
        self.assertIn('Erased: ns0, ns2', exc.format_message())
        self.assertEqual((8 * MiB, None), _nonzero_at(devices[0].devpath))
        self.assertEqual((8 * MiB, None), _nonzero_at(devices[2].devpath))

    def test_erase_that_leaves_data_is_caught(self):
        host = self._file_host(['SMALL:ns0|ns1'])
        leaky, good = host.by_label['SMALL']
        self._fill(leaky.devpath)
        self._fill(good.devpath)
        real_zero_file = vpmem_backends.zero_file

        def zero_all_but_ns0(path, **kwargs):
            # A broken erase tool: reports success, leaves data behind.
            if path != leaky.devpath:
                return real_zero_file(path, **kwargs)

        with mock.patch.object(vpmem_backends, 'zero_file',
                               side_effect=zero_all_but_ns0):
            exc = self.assertRaises(exception.VPMEMEraseIncomplete,
                                    host.erase, [leaky, good])
        self.assertEqual(['ns1'], [d.name for d in exc.erased])
        [(device, error)] = exc.failed
        self.assertEqual('ns0', device.name)
        self.assertIsInstance(error, exception.VPMEMEraseVerifyFailed)
        self.assertIn('offset 0', error.format_message())

    def test_deprecated_verify_off_still_checks_a_sample(self):
        # Only a verified erase frees a namespace: the old switch now
        # selects the sampled check, which always reads the first block.
        host = self._file_host(['SMALL:ns0'], pmem_verify_erase=False)
        device = host.by_name['ns0']
        self._fill(device.devpath)
        with mock.patch.object(vpmem_backends, 'zero_file') as zero:
            exc = self.assertRaises(exception.VPMEMEraseIncomplete,
                                    host.erase, [device])
        zero.assert_called_once_with(device.devpath, keep_allocated=True)
        self.assertIn('offset 0', str(exc))

    def test_sampled_check_reads_the_last_block_too(self):
        host = self._file_host(['SMALL:ns0'], pmem_erase_verify='sample')
        device = host.by_name['ns0']
        with open(device.devpath, 'r+b') as f:
            f.seek(device.size - 1)
            f.write(b'!')
        with mock.patch.object(vpmem_backends, 'zero_file'):
            exc = self.assertRaises(exception.VPMEMEraseIncomplete,
                                    host.erase, [device])
        self.assertIn('offset %d' % (device.size - 1), str(exc))

    def test_full_check_finds_data_anywhere(self):
        host = self._file_host(['SMALL:ns0'])
        device = host.by_name['ns0']
        with open(device.devpath, 'r+b') as f:
            f.seek(device.size // 2 + 12345)
            f.write(b'!')
        with mock.patch.object(vpmem_backends, 'zero_file'):
            exc = self.assertRaises(exception.VPMEMEraseIncomplete,
                                    host.erase, [device])
        self.assertIn('offset %d' % (device.size // 2 + 12345), str(exc))

    def test_unknown_verify_mode_is_refused(self):
        self.assertRaises(exception.InvalidConfiguration,
                          vpmem.HostNamespaces, [], mock.Mock(),
                          erase_verify='never')

    def test_ndctl_erase_goes_through_daxio_and_read_back(self):
        host = self._ndctl_host(['4G:ns0|ns1'])
        with mock.patch.object(privsep_pmem, 'zero_devdax') as zero, \
                mock.patch.object(privsep_pmem, 'devdax_first_nonzero',
                                  return_value=None) as scan:
            erased = host.erase([host.by_name['ns1']])
        self.assertEqual(['ns1'], [d.name for d in erased])
        zero.assert_called_once_with('/dev/dax0.2')
        scan.assert_called_once_with('/dev/dax0.2', SIZE_4G, None)

    def test_from_global_conf_with_default_file_dir(self):
        # The default directory lives under [DEFAULT]state_path.
        self.flags(group='libvirt', pmem_namespaces=['SMALL:ns0'],
                   pmem_backend='file', pmem_file_size_mb=4)
        host = vpmem.HostNamespaces.from_conf(self.conf)
        expected = os.path.join(self.conf.state_path, 'pmem', 'ns0')
        self.assertEqual(expected, host.by_name['ns0'].devpath)
        self.assertEqual(4 * MiB, os.stat(expected).st_size)
