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

"""``python -m tools.bench`` as ``tox -e bench`` runs it, in small.

The framework runs the control plane part with ``--quick`` into a
temporary directory; the test reads what it printed and wrote: the JSON
path on the last line, the contract keys, counts that are not zero and
percentiles in order. The pure parts of the framework (sections merged,
skipped parts, the Markdown to RST rendering, the counters) are tested
without a cloud.
"""

import argparse
import json
import os
import subprocess
import sys

import fixtures
import testtools
from testtools import content

from tools.bench import control_plane
from tools.bench import counters
from tools.bench import report
from tools.bench import run as bench_run

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
TIMEOUT = 120


class BenchQuickRunTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def _bench(self, *args):
        out_dir = os.path.join(self.tmp, 'out')
        proc = subprocess.run(
            [sys.executable, '-m', 'tools.bench', '--out-dir', out_dir,
             '--workdir', self.tmp] + list(args),
            cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT)
        self.addDetail('stdout', content.text_content(proc.stdout))
        self.addDetail('stderr', content.text_content(proc.stderr))
        self.assertEqual(0, proc.returncode)
        return out_dir, proc.stdout.splitlines()

    def test_quick_control_plane(self):
        out_dir, lines = self._bench('--quick', '--only', 'control_plane')
        json_path = lines[-1]
        self.assertTrue(os.path.isfile(json_path), json_path)
        self.assertEqual(out_dir, os.path.dirname(json_path))
        with open(json_path) as f:
            doc = json.load(f)

        self.assertEqual(1, doc['schema'])
        for key in ('cpu_model', 'cores', 'kernel', 'python', 'packages'):
            self.assertIn(key, doc['machine'])
        self.assertIn('oslo.messaging', doc['machine']['packages'])
        self.assertEqual([], doc['contract_missing'])

        cp = doc['control_plane']
        self.assertNotIn('skipped', cp)
        for figures in (cp, cp['poll_shrunk']):
            self.assertGreater(figures['p50_ms'], 0)
            self.assertLessEqual(figures['p50_ms'], figures['p95_ms'])
            self.assertLessEqual(figures['p50_completed_ms'],
                                 figures['p95_completed_ms'])
            self.assertLessEqual(figures['p50_ms'],
                                 figures['p50_completed_ms'])
            for key in ('placement_requests_per_migration',
                        'rpc_messages_per_migration',
                        'rpc_calls_per_migration',
                        'sql_writes_per_migration',
                        'sql_statements_per_migration',
                        'cpu_s_per_migration'):
                self.assertGreater(figures[key], 0, key)
            self.assertEqual(figures['placement_requests_per_migration'],
                             figures['placement_gets_per_migration'] +
                             figures['placement_writes_per_migration'])
            self.assertIn('emulated_job', figures['phases'])
            # CPU from the request to ACTIVE: some, and within what the
            # whole migration cost.
            self.assertGreater(figures['cpu_to_active_p50_ms'], 0)
            self.assertLess(figures['cpu_to_active_p50_ms'],
                            1000 * figures['cpu_s_per_migration'] * 2)
        self.assertEqual(control_plane.QUICK_MIGRATIONS, cp['migrations'])

        # Parts not selected keep the contract keys, null.
        for size in ('256', '1024'):
            self.assertIsNone(doc['data_plane'][size]['api_s'])
        self.assertIn('skipped', doc['data_plane'])
        self.assertIsNone(doc['scale']['migrations_per_s'])

        base = json_path[:-len('.json')]
        with open(base + '.md') as f:
            text = f.read()
        self.assertIn('## control_plane', text)
        self.assertIn('| to ACTIVE p50 (ms) |', text)
        with open(base + '.rst') as f:
            self.assertIn('.. list-table::', f.read())


class FrameworkTest(testtools.TestCase):

    def test_tracker_merged_into_scale(self):
        sections = {}
        bench_run.merge(sections, 'scale', 'scale', {'p95_s': 1.0})
        bench_run.merge(sections, 'scale', 'tracker',
                        {'rt_update_ms': {'8': 1.5}})
        self.assertEqual({'p95_s': 1.0, 'rt_update_ms': {'8': 1.5}},
                         sections['scale'])

    def test_skipped_tracker_is_named(self):
        sections = {}
        bench_run.merge(sections, 'scale', 'scale', {'p95_s': 1.0})
        bench_run.merge(sections, 'scale', 'tracker', {'skipped': 'x'})
        self.assertEqual({'skipped': 'x'},
                         sections['scale']['tracker_skipped'])

    def test_missing_module_is_skipped(self):
        options = argparse.Namespace(workdir='/nonexistent')
        section = bench_run.run_part(options, 'no_such_part')
        self.assertIn('is not there', section['skipped'])

    def test_failing_module_records_error(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        result = os.path.join(tmp, 'r.json')
        self.useFixture(fixtures.MockPatch(
            'tools.bench.control_plane.run',
            side_effect=RuntimeError('broken host')))
        args = bench_run.parser().parse_args(
            ['--child', 'control_plane', '--result', result])
        self.useFixture(fixtures.MockPatch('traceback.print_exc'))
        bench_run.run_child(args)
        with open(result) as f:
            section = json.load(f)
        self.assertEqual('RuntimeError: broken host', section['error'])
        self.assertIn('skipped', section)

    def test_contract_filled_for_skipped_sections(self):
        doc = {'control_plane': {'p50_ms': 1, 'p95_ms': 2},
               'data_plane': {'skipped': 'no libvirt'},
               'scale': {'skipped': 'x'}, 'erase': {'skipped': 'y'}}
        report.fill_contract(doc)
        self.assertIsNone(doc['data_plane']['1024']['bare_libvirt_s'])
        self.assertEqual('no libvirt', doc['data_plane']['256']['skipped'])
        self.assertIn('control_plane.sql_writes_per_migration',
                      doc['contract_missing'])

    def test_rst_rendering(self):
        text = report.rst('## part\n\nsome `code` and a_b *x\n\n'
                          '| a | b |\n|---|---|\n| `GET /x` | 1 |\n')
        self.assertIn('part\n~~~~\n', text)
        self.assertIn('some ``code`` and a\\_b \\*x', text)
        self.assertIn('   * - ``GET /x``\n     - 1', text)


class CountersTest(testtools.TestCase):

    def test_url_pattern(self):
        self.assertEqual(
            'GET /allocations/{uuid}',
            counters.url_pattern(
                'GET', '/allocations/6f1c0b9e-5d0c-4d8e-9c55-3f0b1d2e4a7b',
                ''))
        self.assertEqual(
            'GET /allocation_candidates?limit&resources',
            counters.url_pattern('GET', '/allocation_candidates',
                                 'resources=VCPU:1&limit=5'))

    def test_percentile(self):
        self.assertEqual(2, counters.percentile([3, 1, 2], 50))
        self.assertEqual(9.55, round(counters.percentile(range(11), 95.5),
                                     2))

    def test_shrink_fake_poll(self):
        from oslo_messaging._drivers import impl_fake
        real = impl_fake.time
        slept = []
        self.useFixture(fixtures.MockPatch('time.sleep', slept.append))
        with counters.shrink_fake_poll(0.001):
            impl_fake.time.sleep(0.05)
            self.assertIs(real.monotonic, impl_fake.time.monotonic)
        self.assertIs(real, impl_fake.time)
        self.assertEqual([0.001], slept)

    def test_delta(self):
        self.assertEqual({'a': 2, 'b': {'c': 1}},
                         counters.delta({'a': 5, 'b': {'c': 1}},
                                        {'a': 3, 'b': {}}))
