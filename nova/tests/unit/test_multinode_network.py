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

"""Tests of the multinode network and namespace hosts without root: a fake
``ip`` keeps the state the real one would, libvirtd is not started (the
``check`` command of libvirt_hosts does that)."""

import json
import os
import signal
import subprocess
from unittest import mock

import fixtures

from nova import test
from nova.tests.multinode import libvirt_hosts
from nova.tests.multinode import network


class FakeIp:
    """Just enough of iproute2 for network.py: links, namespaces, addresses
    and veth pairs, with every command recorded."""

    def __init__(self):
        self.links = {None: {'lo': {}, 'eth0': {}}}  # namespace -> links
        self.pids = {}
        self.commands = []

    def __call__(self, argv, capture_output=True, text=True):
        self.commands.append(' '.join(argv))
        args = list(argv[1:])
        namespace = None
        if args[:1] == ['-n']:
            namespace, args = args[1], args[2:]
        as_json = args[:1] == ['-j']
        if as_json:
            args = args[1:]
        out = self._do(namespace, [a for a in args if a not in ('-4', '-s')])
        if as_json:
            out = json.dumps(out)
        return subprocess.CompletedProcess(argv, 0, out or '', '')

    def _do(self, ns, args):
        links = self.links[ns]
        if args[:2] == ['netns', 'list']:
            return [{'name': n} for n in self.links if n]
        if args[:2] == ['netns', 'add']:
            self.links[args[2]] = {'lo': {}}
        elif args[:2] == ['netns', 'del']:
            del self.links[args[2]]
        elif args[:2] == ['netns', 'pids']:
            return ' '.join(map(str, self.pids.get(args[2], ())))
        elif args[:2] == ['link', 'show']:
            names = [args[3]] if 'dev' in args else list(links)
            return [{'ifname': n, 'stats64': {'rx': {'bytes': 1},
                                              'tx': {'bytes': 2}}}
                    for n in names]
        elif args[:3] == ['link', 'add', network.BRIDGE]:
            links[network.BRIDGE] = {}
        elif args[:2] == ['link', 'add']:  # a veth pair
            links[args[2]] = {'peer': (args[9], args[7])}
            self.links[args[9]][args[7]] = {'peer': (ns, args[2])}
        elif args[:2] == ['link', 'del']:
            peer = links.pop(args[2]).get('peer')
            if peer:
                self.links[peer[0]].pop(peer[1], None)
        elif args[:2] == ['addr', 'show']:
            return [{'ifname': n, 'addr_info': [{'local': a}]}
                    for n, attrs in links.items()
                    for a in attrs.get('addresses', ())]
        elif args[:1] == ['addr']:
            links[args[4]]['addresses'] = {args[2].split('/')[0]}
        return ''


class NetworkTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.ip = FakeIp()
        self.useFixture(fixtures.MockPatch('subprocess.run',
                                           side_effect=self.ip))

    def test_compute_names_and_addresses(self):
        link = network.ComputeLink(2)
        self.assertEqual(('nmn-c2', 'nmn-v2', '10.77.0.12'),
                         (link.namespace, link.bridge_port, link.address))
        self.assertRaises(ValueError, network.ComputeLink, 0)
        self.assertRaises(ValueError, network.ComputeLink, 100)

    def test_setup_builds_bridge_namespaces_and_pairs(self):
        network.setup(2)
        root = self.ip.links[None]
        self.assertEqual({'10.77.0.1'}, root['nmn-br0']['addresses'])
        for index in (1, 2):
            inside = self.ip.links['nmn-c%d' % index]
            self.assertEqual({'10.77.0.1%d' % index},
                             inside['eth0']['addresses'])
            self.assertIn('nmn-v%d' % index, root)
        commands = '\n'.join(self.ip.commands)
        self.assertIn('ip link set nmn-v1 master nmn-br0 up', commands)
        self.assertIn('ip -n nmn-c1 link set lo up', commands)
        self.assertNotIn('route', commands)
        self.assertEqual(['nmn-br0', 'nmn-c1', 'nmn-c2', 'nmn-v1', 'nmn-v2'],
                         network.leftovers())

    def test_setup_twice_creates_nothing_more(self):
        network.setup(2)
        del self.ip.commands[:]
        network.setup(2)
        self.assertFalse([c for c in self.ip.commands
                          if ' add ' in c and 'addr' not in c])

    def test_half_made_pair_is_made_again(self):
        network.setup(1)
        # A crash between creating the pair and moving its end: only the
        # bridge side is left.
        self.ip.links['nmn-c1'].pop('eth0')
        del self.ip.commands[:]
        network.ensure_compute(1)
        self.assertIn('ip link del nmn-v1', self.ip.commands)
        self.assertIn('eth0', self.ip.links['nmn-c1'])

    def test_bridge_address_held_elsewhere_is_refused(self):
        self.ip.links[None]['nmn-dummy0'] = {'addresses': {'10.77.0.1'}}
        self.assertRaises(network.NetworkError, network.ensure_bridge)
        self.assertNotIn('nmn-br0', self.ip.links[None])

    def test_teardown_removes_ours_only_ports_before_bridge(self):
        network.setup(2)
        self.ip.links[None]['nmn-dummy0'] = {}
        self.ip.links['nmn-other'] = {}
        removed = network.teardown()
        self.assertEqual(['nmn-v1', 'nmn-v2', 'nmn-br0'], removed['links'])
        self.assertEqual(['nmn-c1', 'nmn-c2'], removed['namespaces'])
        self.assertEqual({'lo', 'eth0', 'nmn-dummy0'},
                         set(self.ip.links[None]))
        self.assertIn('nmn-other', self.ip.links)
        self.assertEqual([], network.leftovers())
        # Twice, or with nothing there: nothing to do, no error.
        self.assertEqual({'processes': [], 'links': [], 'namespaces': []},
                         network.teardown())

    def test_teardown_ends_processes_left_in_namespaces(self):
        network.setup(1)
        self.ip.pids['nmn-c1'] = [4242]
        with mock.patch.object(network, '_end', return_value=[]) as end:
            removed = network.teardown()
        end.assert_called_once_with([4242])
        self.assertEqual([4242], removed['processes'])

    def test_teardown_without_ending_refuses_busy_namespace(self):
        network.setup(1)
        self.ip.pids['nmn-c1'] = [4242]
        self.assertRaises(network.NetworkError, network.teardown,
                          end_processes=False)
        self.assertIn('nmn-c1', self.ip.links)

    def test_byte_counters(self):
        self.assertEqual((1, 2), network.byte_counters('nmn-v1'))


class EndTestCase(test.NoDBTestCase):

    def test_sigkill_follows_sigterm_for_survivors(self):
        alive = {10: [True, False], 11: [True, True, False]}
        sent = []

        def fake_alive(pid):
            states = alive[pid]
            return states.pop(0) if len(states) > 1 else states[0]

        with mock.patch('os.kill', side_effect=lambda p, s: sent.append(
                (p, s))), \
                mock.patch.object(network, '_alive', side_effect=fake_alive):
            left = network._end([10, 11], timeout=0)
        self.assertEqual([], left)
        self.assertEqual([(10, signal.SIGTERM), (11, signal.SIGTERM),
                          (11, signal.SIGKILL)], sent)


class ExecArgvTestCase(test.NoDBTestCase):

    def test_root_in_namespace(self):
        self.assertEqual(['ip', 'netns', 'exec', 'nmn-c1', 'true'],
                         network.exec_argv('nmn-c1', ['true']))

    def test_as_another_user_after_entering(self):
        argv = network.exec_argv('nmn-c1', ['libvirtd', '--listen'],
                                 user=(999, 995))
        self.assertEqual(['ip', 'netns', 'exec', 'nmn-c1', 'setpriv',
                          '--reuid=999', '--regid=995', '--clear-groups',
                          '--', 'libvirtd', '--listen'], argv)

    def test_user_by_name(self):
        entry = mock.Mock(pw_uid=5, pw_gid=6)
        with mock.patch('pwd.getpwnam', return_value=entry):
            argv = network.exec_argv('nmn-c1', ['x'], user='someone')
        self.assertIn('--reuid=5', argv)
        self.assertIn('--regid=6', argv)


