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

"""The demo's give-up: when (the product's budget), how (abort through
the API) and what it waits for (the cleanup)."""

import io
from unittest import mock

import fixtures
from rich import console as rich_console

from nova.aio import checks
from nova.aio import demo
from nova.aio import give_up
from nova.aio import http
import nova.conf
from nova import test
from nova.virt.libvirt import migration as lm

CONF = nova.conf.CONF
MiB = 1 << 20


def _clean(**changes):
    facts = dict(migration_status='cancelled', server_status='ACTIVE',
                 task_state=None, server_host='compute-a',
                 server_providers=['compute-a'], migration_providers=[],
                 dest_assigned=[], dest_placement_usage=0,
                 dest_not_erased=[])
    facts.update(changes)
    return give_up.Cleanup(**facts)


class BudgetTestCase(test.NoDBTestCase):

    def test_budget_is_the_drivers(self):
        self.flags(live_migration_completion_timeout=800, group='libvirt')
        # 64 MiB RAM + 2 x 64 MiB vpmem = 0.1875 GiB at 800 s per GiB.
        self.assertEqual(150, give_up.product_budget(CONF, 64, 128 * MiB))
        with mock.patch.object(lm, 'completion_timeout',
                               return_value=42) as budget:
            self.assertEqual(42, give_up.product_budget(CONF, 64,
                                                        128 * MiB))
        budget.assert_called_once_with(800, lm.data_gib(64, 0, 128 * MiB))

    def test_give_up_after_budget_and_grace(self):
        self.assertEqual(150 + give_up.GRACE, give_up.give_up_after(150))
        self.assertEqual(12, give_up.give_up_after(10, grace=2))
        # The grace is read when asked (a test, or a caller, may set it).
        self.useFixture(fixtures.MockPatchObject(give_up, 'GRACE', 1))
        self.assertEqual(11, give_up.give_up_after(10))

    def test_no_budget_never_gives_up(self):
        self.flags(live_migration_completion_timeout=0, group='libvirt')
        budget = give_up.product_budget(CONF, 64, 128 * MiB)
        self.assertEqual(0, budget)
        self.assertIsNone(give_up.give_up_after(budget))

    def test_advice_names_the_options(self):
        text = give_up.advice(1, 4096)
        self.assertIn('16.0 MiB/s', text)
        self.assertIn('1 MiB/s', text)
        for option in ('--bandwidth-mib', '--dirty-pages',
                       '--completion-timeout'):
            self.assertIn(option, text)


class AbortTestCase(test.NoDBTestCase):

    def test_abort_deletes_the_migration(self):
        api = mock.Mock()
        give_up.abort(api, 'srv', 7)
        api.request.assert_called_once_with('DELETE',
                                            '/servers/srv/migrations/7')

    def test_abort_refused_when_not_running(self):
        api = mock.Mock()
        api.request.side_effect = http.APIError('DELETE', 'u', 400, 'no')
        self.assertRaises(give_up.AbortRefused, give_up.abort, api, 's', 1)

    def test_other_errors_propagate(self):
        api = mock.Mock()
        api.request.side_effect = http.APIError('DELETE', 'u', 500, 'boom')
        self.assertRaises(http.APIError, give_up.abort, api, 's', 1)


class CleanupTestCase(test.NoDBTestCase):

    def test_clean_abort_passes_every_check(self):
        results = give_up.cleanup_checks(_clean(), 'compute-a', 'compute-b')
        self.assertEqual(4, len(results))
        self.assertEqual([], checks.failed(results))

    def test_each_leftover_fails_its_check(self):
        leftovers = {
            'aborted migration is final': {'migration_status': 'running'},
            'server ACTIVE on the source after the abort': {
                'server_status': 'MIGRATING', 'task_state': 'migrating'},
            'allocations only on the source after the abort': {
                'migration_providers': ['compute-b']},
            'destination namespaces free and erased': {
                'dest_not_erased': ['ns0']},
        }
        for name, change in leftovers.items():
            failed = checks.failed(give_up.cleanup_checks(
                _clean(**change), 'compute-a', 'compute-b'))
            self.assertEqual([name], [c.name for c in failed], change)

    def test_server_allocations_on_the_destination_fail(self):
        failed = checks.failed(give_up.cleanup_checks(
            _clean(server_providers=['compute-a', 'compute-b']),
            'compute-a', 'compute-b'))
        self.assertEqual(['allocations only on the source after the abort'],
                         [c.name for c in failed])

    def test_destination_still_assigned_fails(self):
        for change in ({'dest_assigned': ['ns1']},
                       {'dest_placement_usage': 1}):
            failed = checks.failed(give_up.cleanup_checks(
                _clean(**change), 'compute-a', 'compute-b'))
            self.assertEqual(['destination namespaces free and erased'],
                             [c.name for c in failed])

    def test_wait_until_clean(self):
        seen = [_clean(migration_status='running'),
                _clean(dest_not_erased=['ns0']), _clean()]
        sleeps = []
        facts = give_up.wait_for_cleanup(lambda: seen.pop(0), 'compute-a',
                                         'compute-b', sleep=sleeps.append)
        self.assertEqual('cancelled', facts.migration_status)
        self.assertEqual(2, len(sleeps))

    def test_wait_ends_at_the_timeout_with_what_was_left(self):
        now = [0.0]

        def sleep(seconds):
            now[0] += seconds

        facts = give_up.wait_for_cleanup(
            lambda: _clean(migration_status='running'), 'compute-a',
            'compute-b', timeout=5, interval=1, clock=lambda: now[0],
            sleep=sleep)
        self.assertEqual('running', facts.migration_status)
        self.assertGreaterEqual(now[0], 5)


class DemoGiveUpTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.console = rich_console.Console(file=io.StringIO(), width=200)
        self.options = demo.DemoOptions(state_dir='/x', bandwidth_mib=1,
                                        dirty_pages_per_second=4096)
        self.row = {'id': 3, 'uuid': 'mig', 'status': 'running'}

    def test_watch_gives_up_after_the_budget(self):
        api = mock.Mock()
        api.get.return_value = {'migrations': [self.row]}
        dom = mock.Mock()
        dom.jobStats.return_value = {}
        watch = demo.MigrationWatch(api, 'srv', dom)
        exc = self.assertRaises(demo.GaveUp, watch.run, self.console,
                                give_up_after=0.05)
        self.assertEqual(self.row, exc.row)
        self.assertGreater(exc.waited, 0.05)

    def test_watch_returns_a_final_row(self):
        api = mock.Mock()
        api.get.return_value = {'migrations': [dict(self.row,
                                                    status='completed')]}
        dom = mock.Mock()
        dom.jobStats.return_value = {}
        row = demo.MigrationWatch(api, 'srv', dom).run(self.console,
                                                       give_up_after=60)
        self.assertEqual('completed', row['status'])

    @mock.patch.object(give_up, 'look')
    @mock.patch.object(give_up, 'wait_for_cleanup')
    def test_abort_through_the_api_then_wait(self, wait, look):
        wait.return_value = _clean()
        api = mock.Mock()
        outcome = demo.abort_and_clean(
            'cloud', api, 'placement', self.console, self.options, 'srv',
            demo.GaveUp(self.row, 200.0), 150, 'compute-a', 'compute-b')
        api.request.assert_called_once_with('DELETE',
                                            '/servers/srv/migrations/3')
        # It waited for the cleanup, looking at this migration.
        look_fn, source, dest = wait.call_args[0]
        self.assertEqual(('compute-a', 'compute-b'), (source, dest))
        look_fn()
        look.assert_called_once_with('cloud', api, 'placement', 'srv',
                                     self.row, 'compute-b')
        results = outcome.checks()
        self.assertEqual([give_up.WITHIN_BUDGET],
                         [c.name for c in checks.failed(results)])
        self.assertIn('150.0 s', results[0].detail)
        self.assertIn('--bandwidth-mib', results[0].detail)

    @mock.patch.object(give_up, 'wait_for_cleanup')
    def test_leftovers_are_named(self, wait):
        wait.return_value = _clean(server_status='MIGRATING')
        outcome = demo.abort_and_clean(
            'cloud', mock.Mock(), 'placement', self.console, self.options,
            'srv', demo.GaveUp(self.row, 200.0), 150, 'compute-a',
            'compute-b')
        self.assertEqual(
            [give_up.WITHIN_BUDGET,
             'server ACTIVE on the source after the abort'],
            [c.name for c in checks.failed(outcome.checks())])

    @mock.patch.object(give_up, 'wait_for_cleanup')
    def test_completed_before_the_abort_is_reported_as_usual(self, wait):
        api = mock.Mock()
        api.request.side_effect = http.APIError('DELETE', 'u', 400,
                                                'not running')
        api.get.return_value = {'migrations': [dict(self.row,
                                                    status='completed')]}
        self.assertIsNone(demo.abort_and_clean(
            'cloud', api, 'placement', self.console, self.options, 'srv',
            demo.GaveUp(self.row, 200.0), 150, 'compute-a', 'compute-b'))
        wait.assert_not_called()

    def test_report_names_the_give_up_and_says_what_to_do(self):
        outcome = demo.GiveUpOutcome(
            source='compute-a', dest='compute-b', budget=150, waited=181,
            advice=give_up.advice(1, 4096), abort_note='accepted',
            cleanup=_clean())
        failures = demo.report(self.console, outcome)
        self.assertEqual([give_up.WITHIN_BUDGET], [c.name for c in failures])
        out = self.console.file.getvalue()
        self.assertIn('FAILED: %s' % give_up.WITHIN_BUDGET, out)
        self.assertIn('verified: destination namespaces free and erased',
                      out)
        self.assertIn('what to do: ', out)
