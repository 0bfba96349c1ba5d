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

"""Migration between two emulated hosts: outcomes and refusals."""

import os
import xml.etree.ElementTree as ET

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt import emulator as libvirt

NV_KIB = 4096


class MigrationTestBase(base.EmulatorTestCase):
    """A running guest with two nvdimms on src, empty files on dst."""

    def setUp(self):
        super().setUp()
        self.src = libvirt.open('emulated://src')
        self.dst = libvirt.open('emulated://dst')
        self.uuid = self.new_uuid()
        self.src_paths = [self.make_file('src%d.img' % i, 4 * base.MiB,
                                         random=True) for i in range(2)]
        # Garbage, not zeros, so arrived data cannot be faked by a hole.
        self.dst_paths = [self.make_file('dst%d.img' % i, 4 * base.MiB,
                                         fill=b'\xa5') for i in range(2)]
        self.dom = self.src.defineXML(self.xml(self.src_paths))
        self.dom.createWithFlags(0)

    def xml(self, paths, **kwargs):
        return base.guest_xml('g', self.uuid,
                              nvdimms=[(p, NV_KIB) for p in paths], **kwargs)

    def dest_xml(self, **kwargs):
        """Nova's way: the migratable XML with the nvdimm paths replaced."""
        root = ET.fromstring(
            self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE))
        nvdimms = root.findall("./devices/memory[@model='nvdimm']")
        for elem, path in zip(nvdimms, self.dst_paths, strict=True):
            elem.find('./source/path').text = path
        return ET.tostring(root, encoding='unicode')

    def params(self, **extra):
        params = {libvirt.VIR_MIGRATE_PARAM_DEST_XML: self.dest_xml(),
                  libvirt.VIR_MIGRATE_PARAM_PERSIST_XML: self.dest_xml()}
        params.update(extra)
        return params

    def assertSourceKeptGuest(self, checksums):
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING], self.dom.state()[:1])
        self.assertEqual(checksums, [base.sha256(p) for p in self.src_paths])
        self.assertEqual([], self.dst.listAllDomains())
        self.assertLibvirtError(libvirt.VIR_ERR_NO_DOMAIN, None,
                                self.dst.lookupByUUIDString, self.uuid)


