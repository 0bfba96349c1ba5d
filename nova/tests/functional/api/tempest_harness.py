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

"""Tempest's compute clients against the in-process API, and a table runner.

tempest.lib's service clients check each response against Nova's JSON
schema for the microversion they asked for (``validate_response``). Here
they reach the API served in-process with noauth2 (in front of the
conductor, emulated compute hosts and the real placement: VPMEMTestBase)
through a stub auth provider, and :meth:`TempestSchemaTestBase.run_table`
makes a table of calls at a list of microversions, collecting every
mismatch before it fails.
"""

import collections
import copy
import json
import re
import time
import types

import fixtures
from tempest.lib.api_schema.response.compute.v2_1 import (
    parameter_types)
from tempest.lib.api_schema.response.compute.v2_53 import (
    hypervisors as hypervisors_v253)
from tempest.lib.api_schema.response.compute.v2_59 import (
    servers as servers_v259)
from tempest.lib import auth
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import aggregates_client
from tempest.lib.services.compute import base_compute_client
from tempest.lib.services.compute import flavors_client
from tempest.lib.services.compute import hypervisor_client
from tempest.lib.services.compute import images_client
from tempest.lib.services.compute import migrations_client
from tempest.lib.services.compute import servers_client
from tempest.lib.services.compute import services_client
from tempest.lib.services.compute import versions_client

from nova.api import wsgi
from nova.compute import vm_states
from nova import context as nova_context
from nova import objects
from nova import service
from nova.tests.functional import base


MiB = 1 << 20
ADMIN_TOKEN = 'admin'
USER_TOKEN = 'user:project'
LATEST = '2.100'


def version_tuple(version):
    """'2.53' -> (2, 53); None (no header) is 2.1."""
    if version is None:
        return (2, 1)
    major, minor = version.split('.')
    return int(major), int(minor)


# A call of the table. ``invoke(test, clients, version)`` makes the
# request through a tempest client (which validates the answer);
# ``first``/``last`` bound the microversions where Nova serves it (None:
# open), before ``first`` Nova answers 404 and past ``last`` ``gone`` (404,
# or 400 where a newer call on the same path refuses the old body);
# ``only`` limits the versions it is tried at (calls that change state);
# ``after(test, version)`` waits for the effect before the next call.
Call = collections.namedtuple(
    'Call', 'route token invoke first last only after gone')


def call(route, invoke, first=None, last=None, token=ADMIN_TOKEN,
         only=None, after=None, gone=404):
    return Call(route, token, invoke, first and version_tuple(first),
                last and version_tuple(last), only, after, gone)


# -- a stub auth provider -----------------------------------------------------

if auth is not None:
    class _TokenCredentials(auth.Credentials):
        ATTRIBUTES = ['token']

        def is_valid(self):
            return True

    class NoAuthProvider(auth.AuthProvider):
        """Our endpoint and a noauth2 token: all RestClient asks for."""

        def __init__(self, endpoint, token):
            super().__init__(_TokenCredentials(token=token))
            self.endpoint = endpoint.rstrip('/')
            self._token = token

        def get_token(self):
            return self._token

        def _get_auth(self):
            return self._token, {}

        def _fill_credentials(self, auth_data_body):
            pass

        def is_expired(self, auth_data):
            return False

        def base_url(self, filters, auth_data=None):
            if filters.get('skip_path'):
                return re.sub(r'/v2(\.1)?$', '', self.endpoint)
            return self.endpoint

        def _decorate_request(self, filters, method, url, headers=None,
                              body=None, auth_data=None):
            headers = dict(headers or {})
            headers['X-Auth-Token'] = self._token
            full = self.base_url(filters)
            if url:
                full += '/' + url.lstrip('/')
            return full, headers, body


def _split_at(rows, version, schema):
    """schema_versions_info rows with ``schema`` from ``version`` on, up to
    the end of the row that held ``version``."""
    result = []
    for row in rows:
        first = version_tuple(row['min']) if row['min'] else (2, 1)
        last = version_tuple(row['max']) if row['max'] else (99, 0)
        major, minor = version_tuple(version)
        if first < (major, minor) <= last:
            before = '%d.%d' % (major, minor - 1)
            result.append(dict(row, max=before))
            result.append(dict(row, min=version, schema=schema))
        else:
            result.append(row)
    return result


if auth is not None:
    class ServersClient(servers_client.ServersClient):
        """tempest's servers client, with its own v2_59 schemas used.

        tempest ships v2_59/servers.py (``uuid`` in server migrations, as
        Nova answers from 2.59) but its client maps 2.58-2.61 to v2_58,
        which forbids ``uuid``: Nova itself would fail it.
        """

        schema_versions_info = _split_at(
            servers_client.ServersClient.schema_versions_info, '2.59',
            servers_v259)


