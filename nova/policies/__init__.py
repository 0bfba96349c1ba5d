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

"""Default policy rules of the compute API (oslo.policy).

Operators override them in the policy file (``[oslo_policy]policy_file``).
Moving an instance between hosts, and anything that shows hosts, is for
administrators; a server is its project's or an administrator's.
"""

from oslo_policy import policy

ADMIN = 'rule:admin_api'
ADMIN_OR_OWNER = 'rule:admin_or_owner'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'

BASE_RULES = [
    policy.RuleDefault('context_is_admin', 'role:admin',
                       'Who is an administrator.'),
    policy.RuleDefault('admin_api', 'is_admin:True',
                       'Administrators only.'),
    policy.RuleDefault('admin_or_owner',
                       'is_admin:True or project_id:%(project_id)s',
                       "The target's project or an administrator."),
    # Keystone puts the roles a role implies in the token (member implies
    # reader); noauth2 contexts carry only 'member', so it is named too.
    policy.RuleDefault('project_reader_api',
                       '(role:reader or role:member) and '
                       'project_id:%(project_id)s',
                       "A reader of the target's project."),
    policy.RuleDefault('project_reader_or_admin',
                       'rule:project_reader_api or rule:admin_api',
                       "A reader of the target's project or an "
                       "administrator."),
]


def _rule(name, check_str, description, method, path):
    return policy.DocumentedRuleDefault(
        name, check_str, description,
        [{'method': method, 'path': path}])


SERVERS = 'os_compute_api:servers:%s'
MIGRATIONS = 'os_compute_api:servers:migrations:%s'
INSTANCE_ACTIONS = 'os_compute_api:os-instance-actions:%s'
_ACTION_PATH = '/servers/{server_id}/os-instance-actions/{request_id}'

