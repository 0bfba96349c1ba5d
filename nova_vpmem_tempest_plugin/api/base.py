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

"""Base class of the vpmem tests, and the placement reads they make.

A class says how many vpmem hosts it needs and at which compute
microversions it runs. The base skips it, with the reason, where the cloud
cannot run it, creates its ``hw:pmem`` flavor and offers the shared steps:
boot, live-migrate, wait for the migration record, and compare placement
before and after.

Built on tempest.test.BaseTestCase rather than tempest's compute API base,
whose admin class needs an image client even in clouds without Glance.
The servers belong to the primary (member) user; what needs an
administrator (a server's host, migrations, hypervisors, services,
placement) goes through the admin clients.
"""

import collections
import json
import re
import urllib.parse

from oslo_log import log as logging
from tempest.common import waiters
from tempest import config
from tempest.lib.common import api_version_request
from tempest.lib.common import api_version_utils
from tempest.lib.common import rest_client
from tempest.lib.common.utils import data_utils
from tempest.lib.common.utils import test_utils
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc
from tempest import test

CONF = config.CONF
LOG = logging.getLogger(__name__)

RESOURCE_CLASS_PREFIX = 'CUSTOM_PMEM_NAMESPACE_'
PMEM_EXTRA_SPEC = 'hw:pmem'
FINAL_STATUSES = ('completed', 'failed', 'error', 'cancelled')
# "resources" as a filter of GET /resource_providers came with 1.4.
PLACEMENT_VERSION = '1.4'
# ``force`` exists from 2.30 to 2.67; up to 2.33 the API waits for the
# conductor's checks, so a refused migration is the request's own 400.
FORCE_MIN = '2.30'
FORCE_MAX = '2.67'
SYNC_MAX = '2.33'
NETWORKS_REQUIRED = '2.37'
MiB = 1024 * 1024


def resource_class(label):
    """Placement's class for namespaces labelled ``label`` (Nova's name)."""
    return RESOURCE_CLASS_PREFIX + re.sub(r'[^A-Z0-9_]', '_',
                                          label.strip().upper())


def flavor_resources(labels):
    """``{resource class: count}`` a flavor with these labels asks for."""
    return dict(collections.Counter(resource_class(label)
                                    for label in labels))


def usable_hosts(services):
    """Hosts of the nova-compute services that are enabled and up."""
    return sorted(s['host'] for s in services
                  if s['binary'] == 'nova-compute' and
                  s['status'] == 'enabled' and s['state'] == 'up')


def hosts_of_providers(hosts, hypervisors, provider_names):
    """Those of ``hosts`` whose node is one of ``provider_names``
    (Nova names a node's provider after its hypervisor_hostname)."""
    node_host = {h['hypervisor_hostname']: h['service']['host']
                 for h in hypervisors}
    found = {node_host.get(name) for name in provider_names}
    return [host for host in hosts if host in found]


def shortage(test_class, needed, found, how):
    """The skip reason of a class that needs ``needed`` vpmem hosts where
    ``found`` were found (``how`` says how), or None if enough."""
    if found >= needed:
        return None
    return ('%s needs %d vpmem host(s), the cloud has %d (%s)'
            % (test_class, needed, found, how))


def moved_usages(before, source, dest, resources):
    """Placement usages once a server holding ``resources`` went from
    ``source`` to ``dest``, all else as ``before`` ({host: {class: n}})."""
    after = {host: dict(used) for host, used in before.items()}
    for rc, count in resources.items():
        after[source][rc] = after[source].get(rc, 0) - count
        after[dest][rc] = after[dest].get(rc, 0) + count
    return after


def vpmem_allocations(allocations, resources):
    """``{provider: {class: n}}`` of a consumer's vpmem allocations."""
    held = {}
    for provider, allocation in allocations.items():
        mine = {rc: n for rc, n in allocation['resources'].items()
                if rc in resources}
        if mine:
            held[provider] = mine
    return held


