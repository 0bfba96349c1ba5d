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

"""Tests of the pre-flight estimate of a live migration (pure functions)."""

import dataclasses
import functools
import logging
import threading
import time
import types
from unittest import mock

import fixtures

from nova import exception
from nova import test
from nova.virt.libvirt import emulator as fakelibvirt
from nova.virt.libvirt import live_migration as lmx
from nova.virt.libvirt import migration as lm
from nova.virt.libvirt import preflight

MiB = 1024 ** 2
GiB = 1024 ** 3


def inputs(**kw):
    values = dict(data_bytes=1 * GiB, dirty_rate=0, bandwidth=100 * MiB,
                  downtime_steps=((0, 500),), auto_converge=False,
                  completion_timeout=0)
    values.update(kw)
    return preflight.Inputs(**values)


class EstimateTestCase(test.NoDBTestCase):

    def test_quiet_guest_converges_in_one_pass(self):
        result = preflight.estimate(inputs())
        self.assertTrue(result.converges)
        self.assertEqual(1, result.iterations)
        self.assertAlmostEqual(10.24, result.seconds, places=2)
        self.assertIn('predicted to converge in 1 passes, 10.2 s',
                      result.text)

    def test_small_guest_converges_at_any_rate(self):
        # 64 MiB at 1 GiB/s: 62.5 ms a pass, within 500 ms even if every
        # byte is dirty again after each pass.
        small = inputs(data_bytes=64 * MiB, bandwidth=1 * GiB,
                       dirty_rate=123)
        result = preflight.converges_at_any_rate(small)
        self.assertTrue(result.converges)
        self.assertEqual(1, result.iterations)
        self.assertAlmostEqual(0.125, result.seconds, places=3)
        self.assertIn('predicted to converge within 0.1 s whatever the '
                      'guest writes', result.text)
        self.assertIn('guest dirtying not measured', result.text)
        # The simulation agrees at the worst rate, and is no slower.
        worst = preflight.estimate(dataclasses.replace(
            small, dirty_rate=10 * GiB))
        self.assertTrue(worst.converges)
        self.assertLessEqual(worst.seconds, result.seconds)

    def test_any_rate_waits_for_the_step_that_allows_it(self):
        # The driver's steps: 50 ms at first, 100 ms from 5 s on. A 62.5 ms
        # pass fits from the pass ending at or after 5 s: the 80th.
        steps = ((0, 50), (5, 100), (10, 150))
        small = inputs(data_bytes=64 * MiB, bandwidth=1 * GiB,
                       downtime_steps=steps)
        result = preflight.converges_at_any_rate(small)
        self.assertTrue(result.converges)
        self.assertEqual(80, result.iterations)
        self.assertAlmostEqual(5.0625, result.seconds, places=4)
        worst = preflight.estimate(dataclasses.replace(
            small, dirty_rate=10 * GiB))
        self.assertTrue(worst.converges)
        self.assertLessEqual(worst.seconds, result.seconds)
        # Not within a 4 s budget: then the rate matters.
        self.assertIsNone(preflight.converges_at_any_rate(
            dataclasses.replace(small, completion_timeout=4)))

    def test_rate_matters_once_the_data_outlasts_every_downtime(self):
        self.assertIsNone(preflight.converges_at_any_rate(inputs()))
        self.assertIsNone(preflight.converges_at_any_rate(inputs(
            data_bytes=64 * MiB, bandwidth=1 * GiB,
            downtime_steps=((0, 20), (10, 50)))))
        self.assertIsNone(preflight.converges_at_any_rate(inputs(
            bandwidth=0)))

    def test_slow_dirtying_converges_geometrically(self):
        # 1 GiB at 100 MiB/s, dirtying 10 MiB/s: 10.24 s, then 1.024 s,
        # then 0.1024 s of dirt fits 500 ms.
        result = preflight.estimate(inputs(dirty_rate=10 * MiB))
        self.assertTrue(result.converges)
        self.assertEqual(2, result.iterations)
        self.assertAlmostEqual(10.24 + 1.024 + 0.1024, result.seconds,
                               places=3)

    def test_dirty_rate_at_bandwidth_without_auto_converge_cannot(self):
        result = preflight.estimate(inputs(dirty_rate=150 * MiB,
                                           completion_timeout=800))
        self.assertFalse(result.converges)
        self.assertEqual('dirty rate 150.0 MiB/s >= bandwidth 100.0 MiB/s, '
                         'auto-converge not permitted', result.reason)
        self.assertTrue(result.text.startswith(
            'predicted NOT to converge: dirty rate 150.0 MiB/s'))
        self.assertIn('predicted NOT to converge', result.text)
        self.assertIn('150.0 MiB/s', result.text)

    def test_without_budget_a_steady_state_is_detected(self):
        result = preflight.estimate(inputs(dirty_rate=100 * MiB))
        self.assertFalse(result.converges)
        self.assertLess(result.iterations, 5)

    def test_auto_converge_throttling_converges(self):
        args = dict(dirty_rate=150 * MiB, completion_timeout=800,
                    auto_converge=True)
        result = preflight.estimate(inputs(**args))
        self.assertTrue(result.converges)
        self.assertGreater(result.throttle, 0.5)
        self.assertIn('throttled by', result.text)
        self.assertLess(result.seconds, 800)

    def test_auto_converge_raises_every_second_high_pass(self):
        # Far too fast even at 99 %: it runs into the budget, with the
        # throttle at the QEMU maximum.
        result = preflight.estimate(inputs(
            dirty_rate=100000 * MiB, auto_converge=True,
            completion_timeout=200))
        self.assertFalse(result.converges)
        self.assertEqual(0.99, result.throttle)
        self.assertIn('even with the vCPUs throttled by 99%', result.reason)

    def test_auto_converge_first_step_is_initial(self):
        # Two high passes then the throttle is 20 %; the third pass runs
        # throttled.
        result = preflight.estimate(inputs(
            dirty_rate=80 * MiB, auto_converge=True,
            downtime_steps=((0, 100),), completion_timeout=15))
        self.assertFalse(result.converges)
        self.assertIn('within the 15 s budget', result.reason)

    def test_downtime_steps_let_it_converge_later(self):
        # 60 MiB/s over a 100 MiB/s link leaves a large dirty set; 100 ms
        # never fits while dirt shrinks slowly, the 2000 ms step does.
        steps = tuple(lm.downtime_steps(2000, 4, 10, 1.0))
        self.assertEqual([(0, 500), (10, 1000), (20, 1500), (30, 2000)],
                         list(steps))
        result = preflight.estimate(inputs(
            data_bytes=1 * GiB, dirty_rate=90 * MiB, downtime_steps=steps))
        self.assertTrue(result.converges)
        # Without the later steps it takes more passes.
        flat = preflight.estimate(inputs(
            data_bytes=1 * GiB, dirty_rate=90 * MiB,
            downtime_steps=((0, 500),)))
        self.assertTrue(flat.converges)
        self.assertGreater(flat.iterations, result.iterations)

    def test_budget_too_short(self):
        result = preflight.estimate(inputs(dirty_rate=90 * MiB,
                                           completion_timeout=12))
        self.assertFalse(result.converges)
        self.assertIn('never fits the 500 ms downtime within the 12 s '
                      'budget', result.reason)

    def test_a_quiet_guest_whose_copy_outlasts_the_budget(self):
        # One pass would do, but it ends after the completion timeout
        # (seen in the multinode tier: "converge in 1 passes, 64.0 s ...
        # budget 50 s").
        result = preflight.estimate(inputs(data_bytes=64 * MiB,
                                           bandwidth=1 * MiB,
                                           completion_timeout=50))
        self.assertFalse(result.converges)
        self.assertIn('the copy takes 64.0 s, past the 50 s budget',
                      result.reason)
        self.assertIn('predicted NOT to converge', result.text)
        self.assertTrue(preflight.estimate(inputs(
            data_bytes=64 * MiB, bandwidth=1 * MiB,
            completion_timeout=65)).converges)

    def test_small_guest_fits_the_downtime_whatever_it_dirties(self):
        result = preflight.estimate(inputs(data_bytes=10 * MiB,
                                           dirty_rate=1000 * MiB))
        self.assertTrue(result.converges)
        self.assertEqual(1, result.iterations)

    def test_no_bandwidth(self):
        result = preflight.estimate(inputs(bandwidth=0))
        self.assertFalse(result.converges)

    def test_downtime_at(self):
        steps = ((0, 50), (10, 100), (20, 150))
        self.assertEqual(0.05, preflight.downtime_at(steps, 0))
        self.assertEqual(0.05, preflight.downtime_at(steps, 9.9))
        self.assertEqual(0.1, preflight.downtime_at(steps, 10))
        self.assertEqual(0.15, preflight.downtime_at(steps, 99))
        self.assertEqual(0.0, preflight.downtime_at((), 1))


