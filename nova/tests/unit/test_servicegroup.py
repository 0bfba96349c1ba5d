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

"""Up or down, from heartbeats and the forced-down flag."""

import datetime

from oslo_utils import timeutils

from nova import objects
from nova import servicegroup
from nova import test


def _ago(seconds, aware=True):
    when = timeutils.utcnow() - datetime.timedelta(seconds=seconds)
    return when.replace(tzinfo=datetime.timezone.utc) if aware else when


class TestServiceIsUp(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.flags(service_down_time=60)

    def _service(self, **fields):
        fields.setdefault('host', 'h1')
        fields.setdefault('binary', 'nova-compute')
        fields.setdefault('forced_down', False)
        return objects.Service(**fields)

    def test_recent_heartbeat_is_up(self):
        self.assertTrue(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(5))))

    def test_old_heartbeat_is_down(self):
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(61))))

    def test_limit_follows_service_down_time(self):
        service = self._service(last_seen_up=_ago(30))
        self.assertTrue(servicegroup.service_is_up(service))
        self.flags(service_down_time=20)
        self.assertFalse(servicegroup.service_is_up(service))

    def test_forced_down_wins_over_fresh_heartbeat(self):
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(0), forced_down=True)))

    def test_falls_back_to_updated_at(self):
        self.assertTrue(servicegroup.service_is_up(
            self._service(last_seen_up=None, updated_at=_ago(5),
                          created_at=_ago(500))))
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=None, updated_at=_ago(500),
                          created_at=_ago(5))))

    def test_falls_back_to_created_at(self):
        self.assertTrue(servicegroup.service_is_up(
            self._service(created_at=_ago(5))))
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=None, updated_at=None,
                          created_at=_ago(100))))

    def test_heartbeat_preferred_over_updated_at(self):
        # An operator's edit bumps updated_at; it is not a heartbeat.
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(500), updated_at=_ago(1))))

    def test_no_timestamp_is_down(self):
        self.assertFalse(servicegroup.service_is_up(self._service()))

    def test_clock_skew_within_limit_is_up(self):
        self.assertTrue(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(-30))))
        self.assertFalse(servicegroup.service_is_up(
            self._service(last_seen_up=_ago(-300))))

    def test_last_heartbeat(self):
        beat = _ago(3)
        self.assertEqual(beat, servicegroup.last_heartbeat(
            self._service(last_seen_up=beat, updated_at=_ago(1))))
        self.assertIsNone(servicegroup.last_heartbeat(self._service()))


class TestServiceIsUpFromDatabase(test.TestCase):

    USES_PLACEMENT = True

    def test_started_service_is_up_and_forced_down_is_not(self):
        svc = self.start_service('nova-compute', host='h1')
        record = objects.Service.get_by_host_and_binary(
            self.context, 'h1', 'nova-compute')
        self.assertTrue(servicegroup.service_is_up(record))
        svc.kill()
        record.forced_down = True
        record.save()
        self.assertFalse(servicegroup.service_is_up(
            objects.Service.get_by_id(self.context, record.id)))