class NetfilterNoteTestCase(test.NoDBTestCase):

    def _note(self, content):
        opener = mock.mock_open(read_data=content)
        if content is None:
            opener.side_effect = FileNotFoundError
        with mock.patch('builtins.open', opener):
            return network.netfilter_note()

    def test_note(self):
        self.assertIsNone(self._note(None))
        self.assertIsNone(self._note('0\n'))
        self.assertIn('-i nmn-br0 -o nmn-br0', self._note('1\n'))


class NamespaceHostTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.useFixture(fixtures.TempDir()).path

    def _host(self, tcp_port=libvirt_hosts.LIBVIRTD_TCP_PORT):
        return libvirt_hosts.NamespaceHost(
            name='compute2', base_dir=os.path.join(self.base, 'c2'),
            host_uuid='uuid-2', migration_ports=(49168, 49183), uid=999,
            gid=995, link=network.ComputeLink(2), tcp_port=tcp_port)

    def _config(self, host, name):
        with open(os.path.join(host.base_dir, 'config', 'libvirt',
                               name)) as f:
            return f.read()

    def test_tcp_listener_on_namespace_address(self):
        host = self._host()
        host._write_config()
        conf = self._config(host, 'libvirtd.conf')
        for line in ('listen_tcp = 1', 'listen_tls = 0', 'auth_tcp = "none"',
                     'listen_addr = "10.77.0.12"', 'tcp_port = "16509"',
                     'host_uuid = "uuid-2"'):
            self.assertIn(line, conf)
        self.assertIn('migration_address = "10.77.0.12"',
                      self._config(host, 'qemu.conf'))
        self.assertEqual('qemu+tcp://10.77.0.12:16509/session',
                         host.peer_uri)
        self.assertEqual('tcp://10.77.0.12', host.migrate_uri)
        argv, kwargs = host._daemon_command()
        self.assertEqual({}, kwargs)
        self.assertEqual(['ip', 'netns', 'exec', 'nmn-c2'], argv[:4])
        self.assertEqual('--listen', argv[-1])

    def test_unix_only(self):
        host = self._host(tcp_port=None)
        host._write_config()
        self.assertNotIn('listen_tcp', self._config(host, 'libvirtd.conf'))
        self.assertEqual(host.uri, host.peer_uri)
        self.assertNotIn('--listen', host._daemon_command()[0])

    def test_conf_overrides(self):
        host = self._host()
        overrides = host.conf_overrides()
        self.assertEqual(host.uri, overrides[('libvirt', 'connection_uri')])
        self.assertEqual('10.77.0.12', overrides[
            ('libvirt', 'live_migration_inbound_addr')])
        self.assertEqual('10.77.0.12', overrides[
            ('compute', 'migration_data_address')])
        overrides = host.conf_overrides(tcp_control=True)
        self.assertEqual('qemu+tcp://10.77.0.12:16509/session',
                         overrides[('libvirt', 'connection_uri')])
        self.assertEqual('tcp', overrides[
            ('libvirt', 'live_migration_scheme')])

    def test_start_needs_root(self):
        host = self._host()
        host.uid = None
        self.assertRaises(RuntimeError, host.start)

    def test_dest_xml_changes_only_nvdimm_paths(self):
        xml = ("<domain><devices><memory model='nvdimm'><source><path>/a"
               "</path></source></memory><memory model='dimm'><source>"
               "<path>/keep</path></source></memory></devices></domain>")
        out = libvirt_hosts._with_nvdimm_path(xml, '/b')
        self.assertIn('<path>/b</path>', out)
        self.assertIn('<path>/keep</path>', out)
        self.assertNotIn('<path>/a</path>', out)
