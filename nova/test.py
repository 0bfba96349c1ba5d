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

"""Base classes for nova-vpmem's tests.

``TestCase`` gives each test a clean configuration, a private in-memory
database with the real schema, and oslo.messaging's fake:// transport, so
tests neither see each other's state nor need anything running.
"""

import os

import fixtures
import testtools

from nova import context
from nova.tests import fixtures as nova_fixtures


class TestCase(testtools.TestCase):
    """Base class for unit and functional tests."""

    # Tests that never touch the database can turn this off to run faster.
    USES_DB = True
    # Tests that start nova-compute need placement: it reports its
    # inventory there when it starts.
    USES_PLACEMENT = False

    def setUp(self):
        super().setUp()
        timeout = int(os.environ.get('OS_TEST_TIMEOUT', 0) or 0)
        if timeout > 0:
            self.useFixture(fixtures.Timeout(timeout, gentle=True))
        if os.environ.get('OS_STDOUT_CAPTURE') in ('1', 'True', 'true'):
            stdout = self.useFixture(fixtures.StringStream('stdout')).stream
            self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
        if os.environ.get('OS_STDERR_CAPTURE') in ('1', 'True', 'true'):
            stderr = self.useFixture(fixtures.StringStream('stderr')).stream
            self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
        self.useFixture(fixtures.FakeLogger(level=10, nuke_handlers=False,
                                            format='%(asctime)s %(levelname)s'
                                                   ' %(name)s %(message)s'))
        self.useFixture(fixtures.TempHomeDir())
        self.conf = self.useFixture(nova_fixtures.ConfFixture()).conf

        from nova import objects
        objects.register_all()

        if self.USES_DB:
            self.useFixture(nova_fixtures.Database())
        self.rpc = self.useFixture(nova_fixtures.RPCFixture())
        if self.USES_PLACEMENT:
            self.placement = self.useFixture(
                nova_fixtures.PlacementFixture())
        self.context = context.get_admin_context()

    def flags(self, group=None, **overrides):
        """Override configuration options for this test only."""
        for name, value in overrides.items():
            self.conf.set_override(name, value, group=group)

    def start_service(self, binary, host=None, **kwargs):
        """Start a nova service in this process over fake:// messaging."""
        from nova import service
        if host is not None:
            self.flags(host=host)
        svc = service.Service.create(binary=binary, host=host, **kwargs)
        svc.start()
        self.addCleanup(svc.kill)
        return svc


class NoDBTestCase(TestCase):
    """A TestCase for code that never touches the database."""

    USES_DB = False