# Nova 2.88 dropped these from a hypervisor and added ``uptime``.
HYPERVISOR_FIELDS_GONE_IN_2_88 = (
    'cpu_info', 'current_workload', 'disk_available_least', 'free_disk_gb',
    'free_ram_mb', 'local_gb', 'local_gb_used', 'memory_mb',
    'memory_mb_used', 'running_vms', 'vcpus', 'vcpus_used')


def _hypervisor_schemas_v288():
    """tempest's 2.53 hypervisor schemas, as Nova answers from 2.88.

    tempest has none for 2.88 (its tests stop at 2.53), and its 2.53 ones
    require the fields Nova removed.
    """
    detail = copy.deepcopy(hypervisors_v253.hypervisor_detail)
    for name in HYPERVISOR_FIELDS_GONE_IN_2_88:
        detail['properties'].pop(name, None)
        if name in detail['required']:
            detail['required'].remove(name)
    detail['properties']['uptime'] = {'type': ['string', 'null']}
    show = copy.deepcopy(hypervisors_v253.get_hypervisor)
    show['response_body']['properties']['hypervisor'] = detail
    listed = copy.deepcopy(hypervisors_v253.list_hypervisors_detail)
    listed['response_body']['properties']['hypervisors']['items'] = detail
    return types.SimpleNamespace(
        get_hypervisor=show, list_hypervisors_detail=listed,
        list_search_hypervisors=hypervisors_v253.list_search_hypervisors,
        get_hypervisor_statistics=hypervisors_v253.get_hypervisor_statistics,
        get_hypervisor_uptime=hypervisors_v253.get_hypervisor_uptime,
        get_hypervisors_servers=hypervisors_v253.get_hypervisors_servers)


if auth is not None:
    class HypervisorClient(hypervisor_client.HypervisorClient):
        """tempest's hypervisor client, with Nova's 2.88 shape added."""

        schema_versions_info = _split_at(
            hypervisor_client.HypervisorClient.schema_versions_info,
            '2.88', _hypervisor_schemas_v288())


def _with_migrations_links(module):
    """A migrations schema module whose list may carry a next link.

    Nova adds ``migrations_links`` to a full page from 2.59 (paging);
    tempest's schemas, never asked to page, forbid it.
    """
    listed = copy.deepcopy(module.list_migrations)
    listed['response_body']['properties']['migrations_links'] = (
        parameter_types.links)
    return types.SimpleNamespace(list_migrations=listed)


if auth is not None:
    class MigrationsClient(migrations_client.MigrationsClient):
        """tempest's migrations client, letting a page link to the next."""

        schema_versions_info = [
            dict(row, schema=_with_migrations_links(row['schema']))
            if row['min'] and version_tuple(row['min']) >= (2, 59) else row
            for row in migrations_client.MigrationsClient.schema_versions_info]


class Clients:
    """tempest's compute clients for one token."""

    def __init__(self, endpoint, token):
        provider = NoAuthProvider(endpoint, token)
        args = (provider, 'compute', 'RegionOne')
        self.servers = ServersClient(*args)
        self.flavors = flavors_client.FlavorsClient(*args)
        self.migrations = MigrationsClient(*args)
        self.services = services_client.ServicesClient(*args)
        self.hypervisors = HypervisorClient(*args)
        self.images = images_client.ImagesClient(*args)
        self.versions = versions_client.VersionsClient(*args)
        self.aggregates = aggregates_client.AggregatesClient(*args)


def status_only(status):
    # For calls tempest has no client method for: the code, and no body.
    return {'status_code': [status]}


def raw_call(client, method, url, schema, body=None):
    """A request tempest has no method for, checked by its validator."""
    resp, text = client.request(method, url,
                                body=None if body is None
                                else json.dumps(body))
    data = json.loads(text) if text else text
    client.validate_response(schema, resp, data)
    return data


def _summary(error):
    """The gist of a tempest error: what failed, and where in the body."""
    lines = [line.strip() for line in str(error).splitlines()
             if line.strip()]
    details = [line[len('Details:'):].strip() for line in lines
               if line.startswith('Details:')]
    head = details[0] if details else (lines[0] if lines else repr(error))
    where = [line.rstrip(':') for line in lines
             if line.startswith('On instance')]
    status = getattr(getattr(error, 'resp', None), 'status', None)
    return ' '.join(([str(status)] if status else []) + [head[:300]] +
                    where[:1])


