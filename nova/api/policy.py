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

"""Authorization of API actions with oslo.policy (rules: nova.policies)."""

from oslo_policy import opts as policy_opts
from oslo_policy import policy

import nova.conf
from nova import policies

CONF = nova.conf.CONF
# [oslo_policy] exists from import on, not only once the first request
# built the enforcer: configuration can be read and set before that.
policy_opts.set_defaults(CONF)

_ENFORCER = None


def enforcer():
    global _ENFORCER
    if _ENFORCER is None:
        _ENFORCER = policy.Enforcer(CONF)
        _ENFORCER.register_defaults(policies.list_rules())
    return _ENFORCER


def reset():
    global _ENFORCER
    _ENFORCER = None


def check_is_admin(context):
    """Whether ``context``'s roles make it an administrator.

    The answer of the ``context_is_admin`` rule, so the policy file, not
    the code, names the administrator role. The target is the context's
    own project: the rule may compare with it.
    """
    target = {'project_id': context.project_id,
              'user_id': context.user_id}
    return enforcer().enforce('context_is_admin', target,
                              context.to_policy_values())


def authorize(context, action, target=None):
    """True if ``context`` may do ``action`` on ``target``.

    False too when the token's scope (system, domain) is not one the rule
    accepts: every API rule acts in a project.
    """
    creds = context.to_policy_values()
    # The context's administrator status, decided once by context_is_admin
    # (or set for the services' own work), is what ``is_admin:True`` tests.
    creds['is_admin'] = context.is_admin
    if target is None:
        target = {'project_id': context.project_id,
                  'user_id': context.user_id}
    return enforcer().enforce(action, target, creds)
