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

"""``nova-aio serve``: the all-in-one cloud, kept running.

The API listens on 127.0.0.1 for the ``openstack`` CLI (``noauth2``: no
Keystone, any token is an administrator). Ctrl-C (or SIGTERM) stops the
services in order and leaves the state directory as the services left
it, so the next ``serve`` on it finds its servers and namespaces again.
"""

import dataclasses
import os
import threading
import time

from rich import markup as rich_markup
from rich import table as rich_table

from nova.aio import cloud as aio_cloud
from nova.aio import http
from nova.aio import real_hosts
from nova import service
from nova.virt.libvirt import emulator

FLAVOR = 'aio-pmem'


@dataclasses.dataclass
class ServeOptions:
    state_dir: str
    port: int = 8774
    vpmem_mib: int = 64
    namespaces: int = 4
    hypervisor: str = 'emulated'
    bandwidth_mib: int = 0          # 0: the hypervisor's own limit
    dirty_pages_per_second: int = 0  # each emulated guest's writer
    completion_timeout: int = None   # s per GiB; None: the option default


class GuestWriters:
    """Give every guest of the emulated hosts a writer at one rate.

    The emulator's workload writes pages into the guest's vpmem while it
    runs and follows it when it migrates, so a served cloud's guests
    dirty memory as the demo's does. A guest gets its writer the first
    time it is seen running (and not migrating); a resumed cloud's
    guests get theirs at the first look.
    """

    def __init__(self, hosts, rate, interval=0.5):
        self.hosts = list(hosts)
        self.rate = rate
        self.interval = interval
        self._stop = threading.Event()
        self._thread = None

    def give_writers(self):
        """One look at every host; returns the guests that got a writer."""
        given = []
        for name in self.hosts:
            host = emulator.get_host(name, create=False)
            if host is None:
                continue
            for guest in host.active_guests():
                if guest.workload is not None or guest.job is not None \
                        or guest.incoming is not None:
                    continue
                try:
                    host.set_workload(guest.uuid,
                                      dirty_pages_per_second=self.rate)
                except emulator.libvirtError:
                    continue    # it started migrating: next look
                given.append(guest.uuid)
        return given

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.give_writers()
            except Exception:
                aio_cloud.LOG.exception('Could not start guest writers')

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='aio-guest-writers')
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def cli_options(endpoint):
    """The ``openstack`` options that reach this cloud."""
    return ['--os-auth-type', 'none', '--os-endpoint', endpoint,
            '--os-identity-api-version', '3']


def cli_environment(endpoint):
    return {'OS_AUTH_TYPE': 'none', 'OS_ENDPOINT': endpoint,
            'OS_IDENTITY_API_VERSION': '3'}


def ensure_flavor(api):
    """The flavor with one namespace, created on the first start."""
    try:
        api.get('/flavors/%s' % FLAVOR)
        return False
    except http.APIError as exc:
        if exc.status != 404:
            raise
    api.post('/flavors', {'flavor': {'name': FLAVOR, 'id': FLAVOR,
                                     'ram': 64, 'vcpus': 1, 'disk': 0}})
    api.post('/flavors/%s/os-extra_specs' % FLAVOR,
             {'extra_specs': {'hw:pmem': aio_cloud.LABEL}})
    return True


def server_table(api):
    servers = api.get('/servers/detail?all_tenants=1')['servers']
    table = rich_table.Table(title='servers (%d)' % len(servers))
    for column in ('name', 'id', 'status', 'host'):
        table.add_column(column)
    for server in servers:
        table.add_row(server['name'], server['id'], server['status'],
                      server.get('OS-EXT-SRV-ATTR:host') or '-')
    return table


def _wait_for_signal():
    launcher = service.Launcher()
    launcher.install_handlers()
    try:
        return launcher.wait_for_signal()
    finally:
        launcher.restore_handlers()


def run(options, console):
    resumed = os.path.exists(os.path.join(options.state_dir, 'nova.sqlite'))
    aio_cloud.init_process(options.state_dir)
    hosts = None
    overrides = None
    if options.hypervisor == 'libvirt':
        hosts = real_hosts.RealHosts(
            options.state_dir, aio_cloud.HOSTS,
            pages_per_second=options.dirty_pages_per_second or None).start()
        overrides = hosts.hypervisor_overrides()
        aio_cloud.CONF.set_override('images_file', hosts.write_images_file(
            os.path.join(options.state_dir, 'images.json')), group='api')
    cloud = aio_cloud.Cloud(aio_cloud.CloudOptions(
        state_dir=options.state_dir, namespace_mib=options.vpmem_mib,
        namespaces_per_host=options.namespaces, api_port=options.port,
        bandwidth_mib=options.bandwidth_mib,
        completion_timeout=options.completion_timeout),
        hypervisor_overrides=overrides)
    console.rule('nova-aio serve')
    console.print('%s state directory %s (logs: %s)' % (
        'resuming' if resumed else 'new', options.state_dir,
        os.path.join(options.state_dir, aio_cloud.LOG_FILE)))
    writers = None
    try:
        try:
            cloud.start(on_step=lambda text: console.print(
                '[green]started[/] %s' % text))
        except Exception as exc:
            aio_cloud.LOG.exception('nova-aio serve could not start')
            console.print('[red]nova-aio serve could not start[/]: %s: %s '
                          '(traceback in %s)' % (
                              type(exc).__name__,
                              rich_markup.escape(str(exc)), os.path.join(
                                  options.state_dir, aio_cloud.LOG_FILE)),
                          highlight=False, soft_wrap=True)
            return 1
        if hosts is None and options.dirty_pages_per_second:
            writers = GuestWriters(aio_cloud.HOSTS,
                                   options.dirty_pages_per_second).start()
            console.print('every guest writes %d pages/s into its vpmem' %
                          options.dirty_pages_per_second)
        elif hosts is not None and options.dirty_pages_per_second:
            console.print('servers booted from %s write at most %d pages/s '
                          'into their vpmem' % (
                              hosts.image_name,
                              options.dirty_pages_per_second))
        api = http.compute_client(cloud.api_endpoint)
        if ensure_flavor(api):
            console.print('created flavor %s (hw:pmem=%s)' % (
                FLAVOR, aio_cloud.LABEL))
        console.print(server_table(api))
        endpoint = cloud.api_endpoint
        console.print('Use the openstack CLI with these options:')
        console.print('  openstack %s server list' % ' '.join(
            cli_options(endpoint)), soft_wrap=True)
        console.print('or this environment:')
        console.print('  export %s' % ' '.join(
            '%s=%s' % item for item in cli_environment(endpoint).items()),
            soft_wrap=True)
        console.print('  openstack server create --flavor %s --image cirros '
                      '--nic none --wait vm1' % FLAVOR)
        console.print('  openstack server migrate --live-migration --wait '
                      'vm1')
        console.print('  openstack server migration list')
        console.print('nova-aio serving on %s; Ctrl-C stops it' % endpoint,
                      highlight=False)
        signo = _wait_for_signal()
        console.print('caught signal %d, stopping' % signo)
    finally:
        began = time.monotonic()
        if writers is not None:
            writers.stop()
        clean = cloud.stop()
        emulator.reset()
        if hosts is not None:
            hosts.stop()
    console.print('stopped %s in %.1f s; run serve again with --state-dir '
                  '%s to resume' % ('cleanly' if clean else 'with errors',
                                    time.monotonic() - began,
                                    options.state_dir))
    return 0 if clean else 1
