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

Operators override them in the policy file (``[oslo_policy]policy_file``);
``oslopolicy-sample-generator --namespace nova`` writes them all out. The
personas the rules are built from are in :mod:`nova.policies.base`; one
module per group of resources holds their rules.
"""

from nova.policies import base
from nova.policies import flavors
from nova.policies import hosts
from nova.policies import instance_actions
from nova.policies import keypairs
from nova.policies import migrations
from nova.policies import servers


def list_rules():
    """Every rule, base personas first (the sample file's order)."""
    return (base.RULES + servers.list_rules() + migrations.list_rules()
            + instance_actions.list_rules() + hosts.list_rules()
            + flavors.list_rules() + keypairs.list_rules())