API_RULES = [
    _rule(SERVERS % 'create', ADMIN_OR_OWNER, 'Create a server.', 'POST',
          '/servers'),
    _rule(SERVERS % 'index', ADMIN_OR_OWNER, 'List servers.', 'GET',
          '/servers'),
    _rule(SERVERS % 'detail', ADMIN_OR_OWNER, 'List servers in detail.',
          'GET', '/servers/detail'),
    _rule(SERVERS % 'show', ADMIN_OR_OWNER, 'Show a server.', 'GET',
          '/servers/{server_id}'),
    _rule(SERVERS % 'delete', ADMIN_OR_OWNER, 'Delete a server.', 'DELETE',
          '/servers/{server_id}'),
    _rule(SERVERS % 'update', ADMIN_OR_OWNER,
          'Rename a server or change its description.', 'PUT',
          '/servers/{server_id}'),
    _rule(SERVERS % 'index:get_all_tenants', ADMIN,
          'List the servers of every project (all_tenants).', 'GET',
          '/servers'),
    _rule(SERVERS % 'detail:get_all_tenants', ADMIN,
          'List the servers of every project in detail (all_tenants).',
          'GET', '/servers/detail'),
    _rule(SERVERS % 'allow_all_filters', ADMIN,
          'Filter server lists by any filter (host, node, deleted, ...); '
          'the filters of other callers are ignored.', 'GET',
          '/servers/detail'),
    _rule(SERVERS % 'show:host_status', ADMIN,
          "Show the state of a server's host (host_status, 2.16).", 'GET',
          '/servers/{server_id}'),
    _rule(SERVERS % 'show:host_status:unknown-only', ADMIN,
          'Show host_status only when it is UNKNOWN (checked when '
          'show:host_status refuses).', 'GET', '/servers/{server_id}'),
    _rule('os_compute_api:os-extended-server-attributes', ADMIN,
          'Show the OS-EXT-SRV-ATTR attributes of servers (host, node, '
          'instance name, ...).', 'GET', '/servers/{server_id}'),
    _rule('os_compute_api:os-lock-server:lock', ADMIN_OR_OWNER,
          'Lock a server.', 'POST', '/servers/{server_id}/action (lock)'),
    _rule('os_compute_api:os-lock-server:unlock', ADMIN_OR_OWNER,
          'Unlock a server.', 'POST',
          '/servers/{server_id}/action (unlock)'),
    _rule('os_compute_api:os-lock-server:unlock:unlock_override', ADMIN,
          'Unlock a server someone else locked (an administrator).',
          'POST', '/servers/{server_id}/action (unlock)'),
    _rule(SERVERS % 'confirm_resize', ADMIN_OR_OWNER,
          'Confirm a cold migration (or resize) of a server.', 'POST',
          '/servers/{server_id}/action (confirmResize)'),
    _rule(SERVERS % 'revert_resize', ADMIN_OR_OWNER,
          'Revert a cold migration (or resize) of a server.', 'POST',
          '/servers/{server_id}/action (revertResize)'),
    _rule(SERVERS % 'stop', ADMIN_OR_OWNER, 'Stop a server.', 'POST',
          '/servers/{server_id}/action (os-stop)'),
    _rule(SERVERS % 'start', ADMIN_OR_OWNER, 'Start a stopped server.',
          'POST', '/servers/{server_id}/action (os-start)'),
    _rule(SERVERS % 'reboot', ADMIN_OR_OWNER, 'Reboot a server.', 'POST',
          '/servers/{server_id}/action (reboot)'),
    _rule('os_compute_api:os-pause-server:pause', ADMIN_OR_OWNER,
          'Pause a server.', 'POST', '/servers/{server_id}/action (pause)'),
    _rule('os_compute_api:os-pause-server:unpause', ADMIN_OR_OWNER,
          'Unpause a paused server.', 'POST',
          '/servers/{server_id}/action (unpause)'),
    _rule('os_compute_api:os-migrate-server:migrate_live', ADMIN,
          'Live-migrate a server.', 'POST',
          '/servers/{server_id}/action (os-migrateLive)'),
    _rule('os_compute_api:os-migrate-server:migrate', ADMIN,
          'Cold-migrate a server.', 'POST',
          '/servers/{server_id}/action (migrate)'),
    _rule(MIGRATIONS % 'index', ADMIN, "List a server's migrations.", 'GET',
          '/servers/{server_id}/migrations'),
    _rule(MIGRATIONS % 'show', ADMIN, "Show a server's migration.", 'GET',
          '/servers/{server_id}/migrations/{migration_id}'),
    _rule(MIGRATIONS % 'delete', ADMIN, 'Abort a live migration.',
          'DELETE', '/servers/{server_id}/migrations/{migration_id}'),
    _rule(MIGRATIONS % 'force_complete', ADMIN,
          'Force a live migration to complete.', 'POST',
          '/servers/{server_id}/migrations/{migration_id}/action'),
    _rule(INSTANCE_ACTIONS % 'list', PROJECT_READER_OR_ADMIN,
          'List the actions of a server.', 'GET',
          '/servers/{server_id}/os-instance-actions'),
    _rule(INSTANCE_ACTIONS % 'show', PROJECT_READER_OR_ADMIN,
          'Show an action of a server.', 'GET', _ACTION_PATH),
    _rule(INSTANCE_ACTIONS % 'events', ADMIN,
          'Show the events of an action at every microversion, with '
          'their traceback, and from 2.62 their host. Checked after '
          ':show passes; without it events appear only from 2.51, '
          'without traceback or host.', 'GET', _ACTION_PATH),
    _rule(INSTANCE_ACTIONS % 'events:details', ADMIN,
          "Show the 'details' of action events (2.84), why an event "
          'failed. Checked after :show passes; the text may say more '
          'about the deployment than its users need.', 'GET',
          _ACTION_PATH),
    _rule('os_compute_api:os-migrations:index', ADMIN,
          'List all migrations.', 'GET', '/os-migrations'),
    _rule('os_compute_api:os-services:list', ADMIN, 'List services.',
          'GET', '/os-services'),
    _rule('os_compute_api:os-hypervisors:list', ADMIN,
          'List hypervisors.', 'GET', '/os-hypervisors'),
    _rule('os_compute_api:os-hypervisors:list-detail', ADMIN,
          'List hypervisors in detail.', 'GET', '/os-hypervisors/detail'),
    _rule('os_compute_api:os-services:update', ADMIN,
          'Enable, disable or force down a compute service.', 'PUT',
          '/os-services/{service_id}'),
    _rule('os_compute_api:os-services:delete', ADMIN,
          'Delete a service (a compute: with its node and its resource '
          'provider).', 'DELETE', '/os-services/{service_id}'),
    _rule('os_compute_api:os-hypervisors:show', ADMIN,
          'Show a hypervisor.', 'GET', '/os-hypervisors/{hypervisor_id}'),
    _rule('os_compute_api:os-hypervisors:statistics', ADMIN,
          'Sum the hypervisors up (until 2.87).', 'GET',
          '/os-hypervisors/statistics'),
    _rule('os_compute_api:os-hypervisors:uptime', ADMIN,
          "Show a hypervisor's uptime (until 2.87).", 'GET',
          '/os-hypervisors/{hypervisor_id}/uptime'),
    _rule('os_compute_api:os-hypervisors:search', ADMIN,
          'Find hypervisors by host name (until 2.52).', 'GET',
          '/os-hypervisors/{hypervisor_hostname_pattern}/search'),
    _rule('os_compute_api:os-aggregates:index', ADMIN,
          'List host aggregates (none here).', 'GET', '/os-aggregates'),
    _rule('os_compute_api:os-hypervisors:servers', ADMIN,
          'List the servers of hypervisors (until 2.52).', 'GET',
          '/os-hypervisors/{hypervisor_hostname_pattern}/servers'),
    _rule('os_compute_api:os-flavor-manage:create', ADMIN,
          'Create a flavor.', 'POST', '/flavors'),
    _rule('os_compute_api:os-flavor-manage:update', ADMIN,
          "Change a flavor's description (2.55).", 'PUT',
          '/flavors/{flavor_id}'),
    _rule('os_compute_api:os-flavor-manage:delete', ADMIN,
          'Delete a flavor.', 'DELETE', '/flavors/{flavor_id}'),
    _rule('os_compute_api:os-flavor-access', ADMIN,
          'List the projects that may use a private flavor.', 'GET',
          '/flavors/{flavor_id}/os-flavor-access'),
    _rule('os_compute_api:os-flavor-access:add_tenant_access', ADMIN,
          'Let a project use a private flavor.', 'POST',
          '/flavors/{flavor_id}/action (addTenantAccess)'),
    _rule('os_compute_api:os-flavor-access:remove_tenant_access', ADMIN,
          'Take a private flavor from a project.', 'POST',
          '/flavors/{flavor_id}/action (removeTenantAccess)'),
    _rule('os_compute_api:os-flavor-extra-specs:index',
          PROJECT_READER_OR_ADMIN,
          "List a flavor's extra specs; also decides whether flavor views "
          'carry them (2.61).', 'GET',
          '/flavors/{flavor_id}/os-extra_specs'),
    _rule('os_compute_api:os-flavor-extra-specs:show',
          PROJECT_READER_OR_ADMIN, 'Show one extra spec of a flavor.',
          'GET', '/flavors/{flavor_id}/os-extra_specs/{key}'),
    _rule('os_compute_api:os-flavor-extra-specs:create', ADMIN,
          'Add flavor extra specs.', 'POST',
          '/flavors/{flavor_id}/os-extra_specs'),
    _rule('os_compute_api:os-flavor-extra-specs:update', ADMIN,
          'Change a flavor extra spec.', 'PUT',
          '/flavors/{flavor_id}/os-extra_specs/{key}'),
    _rule('os_compute_api:os-flavor-extra-specs:delete', ADMIN,
          'Remove a flavor extra spec.', 'DELETE',
          '/flavors/{flavor_id}/os-extra_specs/{key}'),
]


def list_rules():
    return BASE_RULES + API_RULES