class PlacementReader(rest_client.RestClient):
    """GETs of placement's API, at ``endpoint`` or the catalog's entry."""

    def __init__(self, auth_provider, endpoint=None):
        params = config.service_client_config('placement')
        super().__init__(auth_provider, params.pop('service'),
                         params.pop('region'), **params)
        self.endpoint = endpoint.rstrip('/') if endpoint else None

    def _request(self, method, url, headers=None, body=None, chunked=False):
        if not self.endpoint:
            return super()._request(method, url, headers, body, chunked)
        # The catalog is not asked: the token goes to the configured URL.
        headers = dict(headers or {})
        headers['X-Auth-Token'] = self.auth_provider.get_token()
        resp, resp_body = self.raw_request(
            '%s/%s' % (self.endpoint, url.lstrip('/')), method,
            headers=headers, body=body, chunked=chunked)
        self.response_checker(method, resp, resp_body)
        return resp, resp_body

    def available(self):
        if self.endpoint:
            return True
        try:
            return bool(self.base_url)
        except lib_exc.EndpointNotFound:
            return False

    def read(self, path):
        resp, body = self.get(path, headers={
            'OpenStack-API-Version': 'placement %s' % PLACEMENT_VERSION},
            extra_headers=True)
        self.expected_success(200, resp.status)
        return json.loads(body)

    def providers_with_room(self, resources):
        """Names of the providers that can take ``resources`` now."""
        wanted = ','.join('%s:%d' % item for item in sorted(
            resources.items()))
        found = self.read('resource_providers?resources=%s' % wanted)
        return [rp['name'] for rp in found['resource_providers']]

    def provider_uuid(self, name):
        found = self.read('resource_providers?name=%s'
                          % urllib.parse.quote(name))['resource_providers']
        if not found:
            raise lib_exc.NotFound('placement has no provider %s' % name)
        return found[0]['uuid']

    def usages(self, provider):
        return self.read('resource_providers/%s/usages' % provider)['usages']

    def allocations(self, consumer):
        return self.read('allocations/%s' % consumer)['allocations']


