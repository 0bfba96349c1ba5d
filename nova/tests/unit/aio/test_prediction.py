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

"""The demo's prediction: the product's estimator with the driver's
inputs, and predicted against actual time."""

from unittest import mock

from nova.aio import checks
from nova.aio import guests
from nova.aio import prediction
import nova.conf
from nova import test
from nova.virt.libvirt import migration as lm
from nova.virt.libvirt import preflight

CONF = nova.conf.CONF
MiB = 1 << 20


class PredictionTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(live_migration_bandwidth=16, live_migration_downtime=500,
                   live_migration_downtime_steps=10,
                   live_migration_downtime_delay=75,
                   live_migration_permit_auto_converge=False,
                   group='libvirt')

    def test_inputs_are_the_drivers(self):
        found = prediction.inputs(CONF, 64, 128 * MiB, 4 * MiB, 150)
        gib = lm.data_gib(64, 0, 128 * MiB)
        self.assertEqual(int(gib * lm.GiB), found.data_bytes)
        self.assertEqual(16 * MiB, found.bandwidth)
        self.assertFalse(found.bandwidth_assumed)
        self.assertEqual(tuple(lm.downtime_steps(500, 10, 75, gib)),
                         found.downtime_steps)
        self.assertEqual((4 * MiB, 150, False), (
            found.dirty_rate, found.completion_timeout, found.auto_converge))

    def test_unlimited_bandwidth_assumes_the_link_speed(self):
        self.flags(live_migration_bandwidth=0, group='libvirt')
        found = prediction.inputs(CONF, 64, 128 * MiB, 0, 150)
        self.assertTrue(found.bandwidth_assumed)
        self.assertEqual(
            CONF.libvirt.live_migration_preflight_link_speed * MiB,
            found.bandwidth)

    def test_predict_uses_the_estimator(self):
        with mock.patch.object(preflight, 'estimate') as estimate:
            result = prediction.predict(CONF, 64, 128 * MiB, MiB, 150)
        self.assertIs(estimate.return_value, result)
        estimate.assert_called_once_with(
            prediction.inputs(CONF, 64, 128 * MiB, MiB, 150))

    def test_quiet_guest_converges_a_busy_one_does_not(self):
        quiet = prediction.predict(CONF, 64, 128 * MiB, 0, 150)
        self.assertTrue(quiet.converges)
        # 192 MiB at 16 MiB/s: 12 s in one pass.
        self.assertAlmostEqual(12.0, quiet.seconds, places=1)
        busy = prediction.predict(CONF, 64, 128 * MiB, 64 * MiB, 150)
        self.assertFalse(busy.converges)

    def test_compare(self):
        estimate = preflight.Estimate(True, 3, 10.0)
        self.assertEqual('predicted 10.0 s, actual 12.0 s (+20%)',
                         prediction.compare(estimate, 12.0))
        self.assertEqual('predicted not to converge; actual 3.0 s',
                         prediction.compare(
                             preflight.Estimate(False, 9, 30.0), 3.0))
        self.assertIsNone(prediction.compare(None, 3.0))

    def test_summary_shows_the_prediction(self):
        facts = checks.MigrationFacts(
            source='a', dest='b', status='completed', instance_host='b',
            source_namespaces=[], dest_namespaces=[],
            source_final_digests=[], dest_digests=[],
            prediction='predicted 1.0 s, actual 1.1 s (+10%)')
        self.assertIn(('pre-flight prediction',
                       'predicted 1.0 s, actual 1.1 s (+10%)'),
                      checks.summary_rows(facts))

    def test_emulated_guest_rate_is_its_writers(self):
        self.assertEqual(256 * 4096, guests.EmulatedGuest(256).dirty_rate())

    def test_stamp_guest_rate_is_measured(self):
        hosts = mock.Mock(image_name='img')
        hosts.pages_written.side_effect = [1000, 1700]
        guest = guests.RealGuest(hosts)
        guest.paths = ['/ns0']
        with mock.patch('time.sleep'), \
                mock.patch('time.monotonic', side_effect=[0.0, 1.0]):
            rate = guest.dirty_rate()
        self.assertEqual(700 * 4096, rate)
        hosts.pages_written.assert_called_with('/ns0')
