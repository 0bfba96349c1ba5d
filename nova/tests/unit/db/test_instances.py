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

"""Tests of the instances, instance_extra and instance_faults DB API."""

import datetime

from oslo_utils import uuidutils

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base

EMPTY_EXTRA = {'flavor': None, 'resources': None,
               'migration_context': None, 'numa_topology': None}


def instance_values(**values):
    instance = {'uuid': uuidutils.generate_uuid(), 'user_id': 'user',
                'project_id': 'project', 'display_name': 'vm',
                'host': 'host1', 'node': 'node1', 'vm_state': 'active',
                'memory_mb': 2048, 'vcpus': 2, 'root_gb': 20,
                'ephemeral_gb': 0}
    instance.update(values)
    return instance


class InstanceTestCase(base.DbTestCase):

    def _create(self, **values):
        return db.instance_create(self.context, instance_values(**values))

    def test_create_returns_dict_with_extra(self):
        instance = self._create(extra={'flavor': '{"f": 1}',
                                       'resources': '[]'})
        self.assertIs(dict, type(instance))
        self.assertEqual({'flavor': '{"f": 1}', 'resources': '[]',
                          'migration_context': None,
                          'numa_topology': None}, instance['extra'])
        self.assertEqual(0, instance['power_state'])
        self.assertIsNone(instance['task_state'])

    def test_get_by_uuid_always_has_extra(self):
        plain = self._create()
        self.assertEqual(EMPTY_EXTRA, plain['extra'])
        with_extra = self._create(extra={'numa_topology': '{}'})
        fetched = db.instance_get_by_uuid(self.context, with_extra['uuid'],
                                          columns_to_join=['extra'])
        self.assertEqual(with_extra, fetched)
        self.assertEqual('{}', fetched['extra']['numa_topology'])
        self.assertEqual(plain, db.instance_get_by_uuid(self.context,
                                                        plain['uuid']))

    def test_get_missing_raises(self):
        exc = self.assertRaises(exception.InstanceNotFound,
                                db.instance_get_by_uuid, self.context,
                                'missing-uuid')
        self.assertEqual('missing-uuid', exc.kwargs['instance_id'])

    def test_duplicate_uuid_raises_instance_exists(self):
        instance = self._create()
        self.assertRaises(exception.InstanceExists, db.instance_create,
                          self.context, instance_values(
                              uuid=instance['uuid']))

    def test_unknown_columns_are_refused(self):
        self.assertRaises(exception.Invalid, db.instance_create,
                          self.context, instance_values(colour='red'))
        self.assertRaises(exception.Invalid, db.instance_create,
                          self.context, instance_values(
                              extra={'colour': 'red'}))

    def test_get_all_by_host_and_node(self):
        one = self._create()
        two = self._create(node='node2')
        self._create(host='host2')
        self.assertEqual([one['uuid'], two['uuid']], [
            i['uuid'] for i in db.instance_get_all_by_host(self.context,
                                                           'host1')])
        by_node = db.instance_get_all_by_host_and_node(self.context,
                                                       'host1', 'node2')
        self.assertEqual([two], by_node)

    def test_get_all_by_filters(self):
        one = self._create(task_state='migrating')
        two = self._create(host='host2')
        three = self._create(host=None, vm_state='building')

        def uuids(filters, **kwargs):
            return {i['uuid'] for i in db.instance_get_all_by_filters(
                self.context, filters, **kwargs)}

        self.assertEqual({one['uuid'], two['uuid']},
                         uuids({'vm_state': 'active'}))
        self.assertEqual({one['uuid'], three['uuid']},
                         uuids({'host': ['host1', None]}))
        self.assertEqual({three['uuid']}, uuids({'host': None}))
        self.assertEqual({two['uuid'], three['uuid']},
                         uuids({'task_state': None}))
        self.assertEqual(set(), uuids({'host': []}))
        self.assertEqual({one['uuid'], two['uuid'], three['uuid']},
                         uuids({}))
        self.assertRaises(exception.Invalid, db.instance_get_all_by_filters,
                          self.context, {'colour': 'red'})

    def test_get_all_by_filters_deleted(self):
        live = self._create()
        gone = self._create()
        db.instance_destroy(self.context, gone['uuid'])
        listed = db.instance_get_all_by_filters(self.context, {})
        self.assertEqual([live['uuid']], [i['uuid'] for i in listed])
        listed = db.instance_get_all_by_filters(self.context,
                                                {'deleted': True})
        self.assertEqual([gone['uuid']], [i['uuid'] for i in listed])
        listed = db.instance_get_all_by_filters(self.deleted_context(), {})
        self.assertEqual({live['uuid'], gone['uuid']},
                         {i['uuid'] for i in listed})

    def _pages(self, page_size, **kwargs):
        seen, marker = [], None
        while True:
            page = db.instance_get_all_by_filters(
                self.context, {}, limit=page_size, marker=marker, **kwargs)
            if not page:
                return seen
            self.assertLessEqual(len(page), page_size)
            seen.extend(i['uuid'] for i in page)
            marker = page[-1]['uuid']

    def _names(self, filters, **kwargs):
        return sorted(i['display_name'] for i in
                      db.instance_get_all_by_filters(self.context, filters,
                                                     **kwargs))

    def test_filter_by_regex(self):
        for name in ('web-1', 'web-2', 'db-1', 'Web-3'):
            self._create(display_name=name)
        self.assertEqual(['web-1', 'web-2'],
                         self._names({'display_name': {'regex': '^web'}}))
        # re.search: anywhere in the name, case-sensitive (SQLite).
        self.assertEqual(['db-1', 'web-1'],
                         self._names({'display_name': {'regex': '-1$'}}))
        self.assertEqual(['Web-3', 'web-1', 'web-2'],
                         self._names({'display_name': {'regex': '[Ww]eb'}}))
        self.assertEqual([], self._names(
            {'display_name': {'regex': 'web'}, 'host': 'elsewhere'}))

    def test_filter_by_range_of_updated_at(self):
        t0 = datetime.datetime(2025, 1, 1)
        for day, name in enumerate(('a', 'b', 'c')):
            self._create(display_name=name,
                         updated_at=t0 + datetime.timedelta(days=day))
        day1 = t0 + datetime.timedelta(days=1)
        self.assertEqual(['b', 'c'],
                         self._names({'updated_at': {'gte': day1}}))
        self.assertEqual(['a', 'b'],
                         self._names({'updated_at': {'lte': day1}}))
        self.assertEqual(['b'], self._names(
            {'updated_at': {'gte': day1, 'lte': day1}}))

    def test_unknown_operator_is_refused(self):
        self.assertRaises(exception.Invalid, db.instance_get_all_by_filters,
                          self.context, {'display_name': {'like': 'x%'}})

    def test_deleted_none_is_live_and_deleted(self):
        self._create(display_name='live')
        gone = self._create(display_name='gone')
        db.instance_destroy(self.context, gone['uuid'])
        self.assertEqual(['gone', 'live'], self._names({'deleted': None}))
        self.assertEqual(['live'], self._names({'deleted': False}))
        self.assertEqual(['gone'], self._names({'deleted': True}))

    def test_sort_and_paginate(self):
        base_time = datetime.datetime(2024, 1, 1)
        created = []
        for index in range(7):
            # Two instances share each creation time: the id breaks ties.
            created.append(self._create(
                created_at=base_time + datetime.timedelta(
                    minutes=index // 2))['uuid'])
        newest_first = list(reversed(created))
        self.assertEqual(newest_first, [
            i['uuid'] for i in db.instance_get_all_by_filters(
                self.context, {})])
        self.assertEqual(newest_first, self._pages(3))
        self.assertEqual(created, self._pages(2, sort_dir='asc'))
        self.assertEqual(created[:2], [
            i['uuid'] for i in db.instance_get_all_by_filters(
                self.context, {}, limit=2, sort_key='created_at',
                sort_dir='asc')])

    def test_paginate_by_nullable_column(self):
        hosts = ['b', None, 'a', None, 'b', 'c']
        created = [self._create(host=host)['uuid'] for host in hosts]
        full = [i['uuid'] for i in db.instance_get_all_by_filters(
            self.context, {}, sort_key='host', sort_dir='asc')]
        self.assertEqual(sorted(created), sorted(full))
        # Non-NULL hosts in order, then the NULLs, ties by id.
        self.assertEqual([created[i] for i in (2, 0, 4, 5, 1, 3)], full)
        for page_size in (1, 2, 4):
            self.assertEqual(full, self._pages(page_size, sort_key='host',
                                               sort_dir='asc'))
            self.assertEqual(list(reversed(full)),
                             self._pages(page_size, sort_key='host',
                                         sort_dir='desc'))

    def test_paginate_errors(self):
        self._create()
        self.assertRaises(exception.MarkerNotFound,
                          db.instance_get_all_by_filters, self.context, {},
                          marker='missing')
        self.assertRaises(exception.Invalid, db.instance_get_all_by_filters,
                          self.context, {}, sort_key='colour')
        self.assertRaises(exception.Invalid, db.instance_get_all_by_filters,
                          self.context, {}, sort_dir='sideways')

    def test_extra_update_by_uuid(self):
        instance = self._create(extra={'flavor': 'f1'})
        extra = db.instance_extra_update_by_uuid(
            self.context, instance['uuid'], {'migration_context': 'mc'})
        self.assertEqual(dict(EMPTY_EXTRA, flavor='f1',
                              migration_context='mc'), extra)
        self.assertEqual(extra, db.instance_get_by_uuid(
            self.context, instance['uuid'])['extra'])
        db.instance_extra_update_by_uuid(self.context, instance['uuid'],
                                         {'migration_context': None})
        self.assertIsNone(db.instance_get_by_uuid(
            self.context, instance['uuid'])['extra']['migration_context'])
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_extra_update_by_uuid, self.context,
                          'missing', {'flavor': 'x'})
        self.assertRaises(exception.Invalid,
                          db.instance_extra_update_by_uuid, self.context,
                          instance['uuid'], {'colour': 'red'})

    def test_destroy_is_soft_and_hides_the_instance(self):
        instance = self._create(extra={'resources': 'r'})
        db.instance_fault_create(self.context, {
            'instance_uuid': instance['uuid'], 'code': 500,
            'message': 'boom'})
        deleted = db.instance_destroy(self.context, instance['uuid'])
        self.assertEqual(instance['id'], deleted['deleted'])
        self.assertIsNotNone(deleted['deleted_at'])
        self.assertRaises(exception.InstanceNotFound,
                          db.instance_get_by_uuid, self.context,
                          instance['uuid'])
        self.assertEqual([], db.instance_get_all_by_host(self.context,
                                                         'host1'))
        self.assertEqual({instance['uuid']: []},
                         db.instance_fault_get_by_instance_uuids(
                             self.context, [instance['uuid']]))
        # Still there for whoever asks for deleted rows, extra included.
        seen = db.instance_get_by_uuid(self.deleted_context(),
                                       instance['uuid'])
        self.assertEqual('r', seen['extra']['resources'])
        self.assertEqual(1, len(db.instance_fault_get_by_instance_uuids(
            self.deleted_context(), [instance['uuid']])[instance['uuid']]))
        self.assertRaises(exception.InstanceNotFound, db.instance_destroy,
                          self.context, instance['uuid'])


class InstanceFaultTestCase(base.DbTestCase):

    def test_create_and_get_newest_first(self):
        one = db.instance_create(self.context, instance_values())
        two = db.instance_create(self.context, instance_values())
        start = datetime.datetime(2024, 1, 1)
        for minute, code in ((0, 500), (2, 404), (1, 409)):
            fault = db.instance_fault_create(self.context, {
                'instance_uuid': one['uuid'], 'code': code,
                'message': 'error %d' % code, 'details': 'trace',
                'host': 'host1',
                'created_at': start + datetime.timedelta(minutes=minute)})
            self.assertIs(dict, type(fault))
        faults = db.instance_fault_get_by_instance_uuids(
            self.context, [one['uuid'], two['uuid']])
        self.assertEqual([404, 409, 500],
                         [f['code'] for f in faults[one['uuid']]])
        self.assertEqual([], faults[two['uuid']])
        latest = db.instance_fault_get_by_instance_uuids(
            self.context, [one['uuid']], latest=True)
        self.assertEqual([404], [f['code'] for f in latest[one['uuid']]])

    def test_fault_of_missing_instance_raises(self):
        exc = self.assertRaises(exception.InstanceNotFound,
                                db.instance_fault_create, self.context,
                                {'instance_uuid': 'missing', 'code': 500,
                                 'message': 'boom'})
        self.assertEqual('missing', exc.kwargs['instance_id'])
