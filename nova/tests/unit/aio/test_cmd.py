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

import json
import os
import sys
from unittest import mock

import fixtures
import testtools

from nova.aio import cloud as aio_cloud
from nova.aio import real_hosts
from nova.aio import serve
from nova.cmd import aio


class TestCommandLine(testtools.TestCase):

    def test_demo_defaults(self):
        args = aio.build_parser().parse_args(['demo'])
        self.assertEqual((64, 2, 'emulated'), (
            args.vpmem_size_mib, args.vpmem_count, args.hypervisor))
        self.assertEqual(({'bandwidth_mib': 64,
                           'dirty_pages_per_second': 1024,
                           'completion_timeout': None}, None),
                         aio.migration_options(args))

    def test_serve_options(self):
        args = aio.build_parser().parse_args(
            ['serve', '--port', '9999', '--state-dir', '/x'])
        self.assertEqual((9999, '/x'), (args.port, args.state_dir))
        # Quiet guests and an unlimited bandwidth unless asked.
        self.assertEqual(({'bandwidth_mib': 0, 'dirty_pages_per_second': 0,
                           'completion_timeout': None}, None),
                         aio.migration_options(args))

    def test_demo_and_serve_share_the_migration_options(self):
        for command in ('demo', 'serve'):
            args = aio.build_parser().parse_args(
                [command, '--bandwidth-mib', '3', '--dirty-pages', '700',
                 '--completion-timeout', '5'])
            self.assertEqual(({'bandwidth_mib': 3,
                               'dirty_pages_per_second': 700,
                               'completion_timeout': 5}, None),
                             aio.migration_options(args), command)

    def test_migration_options_reach_demo_and_serve(self):
        console = mock.Mock()
        with mock.patch('rich.console.Console', return_value=console), \
                mock.patch.object(aio.demo, 'run', return_value=0) as run, \
                mock.patch.object(aio.serve, 'run',
                                  return_value=0) as serve_run:
            aio.main(['demo', '--bandwidth-mib', '2', '--dirty-pages', '9',
                      '--completion-timeout', '4'])
            aio.main(['serve', '--bandwidth-mib', '2', '--dirty-pages',
                      '9', '--completion-timeout', '4'])
        for call in (run.call_args, serve_run.call_args):
            options = call[0][0]
            self.assertEqual((2, 9, 4), (options.bandwidth_mib,
                                         options.dirty_pages_per_second,
                                         options.completion_timeout))

    def test_negative_rates_are_refused(self):
        for option in ('--bandwidth-mib', '--dirty-pages',
                       '--completion-timeout'):
            self.assertRaises(SystemExit, aio.build_parser().parse_args,
                              ['serve', option, '-1'])

    def test_no_writes_refused_with_real_hosts(self):
        printed = []
        console = mock.Mock(
            print=lambda text, **kwargs: printed.append(text))
        for command in ('demo', 'serve'):
            with mock.patch('rich.console.Console', return_value=console), \
                    mock.patch.object(real_hosts, 'missing_requirements',
                                      return_value=[]), \
                    mock.patch.object(aio.demo, 'run') as run, \
                    mock.patch.object(aio.serve, 'run') as serve_run:
                status = aio.main([command, '--hypervisor', 'libvirt',
                                   '--dirty-pages', '0'])
            self.assertEqual(2, status)
            run.assert_not_called()
            serve_run.assert_not_called()
        self.assertIn('--dirty-pages 0 is not available with --hypervisor '
                      'libvirt', printed[0])

    def test_real_hosts_take_a_pace(self):
        for command in ('demo', 'serve'):
            args = aio.build_parser().parse_args(
                [command, '--hypervisor', 'libvirt', '--dirty-pages', '300'])
            shared, refused = aio.migration_options(args)
            self.assertIsNone(refused)
            self.assertEqual(300, shared['dirty_pages_per_second'])

    def test_real_hosts_without_dirty_pages_start(self):
        args = aio.build_parser().parse_args(
            ['demo', '--hypervisor', 'libvirt', '--bandwidth-mib', '1'])
        shared, refused = aio.migration_options(args)
        self.assertIsNone(refused)
        self.assertEqual((1, 0), (shared['bandwidth_mib'],
                                  shared['dirty_pages_per_second']))

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


class TestMigrationOptionsReachTheHosts(testtools.TestCase):

    def test_completion_timeout_and_bandwidth_overrides(self):
        options = aio_cloud.CloudOptions(state_dir='/x', bandwidth_mib=3,
                                         completion_timeout=5)
        found = aio_cloud.compute_overrides(options, 'compute-a', {})
        self.assertEqual(3, found[('libvirt', 'live_migration_bandwidth')])
        self.assertEqual(5, found[('libvirt',
                                   'live_migration_completion_timeout')])

    def test_option_default_left_alone(self):
        options = aio_cloud.CloudOptions(state_dir='/x')
        found = aio_cloud.compute_overrides(options, 'compute-a', {})
        self.assertNotIn(('libvirt', 'live_migration_completion_timeout'),
                         found)


class TestServeGuestWriters(testtools.TestCase):

    def _guest(self, uuid, workload=None, job=None, incoming=None):
        return mock.Mock(uuid=uuid, workload=workload, job=job,
                         incoming=incoming)

    def test_quiet_running_guests_get_a_writer(self):
        host = mock.Mock()
        host.active_guests.return_value = [
            self._guest('quiet'), self._guest('busy', workload=object()),
            self._guest('leaving', job=object()),
            self._guest('arriving', incoming=object())]
        with mock.patch.object(serve.emulator, 'get_host',
                               return_value=host) as get_host:
            given = serve.GuestWriters(['compute-a'], 300).give_writers()
        get_host.assert_called_once_with('compute-a', create=False)
        self.assertEqual(['quiet'], given)
        host.set_workload.assert_called_once_with(
            'quiet', dirty_pages_per_second=300)

    def test_a_guest_that_starts_migrating_is_tried_again(self):
        host = mock.Mock()
        host.active_guests.return_value = [self._guest('g')]
        host.set_workload.side_effect = serve.emulator.libvirtError('busy')
        with mock.patch.object(serve.emulator, 'get_host',
                               return_value=host):
            writers = serve.GuestWriters(['compute-a'], 300)
            self.assertEqual([], writers.give_writers())
            host.set_workload.side_effect = None
            self.assertEqual(['g'], writers.give_writers())

    def test_unknown_hosts_are_skipped(self):
        with mock.patch.object(serve.emulator, 'get_host',
                               return_value=None):
            self.assertEqual([], serve.GuestWriters(
                ['compute-a'], 1).give_writers())


class TestStampGuestPace(testtools.TestCase):

    def _images(self, pages_per_second):
        hosts = real_hosts.RealHosts('/x', ['a'],
                                     pages_per_second=pages_per_second)
        hosts.kernel = '/k/vpmem-stamp.elf'
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'images.json')
        with open(hosts.write_images_file(path)) as f:
            return json.load(f)[0]['properties']

    def test_pace_is_the_kernel_command_line(self):
        self.assertEqual({'kernel': '/k/vpmem-stamp.elf',
                          'cmdline': 'pages_per_second=300'},
                         self._images(300))

    def test_own_pace_without_a_command_line(self):
        self.assertEqual({'kernel': '/k/vpmem-stamp.elf'},
                         self._images(None))