class InputsFromLibvirtTestCase(test.NoDBTestCase):

    def test_dirty_rate_from_stats(self):
        self.assertEqual(5 * MiB, preflight.dirty_rate_from_stats(
            {'dirtyrate.calc_status': 2,
             'dirtyrate.megabytes_per_second': 5}))
        self.assertIsNone(preflight.dirty_rate_from_stats(
            {'dirtyrate.calc_status': 1}))
        self.assertIsNone(preflight.dirty_rate_from_stats(
            {'dirtyrate.calc_status': 2}))
        self.assertIsNone(preflight.dirty_rate_from_stats(None))

    def test_dirty_rate_from_job_stats(self):
        # memory_iteration is QEMU's dirty-sync count: 1 during the first
        # pass, 2 once it is over.
        stats = {'memory_iteration': 2, 'memory_dirty_rate': 256,
                 'memory_page_size': 16384}
        self.assertEqual(4 * MiB, preflight.dirty_rate_from_job_stats(stats))
        self.assertIsNone(preflight.dirty_rate_from_job_stats(stats, 2))
        self.assertEqual(4 * MiB, preflight.dirty_rate_from_job_stats(
            dict(stats, memory_iteration=3), 2))
        # No page size reported: libvirt's 4 KiB.
        self.assertEqual(1 * MiB, preflight.dirty_rate_from_job_stats(
            {'memory_iteration': 2, 'memory_dirty_rate': 256}))
        self.assertIsNone(preflight.dirty_rate_from_job_stats(
            {'memory_iteration': 1, 'memory_dirty_rate': 256}))
        self.assertIsNone(preflight.dirty_rate_from_job_stats(
            {'memory_iteration': 4}))
        self.assertIsNone(preflight.dirty_rate_from_job_stats(None))

    def test_bandwidth_in_force(self):
        unlimited = 8796093022207
        self.assertEqual((50 * MiB, False), preflight.bandwidth_in_force(
            50, 20, unlimited, 1000))
        self.assertEqual((20 * MiB, False), preflight.bandwidth_in_force(
            0, 20, unlimited, 1000))
        self.assertEqual((1000 * MiB, True), preflight.bandwidth_in_force(
            0, unlimited, unlimited, 1000))
        self.assertEqual((1000 * MiB, True), preflight.bandwidth_in_force(
            0, None, unlimited, 1000))


