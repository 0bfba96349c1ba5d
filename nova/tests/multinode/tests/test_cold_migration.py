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

"""Cold migration with confirm and with revert, through the CLI.

The guest is halted between two pages first (its STOP request), so the
files are at rest when the source powers it off; wherever it boots again
it re-initialises its control page, stamps one more page and halts (the
copied request says STOP): its counter going on from the copied value,
and every other page as it was, prove that the data came along.
"""

from nova.tests.multinode import cli_check
from nova.tests.multinode.tests import base
from nova.virt.libvirt import devguest
from nova.virt.libvirt import local_hosts

compute = base.compute


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


class ColdMigrationTest(base.MultinodeTestCase):

    def _halt(self, name, index):
        """Boot on ``index``, let the guest write, halt it; its uuid, how
        many pages it wrote and the contents of its namespaces."""
        uuid = self.boot(name, index)
        self.verify_guest(name, index, pages=200)
        paths = self.guest_paths(index, uuid)
        written = local_hosts.stop_guest_writes(paths[0]).written
        return uuid, written, [_read(path) for path in paths]

    def _migrate(self, name, uuid, source, dest, written, snapshot):
        import libvirt
        self.cli('server', 'migrate', '--host', compute(dest), '--wait',
                 name)
        server = self.wait_server(name, 'VERIFY_RESIZE')
        self.assertEqual(compute(dest), server['OS-EXT-SRV-ATTR:host'])
        row = self.migrations(name)[0]
        self.assertEqual(('migration', 'finished', compute(source),
                          compute(dest)), (row['Type'], row['Status'],
                                           row['Source Compute'],
                                           row['Dest Compute']))
        # Runs on the destination; the source keeps it, powered off.
        self.assertEqual([dest], self.running_on(uuid))
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF,
                         self.domain_state(source, uuid))
        self._assert_carried(dest, uuid, written, snapshot)

    def _assert_carried(self, index, uuid, written, snapshot):
        """The namespaces of the guest on ``index`` hold ``snapshot``
        but for what the rebooted guest changed: its control page and
        the one page it stamped; its counter went on from ``written``.

        (The pattern check does not apply: the rebooted guest starts its
        passes again, so older pages look newer than its cursor.)
        """
        paths = self.guest_paths(index, uuid)
        self.assertTrue(all(p.startswith(self.host(index).namespace_dir)
                            for p in paths), paths)
        control = devguest.wait_halted(paths[0], timeout=base.TIMEOUT)
        self.assertEqual(written + 1, control.written)
        for number, (path, before) in enumerate(zip(paths, snapshot,
                                                    strict=True)):
            now = _read(path)
            self.assertEqual(len(before), len(now), path)
            skip = 2 * devguest.PAGE if number == 0 else 0
            self.assertTrue(before[skip:] == now[skip:],
                            '%s differs from the source\'s' % path)
        self.note('halted on %s after %d pages, namespaces as before' % (
            compute(index), control.written))

    def _resume(self, name, index, written):
        """ACTIVE on ``index`` only; the guest writes again."""
        uuid = self.assert_runs_on(name, index)
        path = self.guest_paths(index, uuid)[0]
        local_hosts.resume_guest_writes(path)
        cli_check._wait_for_pages(path, written + 20)

    def test_migrate_then_confirm(self):
        name = 'nmn-cold-confirm'
        uuid, written, snapshot = self._halt(name, 1)
        self._migrate(name, uuid, 1, 2, written, snapshot)

        self.cli('server', 'migration', 'confirm', name)
        self.wait_server(name)
        self.assertEqual('confirmed', self.migrations(name)[0]['Status'])
        self.assertIsNone(self.domain_state(1, uuid))
        self._resume(name, 2, written)
        self.assert_converged({2: 2})
        for namespace in ('ns0', 'ns1'):
            self.assertTrue(self.all_zeros(1, namespace), namespace)

    def test_migrate_then_revert(self):
        name = 'nmn-cold-revert'
        uuid, written, snapshot = self._halt(name, 2)
        self._migrate(name, uuid, 2, 1, written, snapshot)

        self.cli('server', 'migration', 'revert', name)
        self.wait_server(name)
        self.assertEqual('reverted', self.migrations(name)[0]['Status'])
        self.assertIsNone(self.domain_state(1, uuid))
        # Back on its own data, which the copy's run never touched.
        self._assert_carried(2, uuid, written, snapshot)
        self._resume(name, 2, written)
        self.assert_converged({2: 2})
        for namespace in ('ns0', 'ns1'):
            self.assertTrue(self.all_zeros(1, namespace), namespace)