class MigrationSuccessTest(MigrationTestBase):

    def test_nvdimm_bytes_arrive_and_guest_moves(self):
        checksums = [base.sha256(p) for p in self.src_paths]
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
        self.assertEqual(checksums, [base.sha256(p) for p in self.dst_paths])
        self.assertEqual(checksums, [base.sha256(p) for p in self.src_paths])
        ddom = self.dst.lookupByUUIDString(self.uuid)
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_MIGRATED], ddom.state())
        self.assertEqual(1, ddom.isPersistent())
        live = ET.fromstring(ddom.XMLDesc(0))
        self.assertEqual(self.dst_paths, [
            e.text for e in live.findall('./devices/memory/source/path')])
        # UNDEFINE_SOURCE: the source handle is now stale.
        self.assertLibvirtError(libvirt.VIR_ERR_NO_DOMAIN, self.uuid,
                                self.dom.state)
        self.assertEqual([], self.src.listAllDomains())

        stats = ddom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_COMPLETED, stats['type'])
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN,
                         stats['operation'])
        self.assertEqual(24 * base.MiB, stats['data_total'])
        self.assertGreaterEqual(stats['data_processed'], 24 * base.MiB)
        self.assertEqual(0, stats['data_remaining'])
        for key in ('time_elapsed', 'downtime', 'setup_time', 'memory_bps',
                    'memory_iteration'):
            self.assertGreater(stats[key], 0, key)
        # Read once, as libvirt drops completed stats unless kept.
        self.assertEqual({'type': libvirt.VIR_DOMAIN_JOB_NONE},
                         ddom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED))

    def test_holes_in_the_source_arrive_as_zeros(self):
        # A sparse source region must not leave the destination's garbage.
        with open(self.src_paths[0], 'r+b') as f:
            f.truncate(0)
            f.truncate(4 * base.MiB)
            f.seek(base.MiB)
            f.write(os.urandom(64 * 1024))
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
        self.assertEqual(base.sha256(self.src_paths[0]),
                         base.sha256(self.dst_paths[0]))

    def test_without_persist_and_undefine(self):
        self.dom.migrateToURI3('emulated://dst', {
            libvirt.VIR_MIGRATE_PARAM_DEST_XML: self.dest_xml()},
            base.LIVE_P2P)
        ddom = self.dst.lookupByUUIDString(self.uuid)
        self.assertEqual((1, 0), (ddom.isActive(), ddom.isPersistent()))
        self.assertEqual([libvirt.VIR_DOMAIN_SHUTOFF,
                          libvirt.VIR_DOMAIN_SHUTOFF_MIGRATED],
                         self.dom.state())
        self.assertEqual(1, self.dom.isPersistent())
        stats = self.dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
        self.assertEqual(libvirt.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT,
                         stats['operation'])
        # The guest runs there now, so its files may not start here.
        self.assertLibvirtError(libvirt.VIR_ERR_INTERNAL_ERROR, None,
                                self.dst.defineXML(base.guest_xml(
                                    'other', self.new_uuid(), nvdimms=[
                                        (self.dst_paths[0], NV_KIB)])).create)

    def test_paused_flag_and_paused_guest_stay_paused(self):
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS | libvirt.VIR_MIGRATE_PAUSED)
        ddom = self.dst.lookupByUUIDString(self.uuid)
        self.assertEqual(libvirt.VIR_DOMAIN_PAUSED, ddom.state()[0])
        # and back, with a guest paused before the migration started
        self.dst_paths, self.src_paths = self.src_paths, self.dst_paths
        self.dom = ddom
        self.dom.migrateToURI3('emulated://src', self.params(),
                               base.NOVA_FLAGS)
        back = self.src.lookupByUUIDString(self.uuid)
        self.assertEqual(libvirt.VIR_DOMAIN_PAUSED, back.state()[0])
        back.resume()
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, back.state()[0])

    def test_no_destination_xml_keeps_the_paths(self):
        # Shared storage style: the same path on both hosts is accepted
        # once the guest has left the source.
        self.dom.migrateToURI3('emulated://dst', {}, base.NOVA_FLAGS)
        ddom = self.dst.lookupByUUIDString(self.uuid)
        live = ET.fromstring(ddom.XMLDesc(0))
        self.assertEqual(self.src_paths, [
            e.text for e in live.findall('./devices/memory/source/path')])

    def test_inactive_persistent_copy_on_destination_is_taken_over(self):
        self.dst.defineXML(self.dest_xml())
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
        self.assertEqual(1, self.dst.lookupByName('g').isActive())


