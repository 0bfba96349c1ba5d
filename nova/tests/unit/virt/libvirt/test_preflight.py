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

"""Tests of the pre-flight estimate of a live migration: the pure
functions, the dirty-rate measurement and the driver's decision."""

import dataclasses
import functools
import threading
import types
from unittest import mock

import fixtures

from nova import exception
from nova import test
from nova.virt.libvirt import dirty_rate
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


class DirtyRateTestCase(test.NoDBTestCase):
    """Starting and reading libvirt's dirty-rate measurement."""

    def setUp(self):
        super().setUp()
        self.now = [0.0]
        self.waits = []

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now[0] += seconds

    def _read(self, stats, ended=None):
        domain = mock.Mock()
        conn = mock.Mock()
        conn.domainListGetStats.side_effect = [
            s if isinstance(s, Exception) else [(domain, s)] for s in stats]
        result = dirty_rate.read(fakelibvirt, conn, domain, 1,
                                 wait=self.wait, clock=lambda: self.now[0],
                                 ended=ended)
        return result, conn, domain

    def test_start(self):
        domain = mock.Mock()
        self.assertIsNone(dirty_rate.start(fakelibvirt, domain, 1))
        domain.startDirtyRateCalc.assert_called_once_with(1)

    def test_libvirt_without_the_api(self):
        old = types.SimpleNamespace(libvirtError=fakelibvirt.libvirtError)
        why = dirty_rate.start(old, mock.Mock(), 1)
        self.assertIn('libvirt >= 7.2', why)

    def test_hypervisor_refusing_the_measurement(self):
        domain = mock.Mock()
        domain.startDirtyRateCalc.side_effect = \
            fakelibvirt.libvirtError('unsupported by QEMU')
        why = dirty_rate.start(fakelibvirt, domain, 1)
        self.assertIn('unsupported by QEMU', why)

    def test_reads_until_measured(self):
        (rate, why), conn, domain = self._read([
            {'dirtyrate.calc_status': 1},
            {'dirtyrate.calc_status': 2,
             'dirtyrate.megabytes_per_second': 7}])
        self.assertEqual((7 * MiB, None), (rate, why))
        conn.domainListGetStats.assert_called_with(
            [domain], fakelibvirt.VIR_DOMAIN_STATS_DIRTYRATE)
        # The period first, then short polls.
        self.assertEqual([1, dirty_rate.POLL_SECONDS], self.waits)

    def test_gives_up_after_the_grace(self):
        (rate, why), _c, _d = self._read([{'dirtyrate.calc_status': 1}] * 100)
        self.assertIsNone(rate)
        self.assertIn('not measured within %d s'
                      % (1 + dirty_rate.GRACE_SECONDS), why)

    def test_a_migration_that_ended_first_ends_the_wait(self):
        (rate, why), conn, _d = self._read([], ended=lambda: True)
        self.assertIsNone(rate)
        self.assertIn('the migration ended before the 1 s dirty-rate sample',
                      why)
        conn.domainListGetStats.assert_not_called()

    def test_guest_gone_with_its_migration(self):
        ended = iter([False, True, True])
        (rate, why), _c, _d = self._read(
            [fakelibvirt.libvirtError('no domain')],
            ended=lambda: next(ended))
        self.assertIn('the migration ended before', why)

    def test_hypervisor_error_while_reading(self):
        (rate, why), _c, _d = self._read(
            [fakelibvirt.libvirtError('monitor hung up')],
            ended=lambda: False)
        self.assertIsNone(rate)
        self.assertIn('monitor hung up', why)


