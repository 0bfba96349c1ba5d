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

"""The pure parts of the tracker bench: the growth fit and its table."""

import testtools

from tools.bench import tracker


class TestGrowth(testtools.TestCase):

    def test_orders(self):
        sizes = (8, 16, 32, 64, 128, 256)
        for power, order in ((1, 'linear'), (2, 'superlinear'),
                             (0.5, 'sublinear')):
            fitted = tracker.growth({str(n): 3.0 * n ** power
                                     for n in sizes})
            self.assertEqual(order, fitted['order'])
            self.assertAlmostEqual(power, fitted['slope'], places=2)

    def test_fits_the_upper_half_only(self):
        # Flat (a fixed cost) then linear: the upper half says linear.
        ms = {'8': 10, '16': 10, '32': 10, '64': 10, '128': 20, '256': 40,
              '512': 80, '1024': 160}
        fitted = tracker.growth(ms)
        self.assertEqual([64, 128, 256, 512, 1024], fitted['fitted_sizes'])
        self.assertAlmostEqual(80 / 512, fitted['ms_per_namespace_at_top'],
                               places=3)

    def test_too_few_points(self):
        self.assertIsNone(tracker.growth({'8': 1.0}))
        self.assertIsNone(tracker.growth({}))


class TestMarkdown(testtools.TestCase):

    def test_table_rows_in_numeric_order(self):
        section = {'rt_update_ms': {'128': 30.0, '8': 10.0, '32': 20.0},
                   'rt_update_cpu_ms': {'8': 9.0},
                   'rt_update_sql_statements': {'8': 7, '32': 7, '128': 7},
                   'rt_update_runs': 3,
                   'rt_update_error_migrations_ms': {'0': 5.0, '100': 5.5}}
        text = tracker.markdown(section)
        rows = [line for line in text.splitlines()
                if line.startswith('| ') and line[2].isdigit()]
        self.assertEqual(['| 8 | 10.0 | 9.0 | 7 | - |',
                          '| 32 | 20.0 | - | 7 | - |',
                          '| 128 | 30.0 | - | 7 | - |',
                          '| 0 | 5.0 | - | - |',
                          '| 100 | 5.5 | - | - |'], rows)

    def test_not_measured(self):
        self.assertIn('not measured', tracker.markdown({}))
        self.assertEqual([], tracker.plots({}, '/nonexistent'))
