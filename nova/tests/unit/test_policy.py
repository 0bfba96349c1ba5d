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

"""The default rules, administrator status by policy, and the sample."""

import os
import subprocess
import sys

import fixtures
from oslo_config import cfg
from oslo_policy import generator

from nova.api import policy
from nova import context as nova_context
from nova import policies
from nova.policies import base
from nova import test
from nova.tests.unit.api import test_policy as api_test_policy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
GENERATOR_CONF = os.path.join(ROOT, 'etc', 'nova',
                              'nova-policy-generator.conf')

# Every rule name there was before the persona defaults: policy files
# and tests name them, so none may disappear.
NAMES_BEFORE_PERSONAS = [
    'context_is_admin',
    'admin_api',
    'admin_or_owner',
    'project_reader_api',
    'project_reader_or_admin',
    'os_compute_api:servers:create',
    'os_compute_api:servers:index',
    'os_compute_api:servers:detail',
    'os_compute_api:servers:show',
    'os_compute_api:servers:delete',
    'os_compute_api:servers:update',
    'os_compute_api:servers:index:get_all_tenants',
    'os_compute_api:servers:detail:get_all_tenants',
    'os_compute_api:servers:allow_all_filters',
    'os_compute_api:servers:show:host_status',
    'os_compute_api:servers:show:host_status:unknown-only',
    'os_compute_api:os-extended-server-attributes',
    'os_compute_api:os-lock-server:lock',
    'os_compute_api:os-lock-server:unlock',
    'os_compute_api:os-lock-server:unlock:unlock_override',
    'os_compute_api:servers:confirm_resize',
    'os_compute_api:servers:revert_resize',
    'os_compute_api:servers:stop',
    'os_compute_api:servers:start',
    'os_compute_api:servers:reboot',
    'os_compute_api:os-pause-server:pause',
    'os_compute_api:os-pause-server:unpause',
    'os_compute_api:os-migrate-server:migrate_live',
    'os_compute_api:os-migrate-server:migrate',
    'os_compute_api:servers:migrations:index',
    'os_compute_api:servers:migrations:show',
    'os_compute_api:servers:migrations:delete',
    'os_compute_api:servers:migrations:force_complete',
    'os_compute_api:os-instance-actions:list',
    'os_compute_api:os-instance-actions:show',
    'os_compute_api:os-instance-actions:events',
    'os_compute_api:os-instance-actions:events:details',
    'os_compute_api:os-migrations:index',
    'os_compute_api:os-services:list',
    'os_compute_api:os-hypervisors:list',
    'os_compute_api:os-hypervisors:list-detail',
    'os_compute_api:os-services:update',
    'os_compute_api:os-services:delete',
    'os_compute_api:os-hypervisors:show',
    'os_compute_api:os-hypervisors:statistics',
    'os_compute_api:os-hypervisors:uptime',
    'os_compute_api:os-hypervisors:search',
    'os_compute_api:os-aggregates:index',
    'os_compute_api:os-hypervisors:servers',
    'os_compute_api:os-flavor-manage:create',
    'os_compute_api:os-flavor-manage:update',
    'os_compute_api:os-flavor-manage:delete',
    'os_compute_api:os-flavor-access',
    'os_compute_api:os-flavor-access:add_tenant_access',
    'os_compute_api:os-flavor-access:remove_tenant_access',
    'os_compute_api:os-flavor-extra-specs:index',
    'os_compute_api:os-flavor-extra-specs:show',
    'os_compute_api:os-flavor-extra-specs:create',
    'os_compute_api:os-flavor-extra-specs:update',
    'os_compute_api:os-flavor-extra-specs:delete',
]

# The persona Nova gives each kind of call.
MEMBER = [
    'os_compute_api:servers:create', 'os_compute_api:servers:update',
    'os_compute_api:servers:delete', 'os_compute_api:servers:stop',
    'os_compute_api:servers:start', 'os_compute_api:servers:reboot',
    'os_compute_api:servers:confirm_resize',
    'os_compute_api:servers:revert_resize',
    'os_compute_api:os-lock-server:lock',
    'os_compute_api:os-lock-server:unlock',
    'os_compute_api:os-pause-server:pause',
    'os_compute_api:os-pause-server:unpause',
]
READER = [
    'os_compute_api:servers:index', 'os_compute_api:servers:detail',
    'os_compute_api:servers:show',
    'os_compute_api:os-instance-actions:list',
    'os_compute_api:os-instance-actions:show',
    'os_compute_api:os-flavor-extra-specs:index',
    'os_compute_api:os-flavor-extra-specs:show',
]
ADMIN = [
    'os_compute_api:os-migrate-server:migrate_live',
    'os_compute_api:os-migrate-server:migrate',
    'os_compute_api:os-migrations:index',
    'os_compute_api:servers:migrations:index',
    'os_compute_api:servers:index:get_all_tenants',
    'os_compute_api:servers:detail:get_all_tenants',
    'os_compute_api:os-hypervisors:list',
    'os_compute_api:os-services:list',
    'os_compute_api:os-aggregates:index',
    'os_compute_api:os-flavor-manage:create',
]


def _rules():
    return {rule.name: rule for rule in policies.list_rules()}


