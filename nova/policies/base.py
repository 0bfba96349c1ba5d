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

"""The personas every API rule is built from, and the helpers to build it.

Nova's personas: an administrator may do anything; a member of a project
may act on that project's servers; a reader of a project may only look at
them. Who is an administrator is itself a rule, ``context_is_admin``: the
request context's ``is_admin`` is that rule's answer, so overriding it in
the policy file changes who is an administrator everywhere.
"""

from oslo_policy import policy

# Release in which the persona defaults replaced ``admin_or_owner``.
DEPRECATED_SINCE = '2027.1'
DEPRECATED_REASON = (
    'The compute API now knows the project reader and member personas and '
    'the project scope of Keystone tokens. The old default let anyone with '
    'a token of the project do anything a project may do.')

ADMIN = 'rule:admin_api'
PROJECT_MEMBER_OR_ADMIN = 'rule:project_member_or_admin'
PROJECT_READER_OR_ADMIN = 'rule:project_reader_or_admin'
# The default before personas; kept for overrides that name it.
ADMIN_OR_OWNER = 'rule:admin_or_owner'

# Every API rule acts inside a project: a system- or domain-scoped token
# is refused (403) before the check string is looked at.
PROJECT_SCOPE = ['project']

RULES = [
    policy.RuleDefault(
        'context_is_admin', 'role:admin',
        'Who is an administrator: the request context is an '
        "administrator's (is_admin) when this rule passes for its roles. "
        'Every rule that names admin_api follows it.'),
    policy.RuleDefault(
        'admin_api', 'is_admin:True',
        'Administrators only: the request context is an administrator '
        "one, as context_is_admin decided (or the services' own work)."),
    policy.RuleDefault(
        'project_member_api', 'role:member and project_id:%(project_id)s',
        "A member of the target's project: may act on its servers."),
    policy.RuleDefault(
        'project_reader_api', 'role:reader and project_id:%(project_id)s',
        "A reader of the target's project: may only look. Keystone puts "
        'the roles a role implies in the token, so a member is a reader '
        'too.'),
    policy.RuleDefault(
        'project_member_or_admin',
        'rule:project_member_api or rule:admin_api',
        "A member of the target's project, or an administrator."),
    policy.RuleDefault(
        'project_reader_or_admin',
        'rule:project_reader_api or rule:admin_api',
        "A reader of the target's project, or an administrator."),
    policy.RuleDefault(
        'admin_or_owner', 'is_admin:True or project_id:%(project_id)s',
        "Anyone of the target's project, or an administrator. No default "
        'uses it any more; it stays for policy files that name it.',
        deprecated_for_removal=True,
        deprecated_reason=DEPRECATED_REASON,
        deprecated_since=DEPRECATED_SINCE),
]


def rules(table):
    """DocumentedRuleDefaults from rows of (name, check, description,
    operations[, old default]), each operation a (method, path) pair.

    A rule whose default changed keeps the old one as its deprecated
    rule: with ``[oslo_policy]enforce_new_defaults = False`` either passes,
    and oslo.policy warns operators that the old default will go.
    """
    defaults = []
    for name, check_str, description, operations, *old in table:
        deprecated = None
        if old:
            deprecated = policy.DeprecatedRule(
                name, old[0], deprecated_reason=DEPRECATED_REASON,
                deprecated_since=DEPRECATED_SINCE)
        defaults.append(policy.DocumentedRuleDefault(
            name, check_str, description,
            [{'method': method, 'path': path} for method, path in operations],
            deprecated_rule=deprecated, scope_types=PROJECT_SCOPE))
    return defaults