class TempestSchemaTestBase(base.VPMEMTestBase):
    """The API in-process, tempest clients for an admin and a user."""

    COMPUTES = {
        'compute-a': ['SMALL:ns0|ns1|ns2|ns3'],
        'compute-b': ['SMALL:ns0|ns1|ns2|ns3'],
    }
    FLAVOR_MEMORY_MB = 16

    def setUp(self):
        super().setUp()
        self.flags(auth_strategy='noauth2', group='api')
        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.handlers.servers._API', None))
        self.server = service.WSGIService(
            'nova-api', self.make_app(), '127.0.0.1', 0)
        self.server.start()
        self.addCleanup(self.server.kill)
        self.endpoint = 'http://127.0.0.1:%s/v2.1' % self.server.port
        self.clients = {ADMIN_TOKEN: Clients(self.endpoint, ADMIN_TOKEN),
                        USER_TOKEN: Clients(self.endpoint, USER_TOKEN)}
        self.useFixture(fixtures.MonkeyPatch(
            'tempest.lib.services.compute.base_compute_client.'
            'COMPUTE_MICROVERSION', None))
        self.user_context = nova_context.RequestContext(
            user_id='user', project_id='project')
        self.flavor = self.create_flavor(memory_mb=self.FLAVOR_MEMORY_MB)
        self.image_id = '155d900f-4e14-4e4c-a73d-069cbf4541e6'

    def make_app(self):
        return wsgi.APIApplication(auth_strategy='noauth2')

    # -- scenario helpers -----------------------------------------------------

    def boot_as_user(self, name='server', host=None):
        """A server of the non-admin user's project, ACTIVE."""
        others = [h for h in self.computes if host and h != host]
        for other in others:
            self._set_disabled(other, True)
        try:
            instance = self.api.create(self.user_context, self.flavor, name,
                                       image_ref=self.image_id)
            return self.wait_for_state(instance.uuid, vm_states.ACTIVE)
        finally:
            for other in others:
                self._set_disabled(other, False)

    def _set_disabled(self, host, disabled):
        svc = objects.Service.get_by_compute_host(self.context, host)
        svc.disabled = disabled
        svc.save()

    def newest_migration(self, instance_uuid):
        migrations = objects.MigrationList.get_by_filters(
            self.context, {'instance_uuid': instance_uuid})
        return max(migrations, key=lambda m: m.id, default=None)

    def wait_for_migration_status(self, instance_uuid, statuses,
                                  newer_than=None):
        """The newest migration (after ``newer_than``'s id) in statuses."""
        deadline = time.monotonic() + self.TIMEOUT
        while time.monotonic() < deadline:
            newest = self.newest_migration(instance_uuid)
            if (newest is not None and newest.status in statuses and
                    (newer_than is None or newest.id > newer_than.id)):
                return newest
            time.sleep(0.05)
        raise AssertionError('no migration of %s reached %s'
                             % (instance_uuid, statuses))

    def host_of(self, instance_uuid):
        return objects.Instance.get_by_uuid(self.context,
                                            instance_uuid).host

    # -- running the table ----------------------------------------------------

    def run_table(self, resource, versions, calls):
        """Make every call at every version; fail listing all mismatches."""
        mismatches = []
        for version in versions:
            for entry in calls:
                if entry.only is not None and version not in entry.only:
                    continue
                problem = self._try(entry, version)
                if problem:
                    mismatches.append('%s @ %s: %s' % (
                        entry.route, version or 'no header', problem))
        if mismatches:
            self.fail('%d mismatch(es) with tempest (Nova) schemas for %s:\n'
                      '%s' % (len(mismatches), resource,
                              '\n'.join(mismatches)))

    def _try(self, entry, version):
        base_compute_client.COMPUTE_MICROVERSION = version
        asked = version_tuple(version)
        served = ((entry.first is None or asked >= entry.first) and
                  (entry.last is None or asked <= entry.last))
        expected = 404
        if entry.last is not None and asked > entry.last:
            expected = entry.gone
        try:
            entry.invoke(self, self.clients[entry.token], version)
        except (lib_exc.NotFound, lib_exc.BadRequest) as e:
            status = 404 if isinstance(e, lib_exc.NotFound) else 400
            if served or status != expected:
                return 'unexpected %d: %s' % (status, _summary(e))
            return _error_body_problem(e, status)
        except Exception as e:  # report every kind of drift, go on
            return '%s: %s' % (type(e).__name__, _summary(e))
        finally:
            base_compute_client.COMPUTE_MICROVERSION = None
        if not served:
            return 'answered outside %s-%s; Nova answers %d' % (
                _fmt(entry.first), _fmt(entry.last), expected)
        if entry.after is not None:
            try:
                entry.after(self, version)
            except Exception as e:
                return 'no effect: %s' % _summary(e)
        return None


def _fmt(version):
    return '%d.%d' % version if version else ''


def _error_body_problem(error, status):
    # tempest strips the one top-level key ("itemNotFound") it parses.
    body = getattr(error, 'resp_body', None)
    if (isinstance(body, dict) and body.get('code') == status and
            body.get('message')):
        return None
    return '%d without a Nova error body: %r' % (status, body)