class DefaultRulesTestCase(test.NoDBTestCase):

    def test_no_rule_name_disappeared(self):
        self.assertEqual([], sorted(set(NAMES_BEFORE_PERSONAS) -
                                    set(_rules())))

    def test_personas(self):
        rules = _rules()
        for names, check in ((MEMBER, 'rule:project_member_or_admin'),
                             (READER, 'rule:project_reader_or_admin'),
                             (ADMIN, 'rule:admin_api')):
            for name in names:
                self.assertEqual(check, rules[name].check_str, name)

    def test_base_rules(self):
        rules = _rules()
        self.assertEqual('role:admin', rules['context_is_admin'].check_str)
        self.assertEqual('is_admin:True', rules['admin_api'].check_str)
        self.assertEqual('role:member and project_id:%(project_id)s',
                         rules['project_member_api'].check_str)
        self.assertEqual('role:reader and project_id:%(project_id)s',
                         rules['project_reader_api'].check_str)
        self.assertTrue(rules['admin_or_owner'].deprecated_for_removal)

    def test_every_api_rule_is_project_scoped_and_documented(self):
        base_names = {rule.name for rule in base.RULES}
        for name, rule in _rules().items():
            if name in base_names:
                continue
            self.assertEqual(['project'], rule.scope_types, name)
            self.assertTrue(rule.operations, name)
            self.assertTrue(rule.description, name)

    def test_old_defaults_are_deprecated_rules(self):
        rules = _rules()
        for name in MEMBER + READER[:3]:
            self.assertEqual('rule:admin_or_owner',
                             rules[name].deprecated_rule.check_str, name)
        # Rules whose default did not change carry no old one.
        for name in ADMIN + READER[3:]:
            self.assertIsNone(rules[name].deprecated_rule, name)


class AdminByPolicyTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        policy.reset()
        self.addCleanup(policy.reset)

    def test_admin_role_makes_an_admin_by_default(self):
        self.assertTrue(nova_context.RequestContext(
            'u', 'p', roles=['admin']).is_admin)
        self.assertFalse(nova_context.RequestContext(
            'u', 'p', roles=['member', 'reader']).is_admin)

    def test_the_policy_file_names_the_admin_role(self):
        self.useFixture(api_test_policy.PolicyFile(self, {
            'context_is_admin': 'role:cloud-admin'}))
        self.assertTrue(nova_context.RequestContext(
            'u', 'p', roles=['cloud-admin']).is_admin)
        self.assertFalse(nova_context.RequestContext(
            'u', 'p', roles=['admin']).is_admin)

    def test_explicit_is_admin_wins(self):
        self.assertFalse(nova_context.RequestContext(
            'u', 'p', roles=['admin'], is_admin=False).is_admin)
        self.assertTrue(nova_context.get_admin_context().is_admin)

    def test_elevated_stays_admin_whatever_the_policy(self):
        self.useFixture(api_test_policy.PolicyFile(self, {
            'context_is_admin': 'role:cloud-admin'}))
        ctxt = nova_context.RequestContext('u', 'p', roles=['member'])
        self.assertFalse(ctxt.is_admin)
        elevated = ctxt.elevated()
        self.assertTrue(elevated.is_admin)
        self.assertTrue(policy.authorize(
            elevated, 'os_compute_api:os-migrate-server:migrate_live',
            {'project_id': 'other'}))

    def test_status_survives_the_trip_over_rpc(self):
        self.useFixture(api_test_policy.PolicyFile(self, {
            'context_is_admin': 'role:cloud-admin'}))
        ctxt = nova_context.RequestContext('u', 'p', roles=['cloud-admin'])
        back = nova_context.RequestContext.from_dict(ctxt.to_dict())
        self.assertTrue(back.is_admin)

    def test_check_is_admin(self):
        ctxt = nova_context.RequestContext('u', 'p', roles=['admin'],
                                           is_admin=False)
        self.assertTrue(policy.check_is_admin(ctxt))


class SampleTestCase(test.NoDBTestCase):
    """``tox -e genpolicy``: the generator config and entry points."""

    def _generate(self, function, args):
        out = self.useFixture(fixtures.TempDir()).path + '/policy.yaml'
        function(args=args + ['--output-file', out], conf=cfg.ConfigOpts())
        with open(out) as f:
            return f.read()

    def test_sample_holds_every_rule(self):
        sample = self._generate(generator.generate_sample,
                                ['--config-file', GENERATOR_CONF])
        for name in _rules():
            self.assertIn('#"%s": ' % name, sample)
        self.assertIn('Intended scope(s): project', sample)
        self.assertIn('"os_compute_api:servers:delete":"rule:admin_or_owner"'
                      ' has been', sample.replace('\n# ', ' '))

    def test_effective_policy_from_the_enforcer_entry_point(self):
        # oslopolicy-policy-generator parses the global configuration: run
        # it in a process of its own, as an operator does.
        out = self.useFixture(fixtures.TempDir()).path + '/policy.yaml'
        subprocess.run(
            [sys.executable, '-c',
             'import sys; from oslo_policy import generator; '
             'generator.generate_policy(sys.argv[1:])',
             '--namespace', 'nova', '--output-file', out],
            check=True, cwd=ROOT, capture_output=True)
        with open(out) as f:
            effective = f.read()
        self.assertIn('"context_is_admin": "role:admin"', effective)
        self.assertIn('"os_compute_api:servers:show": '
                      '"rule:project_reader_or_admin"', effective)
