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
    _rule(SERVERS % 'confirm_resize', ADMIN_OR_OWNER,
          'Confirm a cold migration (or resize) of a server.', 'POST',
          '/servers/{server_id}/action (confirmResize)'),
    _rule(SERVERS % 'revert_resize', ADMIN_OR_OWNER,
          'Revert a cold migration (or resize) of a server.', 'POST',
          '/servers/{server_id}/action (revertResize)'),
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
    _rule('os_compute_api:os-flavor-manage:create', ADMIN,
          'Create a flavor.', 'POST', '/flavors'),
    _rule('os_compute_api:os-flavor-manage:delete', ADMIN,
          'Delete a flavor.', 'DELETE', '/flavors/{flavor_id}'),
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
