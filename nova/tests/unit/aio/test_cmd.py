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

"""nova-aio's command line and the libvirt prerequisites message."""

import sys
from unittest import mock

import testtools

from nova.aio import real_hosts
from nova.cmd import aio


class TestCommandLine(testtools.TestCase):

    def test_demo_defaults(self):
        args = aio.build_parser().parse_args(['demo'])
        self.assertEqual((64, 2, 64, 1024, 'emulated'), (
            args.vpmem_size_mib, args.vpmem_count, args.bandwidth_mib,
            args.dirty_pages, args.hypervisor))

    def test_serve_options(self):
        args = aio.build_parser().parse_args(
            ['serve', '--port', '9999', '--state-dir', '/x'])
        self.assertEqual((9999, '/x'), (args.port, args.state_dir))

    def test_sizes_must_be_positive(self):
        self.assertRaises(SystemExit, aio.build_parser().parse_args,
                          ['demo', '--vpmem-count', '0'])

    def test_libvirt_missing_exits_2_with_install_command(self):
        printed = []
        console = mock.Mock(
            print=lambda text, **kwargs: printed.append(text))
        with mock.patch.object(real_hosts, 'missing_requirements',
                               return_value=['libvirtd (Debian: x)']), \
                mock.patch('rich.console.Console', return_value=console), \
                mock.patch.object(aio.demo, 'run') as run:
            status = aio.main(['demo', '--hypervisor', 'libvirt'])
        self.assertEqual(2, status)
        run.assert_not_called()
        message = '\n'.join(printed)
        self.assertIn('libvirtd (Debian: x)', message)
        self.assertIn('apt-get install -y --no-install-recommends '
                      'libvirt-daemon', message)
        self.assertNotIn('pip install', message)

    def test_only_libvirt_python_missing_names_this_python(self):
        message = real_hosts.explain_missing(
            ['libvirt-python (pip install libvirt-python)'])
        self.assertIn('%s -m pip install libvirt-python' % sys.executable,
                      message)
        self.assertNotIn('apt-get', message)