class DriverPreflightTestCase(test.NoDBTestCase):
    """The driver's measurement and its warn/refuse decision."""

    def setUp(self):
        super().setUp()
        # time.sleep is process-wide: only this test's thread is recorded
        # (and not slept); a thread left by another test in this worker
        # sleeps for real and cannot show up in the assertions.
        self.sleeps = []
        test_thread = threading.current_thread()
        real_sleep = time.sleep

        def sleep(seconds):
            if threading.current_thread() is test_thread:
                self.sleeps.append(seconds)
            else:
                real_sleep(seconds)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.libvirt.live_migration.time.sleep', sleep))

    def _driver(self, mode='warn', libvirt=fakelibvirt):
        driver = types.SimpleNamespace(
            _host=types.SimpleNamespace(libvirt=libvirt),
            _conf=types.SimpleNamespace(libvirt=types.SimpleNamespace(
                live_migration_preflight=mode)),
            preflight_sample_seconds=1,
            _record_preflight=mock.Mock())
        return driver

    def _guest(self, stats):
        domain = mock.Mock()
        domain.connect.return_value.domainListGetStats.side_effect = [
            [(domain, s)] for s in stats]
        return types.SimpleNamespace(domain=domain)

    def test_measures_until_measured(self):
        guest = self._guest([{'dirtyrate.calc_status': 1},
                             {'dirtyrate.calc_status': 2,
                              'dirtyrate.megabytes_per_second': 7}])
        rate, why = lmx.LiveMigrationMixin._measure_dirty_rate(
            self._driver(), guest)
        self.assertEqual((7 * MiB, None), (rate, why))
        guest.domain.startDirtyRateCalc.assert_called_once_with(1)
        guest.domain.connect.return_value.domainListGetStats\
            .assert_called_with([guest.domain],
                                fakelibvirt.VIR_DOMAIN_STATS_DIRTYRATE)

    def test_libvirt_without_the_api(self):
        old = types.SimpleNamespace(libvirtError=fakelibvirt.libvirtError)
        rate, why = lmx.LiveMigrationMixin._measure_dirty_rate(
            self._driver(libvirt=old), self._guest([]))
        self.assertIsNone(rate)
        self.assertIn('libvirt >= 7.2', why)

    def test_hypervisor_refusing_the_measurement(self):
        guest = self._guest([])
        guest.domain.startDirtyRateCalc.side_effect = \
            fakelibvirt.libvirtError('unsupported by QEMU')
        rate, why = lmx.LiveMigrationMixin._measure_dirty_rate(
            self._driver(), guest)
        self.assertIsNone(rate)
        self.assertIn('unsupported by QEMU', why)

    def _decide(self, mode, dirty_rate):
        driver = self._driver(mode)
        driver._measure_dirty_rate = mock.Mock(
            return_value=(dirty_rate, None))
        driver._preflight_inputs = mock.Mock(
            return_value=inputs(dirty_rate=dirty_rate,
                                completion_timeout=800))
        driver._report_preflight = functools.partial(
            lmx.LiveMigrationMixin._report_preflight, driver)
        instance = types.SimpleNamespace(uuid='u-1')

        def call():
            estimate, late = lmx.LiveMigrationMixin._preflight(
                driver, 'ctx', instance, 'cn-b', None, None, 0, None)
            return late if estimate is None and late else estimate
        return driver, call

    def test_refuse_fails_with_the_numbers(self):
        driver, call = self._decide('refuse', 150 * MiB)
        exc = self.assertRaises(exception.LiveMigrationFailed, call)
        message = exc.format_message()
        for text in ('refused by [libvirt]live_migration_preflight',
                     'predicted NOT to converge', '150.0 MiB/s',
                     '100.0 MiB/s', 'live_migration_bandwidth'):
            self.assertIn(text, message)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, True)

    def test_refuse_without_a_measurement_logs_why_and_lets_it_go(self):
        log = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(name)s %(message)s'))
        # Too big to converge at any rate: refuse needs a measured rate.
        driver, call = self._decide('refuse', 150 * MiB)
        why = ('the hypervisor cannot measure the dirty rate: unsupported '
               'by QEMU')
        driver._measure_dirty_rate.return_value = (None, why)
        self.assertIsNone(call())
        driver._measure_dirty_rate.assert_called_once_with(None)
        self.assertIn('INFO nova.virt.libvirt.live_migration Live migration '
                      'of u-1 to cn-b: no pre-flight estimate: %s' % why,
                      log.output)
        # No estimate: nothing to refuse with, nothing recorded as one.
        driver._record_preflight.assert_not_called()

    def test_refuse_on_a_libvirt_that_cannot_measure_lets_it_go(self):
        log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        old = types.SimpleNamespace(libvirtError=fakelibvirt.libvirtError)
        driver, _call = self._decide('refuse', 150 * MiB)
        driver._host.libvirt = old
        driver._measure_dirty_rate = functools.partial(
            lmx.LiveMigrationMixin._measure_dirty_rate, driver)
        guest = self._guest([])
        self.assertEqual((None, None), lmx.LiveMigrationMixin._preflight(
            driver, 'ctx', types.SimpleNamespace(uuid='u-1'), 'cn-b', guest,
            None, 0, None))
        guest.domain.startDirtyRateCalc.assert_not_called()
        self.assertEqual([], self.sleeps)
        self.assertIn('no pre-flight estimate: this libvirt cannot measure '
                      'a dirty rate (libvirt >= 7.2 needed)', log.output)
        driver._record_preflight.assert_not_called()

    def test_refuse_lets_a_converging_one_go(self):
        driver, call = self._decide('refuse', 1 * MiB)
        self.assertTrue(call().converges)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)

    def test_warn_estimates_from_the_jobs_second_pass(self):
        driver, call = self._decide('warn', 150 * MiB)
        late = call()
        # No sample before the copy: the job's own dirty rate, once its
        # second pass is over (memory_iteration, QEMU's sync count, 3).
        driver._measure_dirty_rate.assert_not_called()
        driver._record_preflight.assert_not_called()
        pages = 150 * MiB // 4096
        for iteration in (1, 2):
            self.assertFalse(late({'memory_iteration': iteration,
                                   'memory_dirty_rate': pages}))
        driver._record_preflight.assert_not_called()
        self.assertTrue(late({'memory_iteration': 3,
                              'memory_dirty_rate': pages,
                              'memory_page_size': 4096}))
        self.assertFalse(late.estimate.converges)
        self.assertEqual(150 * MiB, late.estimate.inputs.dirty_rate)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)
        self.assertIn('(during the copy, from its dirty rate)',
                      driver._record_preflight.call_args.args[2])
        # Reported once: the end of the copy adds nothing.
        late.finish({'memory_iteration': 5, 'memory_dirty_rate': 0})
        driver._record_preflight.assert_called_once()

    def test_warn_estimates_a_short_copy_from_its_completed_stats(self):
        driver, call = self._decide('warn', 150 * MiB)
        late = call()
        self.assertFalse(late({'memory_iteration': 1,
                               'memory_dirty_rate': 0}))
        late.finish({'memory_iteration': 2, 'memory_dirty_rate': 0,
                     'memory_page_size': 4096})
        self.assertTrue(late.estimate.converges)
        self.assertEqual(0, late.estimate.inputs.dirty_rate)
        self.assertIn('(after the copy, from its dirty rate)',
                      driver._record_preflight.call_args.args[2])

    def test_warn_says_when_the_copy_ended_before_any_rate(self):
        driver, call = self._decide('warn', 150 * MiB)
        late = call()
        late.finish(None)
        self.assertIsNone(late.estimate)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)
        self.assertIn("ended before the guest's dirty rate was read",
                      driver._record_preflight.call_args.args[2])

    def test_small_guest_is_not_sampled(self):
        driver, call = self._decide('refuse', 150 * MiB)
        driver._preflight_inputs.return_value = inputs(
            data_bytes=64 * MiB, bandwidth=1 * GiB)
        result = call()
        self.assertTrue(result.converges)
        driver._measure_dirty_rate.assert_not_called()
        self.assertEqual([], self.sleeps)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)

    def test_off_measures_nothing(self):
        driver, call = self._decide('off', 150 * MiB)
        self.assertIsNone(call())
        driver._measure_dirty_rate.assert_not_called()
        driver._record_preflight.assert_not_called()
