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

from oslo_policy import policy

import nova.conf
from nova import policies

CONF = nova.conf.CONF

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


def authorize(context, action, target=None):
    """True if ``context`` may do ``action`` on ``target``."""
    creds = context.to_policy_values()
    # The request's administrator status is decided at authentication
    # (noauth2 token, or the admin role with Keystone).
    creds['is_admin'] = context.is_admin
    if target is None:
        target = {'project_id': context.project_id,
                  'user_id': context.user_id}
    return enforcer().enforce(action, target, creds)