@decorators.serial
class VpmemTest(api_version_utils.BaseMicroversionTest, test.BaseTestCase):
    """Base of the vpmem tests: serial, as they fill and empty hosts."""

    credentials = ['primary', 'admin']
    # The migration tests need a source and a destination.
    vpmem_hosts_needed = 2
    needs_live_migration = True

    @classmethod
    def skip_checks(cls):
        super().skip_checks()
        # Raises its own skip when the ranges do not meet.
        api_version_utils.check_skip_with_microversion(
            cls.min_microversion, cls.max_microversion,
            CONF.compute.min_microversion, CONF.compute.max_microversion)
        reason = cls.skip_reason()
        if reason:
            raise cls.skipException(reason)

    @classmethod
    def skip_reason(cls):
        """Why the configuration alone rules this class out, or None."""
        if not CONF.service_available.nova:
            return 'Nova is not available'
        if (cls.needs_live_migration and
                not CONF.compute_feature_enabled.live_migration):
            return ('live migration is not available '
                    '([compute-feature-enabled] live_migration = False)')
        declared = CONF.vpmem.min_vpmem_hosts
        if declared:
            return shortage(cls.__name__, cls.vpmem_hosts_needed, declared,
                            'as [vpmem] min_vpmem_hosts says')
        return None

    @classmethod
    def setup_credentials(cls):
        # The guests boot without a network: none to create per project.
        cls.set_network_resources()
        super().setup_credentials()

    @classmethod
    def setup_clients(cls):
        super().setup_clients()
        cls.servers_client = cls.os_primary.servers_client
        cls.admin_servers_client = cls.os_admin.servers_client
        cls.flavors_client = cls.os_admin.flavors_client
        cls.migrations_client = cls.os_admin.migrations_client
        cls.services_client = cls.os_admin.services_client
        cls.hypervisor_client = cls.os_admin.hypervisor_client
        cls.placement = PlacementReader(cls.os_admin.auth_provider,
                                        CONF.vpmem.placement_endpoint)

    @classmethod
    def resource_setup(cls):
        super().resource_setup()
        cls.request_microversion = (
            api_version_utils.select_request_microversion(
                cls.min_microversion, CONF.compute.min_microversion))
        cls.setup_api_microversion_fixture(
            compute_microversion=cls.request_microversion)
        cls.resources = flavor_resources(CONF.vpmem.flavor_labels)
        cls.has_placement = cls.placement.available()
        if not cls.has_placement:
            LOG.info('%s: no placement endpoint, placement is not checked',
                     cls.__name__)
        cls.providers = {}
        cls.hosts = cls.find_vpmem_hosts()
        cls.flavor = cls.create_pmem_flavor()

    @classmethod
    def find_vpmem_hosts(cls):
        """The hosts the tests may use; skips the class if too few."""
        hosts = usable_hosts(cls.services_client.list_services(
            binary='nova-compute')['services'])
        if CONF.vpmem.min_vpmem_hosts:
            # The operator's word (checked in skip_checks).
            return hosts
        how = 'enabled nova-compute services that are up'
        if cls.has_placement:
            names = cls.placement.providers_with_room(cls.resources)
            hosts = hosts_of_providers(hosts, cls.hypervisor_client.
                                       list_hypervisors(detail=True)[
                                           'hypervisors'], names)
            how += ', with room for %s in placement' % ', '.join(
                '%d %s' % (n, rc) for rc, n in sorted(cls.resources.items()))
        else:
            how += '; without placement their namespaces are not counted'
        reason = shortage(cls.__name__, cls.vpmem_hosts_needed, len(hosts),
                          how)
        if reason:
            raise cls.skipException(reason)
        return hosts

    @classmethod
    def create_pmem_flavor(cls):
        flavor = cls.flavors_client.create_flavor(
            name=data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                      name=cls.__name__ + '-pmem'),
            ram=CONF.vpmem.flavor_ram_mb, vcpus=CONF.vpmem.flavor_vcpus,
            disk=0, id=data_utils.rand_uuid())['flavor']
        cls.addClassResourceCleanup(test_utils.call_and_ignore_notfound_exc,
                                    cls.flavors_client.delete_flavor,
                                    flavor['id'])
        cls.flavors_client.set_flavor_extra_spec(
            flavor['id'],
            **{PMEM_EXTRA_SPEC: ','.join(CONF.vpmem.flavor_labels)})
        return flavor

    # -- servers -------------------------------------------------------------

    def boot(self, image_ref=None):
        """A server of the pmem flavor, ACTIVE; its id. Deleted (and its
        namespaces released) when the test ends."""
        kwargs = {}
        if (api_version_request.APIVersionRequest(self.request_microversion)
                >= api_version_request.APIVersionRequest(NETWORKS_REQUIRED)):
            kwargs['networks'] = 'none'
        server = self.servers_client.create_server(
            name=data_utils.rand_name(prefix=CONF.resource_name_prefix,
                                      name=type(self).__name__ + '-server'),
            imageRef=image_ref or CONF.compute.image_ref,
            flavorRef=self.flavor['id'], **kwargs)['server']
        self.addCleanup(self._delete, server['id'])
        waiters.wait_for_server_status(self.servers_client, server['id'],
                                       'ACTIVE')
        return server['id']

    def _delete(self, server_id):
        try:
            test_utils.call_and_ignore_notfound_exc(
                self.servers_client.delete_server, server_id)
        except lib_exc.Conflict:
            # A failed test left it moving: stop the move, then delete.
            for migration in self.in_progress(server_id):
                test_utils.call_and_ignore_notfound_exc(
                    self.abort_migration, server_id, migration['id'])
            waiters.wait_for_server_status(
                self.admin_servers_client, server_id, 'ACTIVE',
                extra_timeout=CONF.vpmem.migration_timeout,
                raise_on_error=False)
            test_utils.call_and_ignore_notfound_exc(
                self.servers_client.delete_server, server_id)
        waiters.wait_for_server_termination(self.servers_client, server_id)
        # Placement frees the namespaces once erased; the next test may
        # need them (a leak is the audit's business, not this test's).
        if self.has_placement and not test_utils.call_until_true(
                lambda: not self.placement.allocations(server_id),
                CONF.vpmem.usage_timeout, 1):
            LOG.warning('placement still holds allocations of deleted '
                        'server %s', server_id)

    def show(self, server_id):
        return self.admin_servers_client.show_server(server_id)['server']

    def host_of(self, server_id):
        return self.show(server_id)['OS-EXT-SRV-ATTR:host']

    def other_host(self, host):
        others = [h for h in self.hosts if h != host]
        if not others:
            self.fail('no vpmem host other than %s in %s' % (host, self.hosts))
        return others[0]

    def wait_idle(self, server_id):
        """Until the server is ACTIVE with no task (a move may take
        [vpmem] migration_timeout more than a build)."""
        return waiters.wait_for_server_status(
            self.admin_servers_client, server_id, 'ACTIVE',
            extra_timeout=CONF.vpmem.migration_timeout)

    # -- live migration ------------------------------------------------------

    def live_migrate(self, server_id, host=None, force=False):
        kwargs = {'host': host, 'block_migration': 'auto'}
        if force:
            kwargs['force'] = True
        self.admin_servers_client.live_migrate_server(server_id, **kwargs)

    def live_migrations(self, server_id):
        """The server's live-migration records, newest first."""
        rows = self.migrations_client.list_migrations(
            instance_uuid=server_id)['migrations']
        return sorted((row for row in rows
                       if row['instance_uuid'] == server_id and
                       row.get('migration_type') == 'live-migration'),
                      key=lambda row: row['id'], reverse=True)

    def wait_new_migration(self, server_id, known_ids):
        """The newest record not in ``known_ids``, once it has ended."""
        seen = []

        def ended():
            seen[:] = [row for row in self.live_migrations(server_id)
                       if row['id'] not in known_ids]
            return bool(seen) and seen[0]['status'] in FINAL_STATUSES

        if not test_utils.call_until_true(
                ended, CONF.vpmem.migration_timeout,
                CONF.compute.build_interval):
            self.fail('no new live migration of %s ended in %d s: %s' % (
                server_id, CONF.vpmem.migration_timeout, seen))
        return seen[0]

    def in_progress(self, server_id):
        return self.admin_servers_client.list_in_progress_live_migration(
            server_id)['migrations']

    def abort_migration(self, server_id, migration_id):
        # tempest's servers client has no call for this DELETE.
        resp, _body = self.admin_servers_client.delete(
            'servers/%s/migrations/%s' % (server_id, migration_id))
        self.admin_servers_client.expected_success(202, resp.status)

    # -- placement -----------------------------------------------------------

    def provider_of(self, host):
        if host not in self.providers:
            for node in self.hypervisor_client.list_hypervisors(
                    detail=True)['hypervisors']:
                if node['service']['host'] == host:
                    self.providers[host] = self.placement.provider_uuid(
                        node['hypervisor_hostname'])
                    break
            else:
                self.fail('no hypervisor of host %s' % host)
        return self.providers[host]

    def vpmem_usages(self, hosts):
        """``{host: {class: used}}`` for the flavor's classes; None
        without placement."""
        if not self.has_placement:
            return None
        usages = {}
        for host in hosts:
            used = self.placement.usages(self.provider_of(host))
            usages[host] = {rc: used.get(rc, 0) for rc in self.resources}
        return usages

    def wait_placement(self, server_id, host, usages):
        """Until placement holds the server's namespaces on ``host`` only
        and the hosts' usages are ``usages``; nothing without placement."""
        if not self.has_placement:
            return
        want = {self.provider_of(host): self.resources}
        seen = {}

        def settled():
            seen['allocations'] = vpmem_allocations(
                self.placement.allocations(server_id), self.resources)
            seen['usages'] = self.vpmem_usages(usages)
            return seen['allocations'] == want and seen['usages'] == usages

        if not test_utils.call_until_true(settled, CONF.vpmem.usage_timeout,
                                          1):
            self.fail('placement did not settle in %d s: allocations of %s '
                      '%s (want %s on %s), usages %s (want %s)' % (
                          CONF.vpmem.usage_timeout, server_id,
                          seen.get('allocations'), want, host,
                          seen.get('usages'), usages))
