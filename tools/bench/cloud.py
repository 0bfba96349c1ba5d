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

"""An emulated cloud in this process, for the bench parts.

The same services as ``nova-aio`` (``nova.aio.cloud``): the embedded
placement app, SQLite, ``fake://`` messaging, the compute API with
``noauth2``, the conductor and one nova-compute per emulated host whose
namespaces are files. Placement keeps one engine per process and the
configuration is global, so a bench part starts at most one cloud per
process (the framework runs each part in a process of its own).

The bench talks to the cloud as a user does, over HTTP
(``nova.aio.http``); these helpers add what a bench needs around that:
a placement request counter at the placement app, and background
timers kept out of the measured window.
"""

import os
import time

from nova.aio import cloud as aio_cloud
from nova.aio import http
from nova.embedded import placement as embedded_placement
from nova import objects

CONF = aio_cloud.CONF
IMAGE = 'cirros'
# Force a host past the scheduler: from 2.30 to 2.67 the API takes
# ``force`` (and answers once the conductor's checks passed).
FORCE_VERSION = '2.30'
# Heartbeats and periodic tasks would otherwise land in some measured
# windows and not others (each writes to the database and placement).
QUIET_SECONDS = 24 * 3600


class BenchError(Exception):
    """A step of a bench failed; the message names it."""


def quiet_timers():
    """Push heartbeats and periodic tasks past the end of the run.

    The periodic tasks still run once when each service starts. The
    services stay "up" (``service_down_time`` grows with the interval).
    """
    CONF.set_override('report_interval', QUIET_SECONDS)
    CONF.set_override('service_down_time', 2 * QUIET_SECONDS)
    CONF.set_override('periodic_interval', QUIET_SECONDS)
    for name in ('update_resources_interval', 'move_recovery_interval',
                 'vpmem_erase_retry_interval'):
        CONF.set_override(name, QUIET_SECONDS, group='compute')


def quiet_fixed_periodic_tasks(cloud):
    """The same for the periodic tasks without an option (oslo.service
    runs a task declared with spacing 0 every 60 s): their spacing on
    each compute manager, which oslo.service reads at every tick."""
    for host in cloud.computes:
        spacing = getattr(cloud.manager(host), '_periodic_spacing', None)
        if spacing is None:
            continue
        for name, seconds in list(spacing.items()):
            if seconds is not None and 0 < seconds < QUIET_SECONDS:
                spacing[name] = QUIET_SECONDS


def start(workdir, hosts=aio_cloud.HOSTS, namespace_mib=4,
          namespaces_per_host=2, placement_counter=None, quiet=True,
          debug=False, on_step=None):
    """Start an emulated cloud in ``workdir``; return the nova-aio Cloud.

    ``placement_counter`` (a ``counters.PlacementCounter``) is put in
    front of the placement app. The caller stops it with ``stop()``.
    """
    state_dir = os.path.join(workdir, 'cloud')
    os.makedirs(state_dir, exist_ok=True)
    aio_cloud.init_process(state_dir, debug=debug)
    if quiet:
        quiet_timers()
    options = aio_cloud.CloudOptions(
        state_dir=state_dir, namespace_mib=namespace_mib,
        namespaces_per_host=namespaces_per_host, hosts=tuple(hosts))
    cloud = aio_cloud.Cloud(options)
    make_app = embedded_placement.make_app
    if placement_counter is not None:
        embedded_placement.make_app = (
            lambda connection: placement_counter.wrap(make_app(connection)))
    try:
        cloud.start(on_step=on_step)
    finally:
        embedded_placement.make_app = make_app
    if quiet:
        quiet_fixed_periodic_tasks(cloud)
    return cloud


def stop(cloud):
    from nova.virt.libvirt import emulator
    try:
        return cloud.stop()
    finally:
        emulator.reset()


def api_client(cloud, version=http.COMPUTE_VERSION):
    return http.compute_client(cloud.api_endpoint, version)


def create_flavor(api, name, ram_mb=64, vpmem_count=1):
    """A flavor with ``vpmem_count`` namespaces of the cloud's label."""
    api.post('/flavors', {'flavor': {
        'name': name, 'id': name, 'ram': ram_mb, 'vcpus': 1, 'disk': 0}})
    api.post('/flavors/%s/os-extra_specs' % name, {'extra_specs': {
        'hw:pmem': ','.join([aio_cloud.LABEL] * vpmem_count)}})
    return name


def wait_for(what, predicate, timeout=60.0, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise BenchError('timed out after %.0f s waiting for %s' % (
                timeout, what))
        time.sleep(interval)


def server(api, server_id):
    return api.get('/servers/%s' % server_id)['server']


def active_on(api, server_id, host=None):
    """The server if it is ACTIVE (on ``host``), else None; ERROR raises."""
    found = server(api, server_id)
    if found['status'] == 'ERROR':
        raise BenchError('server %s went to ERROR: %s' % (
            server_id, (found.get('fault') or {}).get('message')))
    if found['status'] != 'ACTIVE':
        return None
    if host is not None and found.get('OS-EXT-SRV-ATTR:host') != host:
        return None
    return found


def _set_disabled(cloud, host, disabled):
    svc = objects.Service.get_by_compute_host(cloud.admin_context(), host)
    svc.disabled = disabled
    svc.save()


def boot_on(cloud, api, flavor, host, name, timeout=60.0):
    """Boot a server on ``host`` (the other hosts disabled meanwhile);
    return its id once ACTIVE."""
    others = [h for h in cloud.computes if h != host]
    for other in others:
        _set_disabled(cloud, other, True)
    try:
        created = api.post('/servers', {'server': {
            'name': name, 'flavorRef': flavor, 'imageRef': IMAGE,
            'networks': 'none'}})['server']
        wait_for('server %s ACTIVE' % name,
                 lambda: active_on(api, created['id'], host), timeout)
    finally:
        for other in others:
            _set_disabled(cloud, other, False)
    return created['id']


def live_migrate(cloud, server_id, dest, force=True):
    """POST os-migrateLive to ``dest`` (forced past the scheduler)."""
    body = {'host': dest, 'block_migration': 'auto'}
    if force:
        body['force'] = True
    api_client(cloud, FORCE_VERSION).post(
        '/servers/%s/action' % server_id, {'os-migrateLive': body})


def migrations(api, server_id):
    return api.get('/os-migrations?instance_uuid=%s' %
                   server_id)['migrations']
