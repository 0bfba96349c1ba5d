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

"""``nova-aio demo --hypervisor libvirt``: the demo on real local hosts.

Run as a subprocess of this interpreter, from a state directory as deep
as a checkout's (``<checkout>/.aio/demo``), where the daemons' socket
paths are longest.
"""

import os
import subprocess
import sys

import fixtures
import testtools
from testtools import content

from nova.virt.libvirt import local_hosts

REAL_HOST_CHECKS = (
    'migration completed',
    "destination vpmem holds the guest's final stamps",
    'source namespaces erased (read back as zeros)',
    'source namespaces free',
    'placement, tracker and DB agree on compute-a',
    'placement, tracker and DB agree on compute-b',
)


class AIODemoOnLibvirtTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        missing = local_hosts.missing_requirements()
        if missing:
            self.fail('the integration tier needs %s; install with: %s'
                      % (', '.join(missing), local_hosts.INSTALL_HINT))
        tmp = self.useFixture(fixtures.TempDir()).path
        self.state_dir = os.path.join(tmp, 'home', 'operator', 'src',
                                      'nova-vpmem', '.aio', 'demo')

    def demo(self, *options, timeout=300):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        result = subprocess.run(
            [sys.executable, '-m', 'nova.cmd.aio', 'demo',
             '--hypervisor', 'libvirt', '--state-dir', self.state_dir] +
            list(options),
            capture_output=True, text=True, env=env, timeout=timeout)
        self.addDetail('output', content.text_content(
            result.stdout + result.stderr))
        log = os.path.join(self.state_dir, 'nova-aio.log')
        if os.path.exists(log):
            self.addDetail('nova-aio.log', content.content_from_file(
                log, buffer_now=True))
        return result

    def test_demo_on_two_real_hosts(self):
        result = self.demo('--vpmem-size-mib', '16')
        self.assertEqual(0, result.returncode)
        lines = result.stdout.splitlines()
        for name in REAL_HOST_CHECKS:
            self.assertIn('verified: %s' % name, lines)
        self.assertIn('nova-aio demo: every check verified', result.stdout)
        self.assertIn('qemu+unix:///session', result.stdout)
        self.assertIn('prediction (pre-flight estimator): ', result.stdout)

    def test_more_than_one_gib_of_vpmem_at_a_chosen_pace(self):
        # 3 x 384 MiB: the stamp guest used to map a single GiB, so its
        # check failed on the third namespace. It writes 300 pages/s
        # here, the pace its kernel command line sets.
        result = self.demo('--vpmem-size-mib', '384', '--vpmem-count', '3',
                           '--dirty-pages', '300', timeout=600)
        self.assertEqual(0, result.returncode)
        lines = result.stdout.splitlines()
        for name in REAL_HOST_CHECKS:
            self.assertIn('verified: %s' % name, lines)
        self.assertIn('at most 300 pages/s', result.stdout)
        # 300 x 4 KiB = 1.2 MiB/s, measured from the guest's counter.
        self.assertRegex(result.stdout, r'the guest dirties (1\.[0-3]) MiB/s')
