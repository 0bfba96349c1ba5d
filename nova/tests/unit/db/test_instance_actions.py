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

"""Tests of the instance_actions and instance_actions_events DB API."""

import datetime
from unittest import mock

from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base
from nova.tests.unit.db import test_instances

T0 = datetime.datetime(2025, 3, 1, 12, 0, 0)


class InstanceActionTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.uuid = uuidutils.generate_uuid()
        self.now = T0
        patcher = mock.patch.object(timeutils, 'utcnow',
                                    side_effect=lambda: self.now)
        patcher.start()
        self.addCleanup(patcher.stop)

    def tick(self, seconds=1):
        self.now += datetime.timedelta(seconds=seconds)

    def _action(self, request_id, action='live-migration', uuid=None):
        action = db.instance_action_create(self.context, {
            'instance_uuid': uuid or self.uuid, 'action': action,
            'request_id': request_id, 'user_id': 'u', 'project_id': 'p',
            'start_time': timeutils.utcnow()})
        self.tick()
        return action

    def _request_ids(self, **kwargs):
        return [a['request_id'] for a in
                db.instance_action_get_all_by_instance(
                    self.context, self.uuid, **kwargs)]

    def test_create_and_get(self):
        created = self._action('req-1')
        self.assertIs(dict, type(created))
        self.assertEqual(T0, created['start_time'])
        # A new action counts as changed when it started.
        self.assertEqual(T0, created['updated_at'])
        self.assertIsNone(created['finish_time'])
        self.assertEqual(created, db.instance_action_get_by_request_id(
            self.context, self.uuid, 'req-1'))

    def test_get_is_per_instance(self):
        self._action('req-1')
        exc = self.assertRaises(
            exception.InstanceActionNotFound,
            db.instance_action_get_by_request_id, self.context,
            uuidutils.generate_uuid(), 'req-1')
        self.assertIsInstance(exc, exception.NotFound)
        self.assertIn('req-1', exc.format_message())

    def test_list_newest_first_with_paging(self):
        for n in range(5):
            self._action('req-%d' % n)
        self.assertEqual(['req-4', 'req-3', 'req-2', 'req-1', 'req-0'],
                         self._request_ids())
        self.assertEqual(['req-4', 'req-3'], self._request_ids(limit=2))
        self.assertEqual(['req-2', 'req-1'],
                         self._request_ids(limit=2, marker='req-3'))
        self.assertEqual([], self._request_ids(marker='req-0'))
        self.assertRaises(exception.MarkerNotFound, self._request_ids,
                          marker='req-missing')

    def test_same_second_is_ordered_by_id(self):
        for n in range(3):
            db.instance_action_create(self.context, {
                'instance_uuid': self.uuid, 'action': 'create',
                'request_id': 'req-%d' % n})
        self.assertEqual(['req-2', 'req-1', 'req-0'], self._request_ids())
        self.assertEqual(['req-0'], self._request_ids(marker='req-1'))

    def test_changes_since_and_before_use_updated_at(self):
        self._action('req-old')            # updated T0
        self._action('req-new')            # updated T0 + 1s
        self.tick(10)
        # An event makes the old action recently changed.
        db.instance_action_event_start(self.context, self.uuid, 'req-old',
                                       {'event': 'step'})
        since = T0 + datetime.timedelta(seconds=5)
        self.assertEqual(['req-old'], self._request_ids(
            filters={'changes-since': since}))
        self.assertEqual(['req-new'], self._request_ids(
            filters={'changes-before': since}))
        both = {'changes-since': T0 + datetime.timedelta(seconds=1),
                'changes-before': T0 + datetime.timedelta(seconds=1)}
        self.assertEqual(['req-new'], self._request_ids(filters=both))
        # Time zones are compared in UTC.
        aware = datetime.datetime(2025, 3, 1, 13, 0, 5, tzinfo=(
            datetime.timezone(datetime.timedelta(hours=1))))
        self.assertEqual(['req-old'], self._request_ids(
            filters={'changes-since': aware}))
        self.assertRaises(exception.Invalid, self._request_ids,
                          filters={'host': 'x'})

    def test_newest_of_a_kind(self):
        self._action('req-1', action='live-migration')
        self._action('req-2', action='live-migration')
        self._action('req-3', action='delete')
        self.assertEqual('req-3', db.instance_action_get_newest(
            self.context, self.uuid)['request_id'])
        self.assertEqual('req-2', db.instance_action_get_newest(
            self.context, self.uuid, action='live-migration')['request_id'])
        self.assertRaises(exception.InstanceActionNotFound,
                          db.instance_action_get_newest, self.context,
                          self.uuid, action='migrate')

    def test_finish_keeps_first_time_and_error_message(self):
        self._action('req-1')
        first = db.instance_action_finish(self.context, self.uuid, 'req-1',
                                          {'message': 'Error'})
        self.assertEqual(T0 + datetime.timedelta(seconds=1),
                         first['finish_time'])
        self.tick()
        again = db.instance_action_finish(self.context, self.uuid, 'req-1',
                                          {'message': None})
        self.assertEqual(first['finish_time'], again['finish_time'])
        self.assertEqual('Error', again['message'])
        self.assertEqual(T0 + datetime.timedelta(seconds=2),
                         again['updated_at'])
        self.assertRaises(exception.InstanceActionNotFound,
                          db.instance_action_finish, self.context,
                          self.uuid, 'req-2', {})

    def test_event_start_finish_and_list(self):
        action = self._action('req-1')
        db.instance_action_event_start(
            self.context, self.uuid, 'req-1',
            {'event': 'conductor_live_migrate_instance', 'host': 'cond',
             'start_time': timeutils.utcnow()})
        self.tick()
        db.instance_action_event_start(
            self.context, self.uuid, 'req-1',
            {'event': 'compute_live_migration', 'host': 'compute-a'})
        self.tick()
        finished = db.instance_action_event_finish(
            self.context, self.uuid, 'req-1',
            {'event': 'conductor_live_migrate_instance',
             'result': 'Success'})
        self.assertEqual('Success', finished['result'])
        self.assertEqual(T0 + datetime.timedelta(seconds=3),
                         finished['finish_time'])
        events = db.instance_action_events_get(self.context, action['id'])
        self.assertEqual(['compute_live_migration',
                          'conductor_live_migrate_instance'],
                         [e['event'] for e in events])
        self.assertEqual([None, 'Success'], [e['result'] for e in events])
        stored = db.instance_action_get_by_request_id(self.context,
                                                      self.uuid, 'req-1')
        self.assertIsNone(stored['message'])
        self.assertEqual(T0 + datetime.timedelta(seconds=3),
                         stored['updated_at'])

    def test_failed_event_marks_the_action(self):
        self._action('req-1')
        db.instance_action_event_start(self.context, self.uuid, 'req-1',
                                       {'event': 'step'})
        db.instance_action_event_finish(
            self.context, self.uuid, 'req-1',
            {'event': 'step', 'result': 'Error', 'traceback': 'tb',
             'details': 'why'})
        action = db.instance_action_get_by_request_id(self.context,
                                                      self.uuid, 'req-1')
        self.assertEqual('Error', action['message'])
        event = db.instance_action_events_get(self.context,
                                              action['id'])[0]
        self.assertEqual(('Error', 'tb', 'why'),
                         (event['result'], event['traceback'],
                          event['details']))

    def test_finish_takes_the_unfinished_event(self):
        action = self._action('req-1')
        for _ in range(2):
            db.instance_action_event_start(self.context, self.uuid,
                                           'req-1', {'event': 'retry'})
            self.tick()
            db.instance_action_event_finish(
                self.context, self.uuid, 'req-1',
                {'event': 'retry', 'result': 'Error'})
        events = db.instance_action_events_get(self.context, action['id'])
        self.assertEqual(2, len(events))
        self.assertTrue(all(e['finish_time'] for e in events))
        self.assertRaises(exception.InstanceActionEventNotFound,
                          db.instance_action_event_finish, self.context,
                          self.uuid, 'req-1',
                          {'event': 'retry', 'result': 'Success'})

    def test_events_need_an_action(self):
        self.assertRaises(exception.InstanceActionNotFound,
                          db.instance_action_event_start, self.context,
                          self.uuid, 'req-none', {'event': 'step'})

    def test_fallback_to_newest_action_of_a_kind(self):
        self._action('req-lm', action='live-migration')
        self._action('req-del', action='delete')
        event = db.instance_action_event_start(
            self.context, self.uuid, 'req-periodic',
            {'event': 'recover', 'result': 'Error', 'details': 'gone',
             'finish_time': timeutils.utcnow()},
            fallback_action='live-migration')
        lm = db.instance_action_get_by_request_id(self.context, self.uuid,
                                                  'req-lm')
        self.assertEqual(lm['id'], event['action_id'])
        self.assertEqual('Error', lm['message'])
        # The request's own action wins over the fallback.
        own = db.instance_action_event_start(
            self.context, self.uuid, 'req-del', {'event': 'x'},
            fallback_action='live-migration')
        self.assertNotEqual(lm['id'], own['action_id'])
        self.assertRaises(exception.InstanceActionNotFound,
                          db.instance_action_event_start, self.context,
                          self.uuid, 'req-periodic', {'event': 'x'},
                          fallback_action='migrate')

    def test_bad_result_and_columns_are_refused(self):
        self._action('req-1')
        self.assertRaises(exception.Invalid, db.instance_action_event_start,
                          self.context, self.uuid, 'req-1',
                          {'event': 'x', 'result': 'Maybe'})
        self.assertRaises(exception.Invalid, db.instance_action_create,
                          self.context, {'instance_uuid': self.uuid,
                                         'colour': 'red'})

    def test_actions_outlive_their_instance(self):
        instance = db.instance_create(self.context,
                                      test_instances.instance_values())
        self._action('req-1', action='delete', uuid=instance['uuid'])
        db.instance_destroy(self.context, instance['uuid'])
        actions = db.instance_action_get_all_by_instance(self.context,
                                                         instance['uuid'])
        self.assertEqual(['delete'], [a['action'] for a in actions])
