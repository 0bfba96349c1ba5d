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

"""Rules of key pairs (os-keypairs): a user's own, or an administrator.

Key pairs belong to a user, not to a project: the target of every rule is
the user the request names (``user_id``, 2.10, administrators only by
default) or the caller.
"""

from nova.policies import base

# The owner of the key pairs, or an administrator acting for any user.
ADMIN_OR_KEYPAIR_OWNER = '(%s) or user_id:%%(user_id)s' % base.ADMIN

KEYPAIRS = 'os_compute_api:os-keypairs:%s'

TABLE = [
    (KEYPAIRS % 'index', ADMIN_OR_KEYPAIR_OWNER,
     "List a user's key pairs.", [('GET', '/os-keypairs')]),
    (KEYPAIRS % 'create', ADMIN_OR_KEYPAIR_OWNER,
     'Create or import a key pair.', [('POST', '/os-keypairs')]),
    (KEYPAIRS % 'show', ADMIN_OR_KEYPAIR_OWNER, 'Show a key pair.',
     [('GET', '/os-keypairs/{keypair_name}')]),
    (KEYPAIRS % 'delete', ADMIN_OR_KEYPAIR_OWNER, 'Delete a key pair.',
     [('DELETE', '/os-keypairs/{keypair_name}')]),
]


def list_rules():
    return base.rules(TABLE)
