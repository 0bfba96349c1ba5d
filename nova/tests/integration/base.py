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

"""Base class of the integration tier: real libvirt + QEMU hosts.

Each test starts two libvirt hosts on this machine
(:mod:`nova.virt.libvirt.local_hosts`: session-mode libvirtd processes
with their own host UUIDs, sockets and migration ports) and two
nova-compute services whose ``[libvirt]connection_uri`` points at them,
with file-backed namespaces in each host's directory. Placement, the
database, the conductor and the REST API are the functional tier's real
ones; nothing is mocked. Guests run the stamp guest
(:mod:`nova.virt.libvirt.devguest`) under TCG, which keeps writing into
its NVDIMMs so a lost or torn write shows in the namespace files.

A machine without libvirt or QEMU fails every test with what to install:
``tox -e integration`` installs them first (tools/integration/run.sh).
"""

import json
import os
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from nova.api import wsgi
from nova.compute import vm_states
from nova import objects
from nova import service
from nova.tests.functional import base
from nova.virt.libvirt import devguest
from nova.virt.libvirt import domain_xml
from nova.virt.libvirt import local_hosts

IMAGE_NAME = 'vpmem-stamp'
IMAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, 'nova-vpmem-stamp-guest'))
# QEMU's capability cache, shared by every test of a run (and later runs).
CAPS_CACHE = os.path.join(tempfile.gettempdir(),
                          'nova-integration-qemu-capabilities')
ADMIN_TOKEN = 'admin'