class DriverPreflightTestCase(test.NoDBTestCase):
    """The driver's warn/refuse decision, and when it measures."""

    def setUp(self):
        super().setUp()
        self.read = self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.dirty_rate.read')).mock
        self.start = self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.dirty_rate.start', return_value=None)).mock

    def _decide(self, mode, dirty_rate_value):
        driver = types.SimpleNamespace(
            _host=types.SimpleNamespace(libvirt=fakelibvirt),
            _conf=types.SimpleNamespace(libvirt=types.SimpleNamespace(
                live_migration_preflight=mode)),
            preflight_sample_seconds=1,
            _record_preflight=mock.Mock(),
            _read_dirty_rate_beside=mock.Mock(
                return_value=(dirty_rate_value, None)))
        driver._judge = functools.partial(lmx.LiveMigrationMixin._judge,
                                          driver)
        self.read.return_value = (dirty_rate_value, None)
        driver._preflight_inputs = mock.Mock(
            return_value=inputs(completion_timeout=800))
        instance = types.SimpleNamespace(uuid='u-1')
        self.guest = types.SimpleNamespace(domain=mock.Mock())
        call = lambda: lmx.LiveMigrationMixin._preflight(  # noqa: E731
            driver, 'ctx', instance, 'cn-b', self.guest, None, 0, None)
        return driver, call

    def test_refuse_measures_first_and_fails_with_the_numbers(self):
        driver, call = self._decide('refuse', 150 * MiB)
        exc = self.assertRaises(exception.LiveMigrationFailed, call)
        message = exc.format_message()
        for text in ('refused by [libvirt]live_migration_preflight',
                     'predicted NOT to converge', '150.0 MiB/s',
                     '100.0 MiB/s', 'live_migration_bandwidth'):
            self.assertIn(text, message)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, True)
        self.start.assert_called_once_with(fakelibvirt, self.guest.domain, 1)
        # On the driver's own connection: no job runs yet.
        self.read.assert_called_once_with(
            fakelibvirt, self.guest.domain.connect.return_value,
            self.guest.domain, 1)

    def test_refuse_lets_a_converging_one_go(self):
        driver, call = self._decide('refuse', 1 * MiB)
        estimate, judge = call()
        self.assertTrue(estimate.converges)
        self.assertIsNone(judge)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)

    def test_refuse_goes_on_unmeasured(self):
        driver, call = self._decide('refuse', None)
        self.read.return_value = (None, 'not measured within 6 s')
        self.assertEqual((None, None), call())
        driver._record_preflight.assert_not_called()

    def test_warn_judges_beside_the_job(self):
        driver, call = self._decide('warn', 150 * MiB)
        estimate, judge = call()
        # Started now, read and judged only once the job runs.
        self.assertIsNone(estimate)
        self.start.assert_called_once_with(fakelibvirt, self.guest.domain, 1)
        self.read.assert_not_called()
        driver._record_preflight.assert_not_called()
        job = mock.Mock()
        estimate = judge(job)
        self.assertFalse(estimate.converges)
        driver._read_dirty_rate_beside.assert_called_once_with(
            self.guest, job, 1)
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)

    def test_warn_without_a_sample_records_nothing(self):
        driver, call = self._decide('warn', None)
        driver._read_dirty_rate_beside.return_value = (
            None, 'the migration ended before the 1 s dirty-rate sample did')
        _estimate, judge = call()
        self.assertIsNone(judge(mock.Mock()))
        driver._record_preflight.assert_not_called()

    def test_unmeasurable_guest_gets_no_estimate(self):
        for mode in ('warn', 'refuse'):
            driver, call = self._decide(mode, 150 * MiB)
            self.start.return_value = 'libvirt >= 7.2 needed'
            self.assertEqual((None, None), call())
            driver._record_preflight.assert_not_called()

    def test_small_guest_is_not_sampled(self):
        driver, call = self._decide('refuse', 150 * MiB)
        driver._preflight_inputs.return_value = inputs(
            data_bytes=64 * MiB, bandwidth=1 * GiB)
        estimate, judge = call()
        self.assertTrue(estimate.converges)
        self.assertIsNone(judge)
        self.start.assert_not_called()
        driver._record_preflight.assert_called_once_with(
            'ctx', mock.ANY, mock.ANY, False)

    def test_off_measures_nothing(self):
        driver, call = self._decide('off', 150 * MiB)
        self.assertEqual((None, None), call())
        self.start.assert_not_called()


class BesideTheJobTestCase(test.NoDBTestCase):
    """The warn-mode sample, read while the job runs."""

    def test_result_of_the_function(self):
        job = mock.Mock()
        beside = lmx._Beside(lambda j: ('estimate for', j), job, 'b')
        self.assertEqual(('estimate for', job), beside.result(5))

    def test_a_failure_gives_none(self):
        def broken(job):
            raise RuntimeError('bug')
        with self.assertLogs('nova.virt.libvirt.live_migration',
                             'ERROR'):
            self.assertIsNone(lmx._Beside(broken, None, 'b').result(5))

    def test_a_hung_one_is_not_waited_for(self):
        release = threading.Event()
        self.addCleanup(release.set)
        beside = lmx._Beside(lambda j: release.wait(10), None, 'b')
        with self.assertLogs('nova.virt.libvirt.live_migration',
                             'WARNING') as logs:
            self.assertIsNone(beside.result(0.05))
        self.assertIn('does not wait for it', logs.output[0])

    def _driver(self, conn):
        libvirt = mock.Mock(libvirtError=fakelibvirt.libvirtError)
        libvirt.open.return_value = conn
        return types.SimpleNamespace(_host=types.SimpleNamespace(
            libvirt=libvirt, uri='qemu+tcp://b/session'))

    def test_reads_on_a_connection_of_its_own(self):
        conn = mock.Mock()
        driver = self._driver(conn)
        guest = types.SimpleNamespace(domain=mock.Mock())
        guest.domain.UUIDString.return_value = 'u-1'
        job = mock.Mock()
        with mock.patch.object(dirty_rate, 'read',
                               return_value=(5 * MiB, None)) as read:
            self.assertEqual(
                (5 * MiB, None),
                lmx.LiveMigrationMixin._read_dirty_rate_beside(
                    driver, guest, job, 1))
        driver._host.libvirt.open.assert_called_once_with(
            'qemu+tcp://b/session')
        conn.lookupByUUIDString.assert_called_once_with('u-1')
        read.assert_called_once_with(
            driver._host.libvirt, conn, conn.lookupByUUIDString.return_value,
            1, wait=job.wait, ended=job.done)
        conn.close.assert_called_once_with()

    def test_guest_already_gone(self):
        conn = mock.Mock()
        conn.lookupByUUIDString.side_effect = fakelibvirt.libvirtError('gone')
        guest = types.SimpleNamespace(domain=mock.Mock())
        job = mock.Mock()
        job.done.return_value = True
        rate, why = lmx.LiveMigrationMixin._read_dirty_rate_beside(
            self._driver(conn), guest, job, 1)
        self.assertIsNone(rate)
        self.assertIn('the migration ended before the 1 s', why)
        conn.close.assert_called_once_with()
