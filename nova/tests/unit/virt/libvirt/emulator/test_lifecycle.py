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

"""Connections, hosts and the domain lifecycle."""

import os
import xml.etree.ElementTree as ET

from nova.tests.unit.virt.libvirt.emulator import base
from nova.virt.libvirt import emulator as libvirt


class ConnectionTest(base.EmulatorTestCase):

    def test_versions_and_host_facts(self):
        conn = libvirt.open('emulated://node-1')
        self.assertEqual(9000000, libvirt.getVersion())
        self.assertEqual(9000000, conn.getLibVersion())
        self.assertEqual(7002000, conn.getVersion())
        self.assertEqual('QEMU', conn.getType())
        self.assertEqual('node-1', conn.getHostname())
        info = conn.getInfo()
        self.assertEqual('x86_64', info[0])
        self.assertEqual(8, len(info))
        self.assertEqual(info[2], info[5] * info[6] * info[7])
        self.assertEqual(1, conn.isAlive())

    def test_capabilities(self):
        caps = ET.fromstring(
            libvirt.open('emulated://node-1').getCapabilities())
        host_uuid = caps.findtext('./host/uuid')
        self.assertEqual('x86_64', caps.findtext('./host/cpu/arch'))
        self.assertIsNotNone(caps.find('./host/cpu/topology'))
        guest = caps.find('./guest')
        self.assertEqual('hvm', guest.findtext('os_type'))
        self.assertEqual('x86_64', guest.find('arch').get('name'))
        self.assertEqual(['qemu', 'kvm'], [
            d.get('type') for d in guest.findall('./arch/domain')])
        # Stable per host name, different between hosts.
        libvirt.reset()
        again = ET.fromstring(
            libvirt.open('emulated://node-1').getCapabilities())
        self.assertEqual(host_uuid, again.findtext('./host/uuid'))
        other = ET.fromstring(
            libvirt.open('emulated://node-2').getCapabilities())
        self.assertNotEqual(host_uuid, other.findtext('./host/uuid'))

    def test_connections_share_a_host(self):
        first = libvirt.open('emulated://shared')
        second = libvirt.open('emulated://shared/')
        dom_uuid = self.new_uuid()
        first.defineXML(base.guest_xml('g', dom_uuid))
        self.assertEqual('g', second.lookupByUUIDString(dom_uuid).name())
        self.assertIs(libvirt.get_host('shared'), libvirt.find_host('shared'))

    def test_uri_forms(self):
        self.assertEqual(('Host-A', None),
                         libvirt.parse_uri('emulated://Host-A'))
        self.assertEqual(('h', '/x/y'),
                         libvirt.parse_uri('emulated://h/?state_dir=/x/y'))
        self.assertLibvirtError(libvirt.VIR_ERR_NO_CONNECT,
                                'no connection driver available for '
                                'qemu:///system',
                                libvirt.open, 'qemu:///system')
        self.assertEqual(libvirt.parse_uri('emulated:///')[0],
                         libvirt.open('emulated:///').getHostname())

    def test_closed_connection(self):
        conn = libvirt.open('emulated://h')
        conn.close()
        self.assertEqual(0, conn.isAlive())
        self.assertLibvirtError(libvirt.VIR_ERR_INVALID_CONN, None,
                                conn.getVersion)

    def test_error_fields(self):
        conn = libvirt.open('emulated://h')
        missing = self.new_uuid()
        exc = self.assertLibvirtError(
            libvirt.VIR_ERR_NO_DOMAIN,
            "Domain not found: no domain with matching uuid '%s'" % missing,
            conn.lookupByUUIDString, missing)
        self.assertEqual(libvirt.VIR_FROM_QEMU, exc.get_error_domain())
        self.assertEqual(libvirt.VIR_ERR_ERROR, exc.get_error_level())
        self.assertEqual(str(exc), exc.get_error_message())
        self.assertLibvirtError(
            libvirt.VIR_ERR_NO_DOMAIN,
            "Domain not found: no domain with matching name 'nope'",
            conn.lookupByName, 'nope')
        # Hand-built, as libvirt-python allows.
        made = libvirt.libvirtError('boom')
        self.assertEqual('boom', str(made))