class IntegrationTestBase(base.VPMEMTestBase):

    COMPUTES = {
        'host-a': ['SMALL:ns0|ns1'],
        'host-b': ['SMALL:ns0|ns1'],
    }
    NAMESPACE_MIB = 16
    FLAVOR_MEMORY_MB = 32
    TIMEOUT = 120
    # [libvirt] options of every compute, on top of its host's own.
    LIBVIRT_FLAGS = {}
    # The stamp guest's pace (data pages a second); None: as fast as the
    # emulated CPU goes.
    IMAGE_PAGES_PER_SECOND = None
    API_VERSION = '2.30'

    def setUp(self):
        missing = local_hosts.missing_requirements()
        if missing:
            # Not a skip: the tier is meant to run here.
            self.fail('the integration tier needs %s; install with: %s'
                      % (', '.join(missing), local_hosts.INSTALL_HINT))
        self.local_hosts = None
        super().setUp()
        self.flags(auth_strategy='noauth2', group='api')
        self.kernel = local_hosts.build_guest(
            os.path.join(self.pmem_root, 'guest'))
        images = os.path.join(self.pmem_root, 'images.json')
        properties = {'kernel': self.kernel}
        if self.IMAGE_PAGES_PER_SECOND:
            properties['cmdline'] = devguest.command_line(
                self.IMAGE_PAGES_PER_SECOND)
        with open(images, 'w') as f:
            json.dump([{'id': IMAGE_ID, 'name': IMAGE_NAME,
                        'properties': properties}], f)
        self.flags(images_file=images, group='api')
        self.api_server = service.WSGIService(
            'nova-api', wsgi.APIApplication(auth_strategy='noauth2'),
            '127.0.0.1', 0)
        self.api_server.start()
        self.addCleanup(self.api_server.kill)
        self.endpoint = 'http://127.0.0.1:%s/v2.1' % self.api_server.port
        self.flavor = self.create_flavor(pmem='SMALL,SMALL',
                                         memory_mb=self.FLAVOR_MEMORY_MB)

    # -- hosts and services ---------------------------------------------------

    def _start_local_hosts(self):
        hosts = local_hosts.start_hosts(
            os.path.join(self.pmem_root, 'hosts'), list(self.COMPUTES),
            caps_cache=CAPS_CACHE)
        # Registered before any compute starts, so it runs after they
        # stopped: each daemon and its QEMU processes, by PID.
        self.addCleanup(local_hosts.stop_hosts, hosts)
        self.local_hosts = {host.name: host for host in hosts}

    def _compute_flags(self, host, namespaces):
        if self.local_hosts is None:
            self._start_local_hosts()
        for (group, name), value in self.local_hosts[
                host].conf_overrides().items():
            self.flags(group=group, **{name: value})
        self.flags(pmem_namespaces=namespaces, group='libvirt',
                   **self.LIBVIRT_FLAGS)

    def namespace_path(self, host, name):
        return os.path.join(self.local_hosts[host].namespace_dir, name)

    def libvirt_conn(self, host):
        import libvirt
        conn = libvirt.open(self.local_hosts[host].uri)
        self.addCleanup(conn.close)
        return conn

    def domain_hosts(self, instance_uuid):
        """Hosts whose libvirt has a domain for the instance."""
        import libvirt
        found = []
        for host in self.local_hosts:
            try:
                self.libvirt_conn(host).lookupByUUIDString(instance_uuid)
            except libvirt.libvirtError:
                continue
            found.append(host)
        return found

    def domain_state(self, host, instance_uuid):
        domain = self.libvirt_conn(host).lookupByUUIDString(instance_uuid)
        return domain.state()[0]

    def guest_paths(self, host, instance_uuid):
        """The guest's NVDIMM backing files on ``host``, in device order."""
        domain = self.libvirt_conn(host).lookupByUUIDString(instance_uuid)
        return domain_xml.nvdimm_paths(domain.XMLDesc(0))

    # -- the REST API ------------------------------------------------------

    def rest(self, method, path, body=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.endpoint + path, data=data, method=method,
            headers={'X-Auth-Token': ADMIN_TOKEN,
                     'Content-Type': 'application/json',
                     'OpenStack-API-Version': 'compute ' + self.API_VERSION,
                     'X-OpenStack-Nova-API-Version': self.API_VERSION})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, text = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        if expect is not None:
            self.assertEqual(expect, status, '%s %s: %s' % (method, path,
                                                            text))
        return json.loads(text) if text else None

    def boot_stamp_guest(self, host, name='stamp'):
        """Boot the stamp guest on ``host`` through the API; its instance,
        once the guest has started stamping."""
        others = [h for h in self.computes if h != host]
        for other in others:
            self._set_disabled(other, True)
        try:
            server = self.rest('POST', '/servers', {'server': {
                'name': name, 'flavorRef': self.flavor.flavorid,
                'imageRef': IMAGE_NAME, 'networks': 'none'}},
                expect=202)['server']
            instance = self.wait_for_state(server['id'], vm_states.ACTIVE)
        finally:
            for other in others:
                self._set_disabled(other, False)
        self.assertEqual(host, instance.host)
        self.wait_for_pages(self.guest_paths(host, instance.uuid)[0], 20)
        return instance

    def _set_disabled(self, host, disabled):
        svc = objects.Service.get_by_compute_host(self.context, host)
        svc.disabled = disabled
        svc.save()

    def wait_for_pages(self, control_path, pages, timeout=60):
        """Wait until the guest wrote ``pages`` pages; its Control."""
        from nova.virt.libvirt import devguest
        deadline = time.monotonic() + timeout
        while True:
            control = devguest.read_control(control_path)
            if control is not None and control.written >= pages:
                return control
            if time.monotonic() > deadline:
                self.fail('the stamp guest wrote no %d pages into %s in %d '
                          's: %s' % (pages, control_path, timeout, control))
            time.sleep(0.2)

    def live_migrate(self, instance_uuid, host=None, force=None):
        args = {'host': host, 'block_migration': 'auto'}
        if force is not None:
            args['force'] = force
        self.rest('POST', '/servers/%s/action' % instance_uuid,
                  {'os-migrateLive': args}, expect=202)

    def migrations(self, instance_uuid):
        return self.rest('GET', '/os-migrations?instance_uuid=%s'
                         % instance_uuid, expect=200)['migrations']

    def wait_for_migration(self, instance_uuid, statuses, count=1):
        """Wait until the instance's ``count``-th migration is in one of
        ``statuses``; its API view."""
        deadline = time.monotonic() + self.TIMEOUT
        while True:
            found = sorted(self.migrations(instance_uuid),
                           key=lambda m: m['id'])
            if len(found) >= count and found[count - 1]['status'] in \
                    statuses:
                return found[count - 1]
            if time.monotonic() > deadline:
                self.fail('migration %d of %s is not %s: %s' % (
                    count, instance_uuid, statuses, found))
            time.sleep(0.2)

    # -- checks ---------------------------------------------------------------

    def assert_pattern(self, paths):
        """Stop the guest between two pages and check every page it wrote;
        then let it go on. Returns the final Control."""
        control = local_hosts.stop_guest_writes(paths[0])
        report = local_hosts.verify_pattern(paths)
        self.assertTrue(report.ok, str(report))
        self.assertGreater(report.pages_stamped, 0, str(report))
        local_hosts.resume_guest_writes(paths[0])
        return control

    def assert_zeros(self, host, names=('ns0', 'ns1')):
        for name in names:
            self.assertTrue(self.namespace_is_zero(host, name),
                            '%s of %s holds data' % (name, host))

    def assert_still_on_source(self, uuid, paths, source='host-a',
                               dest='host-b'):
        """A move that did not happen: the guest runs and writes on
        ``source`` with its data; ``dest`` has nothing, all erased."""
        import libvirt
        self.assertEqual([source], self.domain_hosts(uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         self.domain_state(source, uuid))
        control = self.assert_pattern(paths)
        self.wait_for_pages(paths[0], control.written + 5)
        self.assert_zeros(dest)
        for host in (source, dest):
            self.assert_host_consistent(host)
        self.assertEqual([], self.rt_assigned(dest))
        self.assertEqual(0, self.placement_usage(dest))
        self.assertEqual(2, self.placement_usage(source))