class MigrationRefusedTest(MigrationTestBase):
    """Refusals leave the source running and the destination empty."""

    def setUp(self):
        super().setUp()
        self.checksums = [base.sha256(p) for p in self.src_paths]

    def refused(self, code, message, params, flags=base.NOVA_FLAGS,
                uri='emulated://dst'):
        exc = self.assertLibvirtError(code, message, self.dom.migrateToURI3,
                                      uri, params, flags)
        self.assertSourceKeptGuest(self.checksums)
        self.assertEqual({'type': libvirt.VIR_DOMAIN_JOB_NONE},
                         self.dom.jobStats())
        return exc

    def test_needs_peer2peer(self):
        self.refused(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                     'argument unsupported: direct migration is not '
                     'supported by the source host', self.params(),
                     flags=libvirt.VIR_MIGRATE_LIVE)

    def test_needs_live_for_a_running_guest(self):
        self.refused(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                     'VIR_MIGRATE_LIVE', self.params(),
                     flags=libvirt.VIR_MIGRATE_PEER2PEER)

    def test_parallel_connections_cannot_be_tunnelled(self):
        self.refused(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                     'parallel connections is not supported with tunnelled',
                     self.params(), flags=base.NOVA_FLAGS |
                     libvirt.VIR_MIGRATE_TUNNELLED |
                     libvirt.VIR_MIGRATE_PARALLEL)

    def test_unknown_parameter(self):
        self.refused(libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
                     "parameter 'colour' not supported",
                     self.params(colour='blue'))

    def test_unknown_destination(self):
        self.refused(libvirt.VIR_ERR_OPERATION_FAILED,
                     'Failed to connect to remote libvirt URI '
                     'emulated://nowhere: unable to connect',
                     self.params(), uri='emulated://nowhere')
        # Why, for a nova-compute whose peer runs in another process.
        self.refused(libvirt.VIR_ERR_OPERATION_FAILED,
                     "unable to connect to server at 'nowhere': no emulated "
                     "host of that name in this process (emulated hosts "
                     "migrate only between hosts of one process",
                     self.params(), uri='emulated://nowhere')
        self.refused(libvirt.VIR_ERR_OPERATION_FAILED,
                     'no connection driver available',
                     self.params(), uri='qemu+tcp://dst/system')

    def test_same_host(self):
        self.refused(libvirt.VIR_ERR_INTERNAL_ERROR,
                     'Attempt to migrate guest to the same host',
                     self.params(), uri='emulated://src')

    def test_different_max_memory(self):
        xml = self.xml(self.dst_paths, memory_kib=28672,
                       max_memory_kib=24576 + 4 * 1024 * 1024)
        self.refused(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                     'unsupported configuration: Target domain max memory '
                     '28672 does not match source 24576',
                     {libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml})

    def test_different_nvdimm_size(self):
        xml = base.guest_xml('g', self.uuid, nvdimms=[
            (self.dst_paths[0], 2048), (self.dst_paths[1], 6144)])
        self.refused(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                     "Target memory device size '2048' doesn't match",
                     {libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml})

    def test_different_alignment(self):
        xml = self.xml(self.dst_paths, align_kib=4)
        self.refused(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                     "Target memory device alignment '4' doesn't match "
                     "source memory device alignment '2048'",
                     {libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml})

    def test_different_uuid(self):
        xml = self.dest_xml().replace(self.uuid, self.new_uuid())
        self.refused(libvirt.VIR_ERR_CONFIG_UNSUPPORTED,
                     'Target domain uuid', {
                         libvirt.VIR_MIGRATE_PARAM_DEST_XML: xml})

    def test_missing_destination_file(self):
        os.unlink(self.dst_paths[1])
        self.refused(libvirt.VIR_ERR_INTERNAL_ERROR,
                     "could not open '%s': No such file or directory"
                     % self.dst_paths[1], self.params())

    def test_small_destination_file(self):
        os.truncate(self.dst_paths[0], 2 * base.MiB)
        self.refused(libvirt.VIR_ERR_INTERNAL_ERROR,
                     'backing store size 0x200000', self.params())

    def test_destination_file_used_by_a_running_guest(self):
        other = self.dst.defineXML(base.guest_xml(
            'busy', self.new_uuid(), nvdimms=[(self.dst_paths[0], NV_KIB)]))
        other.create()
        exc = self.assertLibvirtError(
            libvirt.VIR_ERR_INTERNAL_ERROR, "in use by domain 'busy'",
            self.dom.migrateToURI3, 'emulated://dst', self.params(),
            base.NOVA_FLAGS)
        self.assertIn('Device or resource busy', str(exc))
        self.assertEqual(['busy'], [d.name()
                                    for d in self.dst.listAllDomains()])
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING, self.dom.state()[0])

    def test_name_taken_on_destination(self):
        taken = self.new_uuid()
        self.dst.defineXML(base.guest_xml('g', taken))
        exc = self.assertLibvirtError(
            libvirt.VIR_ERR_OPERATION_FAILED,
            "operation failed: domain 'g' already exists with uuid %s"
            % taken, self.dom.migrateToURI3, 'emulated://dst',
            self.params(), base.NOVA_FLAGS)
        self.assertEqual(self.dst.lookupByName('g').UUIDString(), taken)
        self.assertIsNotNone(exc)

    def test_destination_refuses_incoming(self):
        libvirt.get_host('dst').refuse_incoming()
        self.refused(libvirt.VIR_ERR_OPERATION_FAILED,
                     'operation failed: incoming migration failed',
                     self.params())
        # once only
        self.dom.migrateToURI3('emulated://dst', self.params(),
                               base.NOVA_FLAGS)