class LifecycleTest(base.EmulatorTestCase):

    def setUp(self):
        super().setUp()
        self.conn = libvirt.open('emulated://life')
        self.uuid = self.new_uuid()
        self.nv_path = self.make_file('nv.img', 4 * base.MiB)
        self.xml = base.guest_xml('g', self.uuid,
                                  nvdimms=[(self.nv_path, 4096)])

    def test_define_start_destroy_undefine(self):
        dom = self.conn.defineXML(self.xml)
        self.assertEqual('g', dom.name())
        self.assertEqual(self.uuid, dom.UUIDString())
        self.assertEqual(-1, dom.ID())
        self.assertEqual((0, 1), (dom.isActive(), dom.isPersistent()))
        self.assertEqual([libvirt.VIR_DOMAIN_SHUTOFF,
                          libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN], dom.state())
        self.assertEqual(['g'], self.conn.listDefinedDomains())

        dom.createWithFlags(0)
        self.assertEqual(1, dom.isActive())
        self.assertGreater(dom.ID(), 0)
        self.assertEqual([dom.ID()], self.conn.listDomainsID())
        self.assertEqual(1, self.conn.numOfDomains())
        self.assertEqual(dom.ID(), self.conn.lookupByID(dom.ID()).ID())
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'domain is already running', dom.create)

        dom.suspend()
        self.assertEqual([libvirt.VIR_DOMAIN_PAUSED,
                          libvirt.VIR_DOMAIN_PAUSED_USER], dom.state())
        dom.resume()
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_UNPAUSED], dom.state())

        dom.destroy()
        self.assertEqual([libvirt.VIR_DOMAIN_SHUTOFF,
                          libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED], dom.state())
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'domain is not running', dom.destroy)
        dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                          libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        self.assertLibvirtError(libvirt.VIR_ERR_NO_DOMAIN, self.uuid,
                                dom.info)
        self.assertEqual([], self.conn.listAllDomains())

    def test_undefine_running_guest_makes_it_transient(self):
        dom = self.conn.defineXML(self.xml)
        dom.create()
        dom.undefine()
        self.assertEqual((1, 0), (dom.isActive(), dom.isPersistent()))
        dom.destroy()
        self.assertEqual([], self.conn.listAllDomains())

    def test_create_xml_is_transient(self):
        dom = self.conn.createXML(self.xml, 0)
        self.assertEqual((1, 0), (dom.isActive(), dom.isPersistent()))
        dom.destroy()
        self.assertLibvirtError(libvirt.VIR_ERR_NO_DOMAIN, None, dom.state)

    def test_start_paused(self):
        dom = self.conn.defineXML(self.xml)
        dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
        self.assertEqual(libvirt.VIR_DOMAIN_PAUSED, dom.state()[0])

    def test_redefine_while_running_changes_the_next_boot_only(self):
        dom = self.conn.defineXML(self.xml)
        dom.create()
        self.conn.defineXML(self.xml.replace('<vcpu>1</vcpu>',
                                             '<vcpu>2</vcpu>'))
        self.assertEqual(1, dom.info()[3])
        inactive = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.assertEqual('2', inactive.findtext('vcpu'))
        dom.destroy()
        self.assertEqual(2, dom.info()[3])

    def test_name_and_uuid_clashes(self):
        self.conn.defineXML(self.xml)
        self.assertLibvirtError(
            libvirt.VIR_ERR_OPERATION_FAILED,
            "domain 'g' already exists with uuid %s" % self.uuid,
            self.conn.defineXML, base.guest_xml('g', self.new_uuid()))
        self.assertLibvirtError(
            libvirt.VIR_ERR_OPERATION_FAILED,
            "domain 'g' is already defined with uuid %s" % self.uuid,
            self.conn.defineXML, base.guest_xml('h', self.uuid))

    def test_list_all_domains_filters(self):
        running = self.conn.defineXML(self.xml)
        running.create()
        self.conn.defineXML(base.guest_xml('off', self.new_uuid()))

        def names(flags):
            return [d.name() for d in self.conn.listAllDomains(flags)]

        self.assertEqual(['g', 'off'], names(0))
        self.assertEqual(['g'], names(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
        self.assertEqual(['off'],
                         names(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE))
        self.assertEqual(['g'],
                         names(libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING))
        self.assertEqual([], names(libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED))
        self.assertEqual([], names(libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT))

    def test_free_memory_drops_while_guest_runs(self):
        dom = self.conn.defineXML(self.xml)
        before = self.conn.getFreeMemory()
        dom.create()
        self.assertEqual(before - 20 * base.MiB, self.conn.getFreeMemory())

    def test_idle_job_stats(self):
        dom = self.conn.defineXML(self.xml)
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'domain is not running', dom.jobStats)
        self.assertEqual({'type': libvirt.VIR_DOMAIN_JOB_NONE},
                         dom.jobStats(
                             libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED))
        dom.create()
        self.assertEqual({'type': libvirt.VIR_DOMAIN_JOB_NONE},
                         dom.jobStats())
        self.assertEqual([0] * 12, dom.jobInfo())
        self.assertLibvirtError(libvirt.VIR_ERR_OPERATION_INVALID,
                                'no job is active on the domain',
                                dom.abortJob)
        self.assertEqual(300, dom.migrateGetMaxDowntime())
        self.assertEqual(8796093022207, dom.migrateGetMaxSpeed())
        dom.migrateSetMaxSpeed(100)
        self.assertEqual(100, dom.migrateGetMaxSpeed())


class PersistenceTest(base.EmulatorTestCase):

    def test_domains_survive_a_restart_with_state_dir(self):
        state_dir = self.path('state')
        uri = 'emulated://keeper/?state_dir=%s' % state_dir
        conn = libvirt.open(uri)
        nv_path = self.make_file('nv.img', 4 * base.MiB)
        running_uuid, off_uuid = self.new_uuid(), self.new_uuid()
        running = conn.defineXML(base.guest_xml(
            'running', running_uuid, nvdimms=[(nv_path, 4096)]))
        running.create()
        running_xml = running.XMLDesc(0)
        conn.defineXML(base.guest_xml('off', off_uuid))
        self.assertEqual(
            2, len(os.listdir(os.path.join(state_dir, 'keeper'))))

        libvirt.reset()                       # the process "restarts"
        self.assertEqual([], libvirt.all_hosts())
        conn = libvirt.open(uri)
        again = conn.lookupByUUIDString(running_uuid)
        self.assertEqual([libvirt.VIR_DOMAIN_RUNNING,
                          libvirt.VIR_DOMAIN_RUNNING_BOOTED], again.state())
        self.assertEqual(running_xml, again.XMLDesc(0))
        self.assertEqual(0, conn.lookupByName('off').isActive())

        conn.lookupByName('off').undefine()
        again.destroy()
        libvirt.reset()
        conn = libvirt.open(uri)
        self.assertEqual(['running'], [d.name()
                                       for d in conn.listAllDomains()])
        self.assertEqual(0, conn.lookupByName('running').isActive())

    def test_without_state_dir_nothing_survives(self):
        conn = libvirt.open('emulated://forgetful')
        conn.defineXML(base.guest_xml('g', self.new_uuid()))
        libvirt.reset()
        self.assertEqual(
            [], libvirt.open('emulated://forgetful').listAllDomains())

    def test_conflicting_state_dir_is_refused(self):
        libvirt.open('emulated://h?state_dir=%s' % self.path('one'))
        self.assertLibvirtError(
            libvirt.VIR_ERR_OPERATION_INVALID, 'already open with state_dir',
            libvirt.open, 'emulated://h?state_dir=%s' % self.path('two'))
