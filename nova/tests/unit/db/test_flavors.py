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

"""Tests of the flavors and flavor_extra_specs DB API."""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from nova.db import api as db
from nova import exception
from nova.tests.unit.db import base


def _flavor(**values):
    flavor = {'flavorid': 'pmem.small', 'name': 'pmem.small',
              'memory_mb': 2048, 'vcpus': 2, 'root_gb': 20,
              'ephemeral_gb': 0, 'swap': 0}
    flavor.update(values)
    return flavor


class FlavorTestCase(base.DbTestCase):

    def _spec_rows(self):
        with self.database.engine.connect() as conn:
            return conn.execute(sa.text(
                'SELECT flavor_id, key, value FROM flavor_extra_specs '
                'ORDER BY key')).fetchall()

    def test_create_with_extra_specs(self):
        flavor = db.flavor_create(self.context, _flavor(
            extra_specs={'hw:pmem': 'SMALL,MEDIUM', 'hw:cpu_policy': 'x'}))
        self.assertIs(dict, type(flavor))
        self.assertEqual({'hw:pmem': 'SMALL,MEDIUM', 'hw:cpu_policy': 'x'},
                         flavor['extra_specs'])
        self.assertTrue(flavor['is_public'])
        self.assertFalse(flavor['disabled'])
        self.assertIsNone(flavor['description'])
        self.assertEqual(2, len(self._spec_rows()))

    def test_get_by_id_flavorid_and_name(self):
        flavor = db.flavor_create(self.context,
                                  _flavor(extra_specs={'a': '1'}))
        self.assertEqual(flavor, db.flavor_get(self.context, flavor['id']))
        self.assertEqual(flavor, db.flavor_get_by_flavor_id(self.context,
                                                            'pmem.small'))
        self.assertEqual(flavor, db.flavor_get_by_name(self.context,
                                                       'pmem.small'))

    def test_get_missing_raises(self):
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_get, self.context, 3)
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_get_by_flavor_id, self.context, 'x')
        exc = self.assertRaises(exception.FlavorNotFoundByName,
                                db.flavor_get_by_name, self.context, 'big')
        self.assertIn('big', str(exc))

    def test_duplicate_name_raises_flavor_exists(self):
        db.flavor_create(self.context, _flavor())
        exc = self.assertRaises(exception.FlavorExists, db.flavor_create,
                                self.context, _flavor(flavorid='other'))
        self.assertEqual('pmem.small', exc.kwargs['name'])

    def test_duplicate_flavorid_raises_flavor_id_exists(self):
        db.flavor_create(self.context, _flavor())
        exc = self.assertRaises(exception.FlavorIdExists, db.flavor_create,
                                self.context, _flavor(name='other'))
        self.assertEqual('pmem.small', exc.kwargs['flavor_id'])
        # The failed create left nothing behind.
        self.assertEqual(1, len(db.flavor_get_all(self.context)))

    def test_get_all(self):
        small = db.flavor_create(self.context, _flavor())
        private = db.flavor_create(self.context, _flavor(
            flavorid='p', name='private', is_public=False,
            extra_specs={'k': 'v'}))
        self.assertEqual([small, private], db.flavor_get_all(self.context))
        self.assertEqual([private], db.flavor_get_all(
            self.context, filters={'is_public': False}))

    def test_destroy_deletes_flavor_and_specs(self):
        flavor = db.flavor_create(self.context,
                                  _flavor(extra_specs={'a': '1', 'b': '2'}))
        db.flavor_destroy(self.context, 'pmem.small')
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_get, self.context, flavor['id'])
        self.assertEqual([], self._spec_rows())
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_destroy, self.context, 'pmem.small')
        # Flavors are deleted for real: the name is free again.
        db.flavor_create(self.context, _flavor())

    def test_extra_specs_update_or_create(self):
        flavor = db.flavor_create(self.context,
                                  _flavor(extra_specs={'a': '1', 'b': '2'}))
        specs = db.flavor_extra_specs_update_or_create(
            self.context, flavor['id'], {'b': '20', 'c': '3'})
        self.assertEqual({'a': '1', 'b': '20', 'c': '3'}, specs)
        self.assertEqual(specs, db.flavor_get(self.context,
                                              flavor['id'])['extra_specs'])
        self.assertEqual(3, len(self._spec_rows()))

    def test_extra_specs_of_missing_flavor_raise(self):
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_extra_specs_update_or_create,
                          self.context, 99, {'a': '1'})

    def test_extra_specs_delete(self):
        flavor = db.flavor_create(self.context,
                                  _flavor(extra_specs={'a': '1', 'b': '2'}))
        db.flavor_extra_specs_delete(self.context, flavor['id'], 'a')
        self.assertEqual({'b': '2'}, db.flavor_get(
            self.context, flavor['id'])['extra_specs'])
        exc = self.assertRaises(exception.FlavorExtraSpecsNotFound,
                                db.flavor_extra_specs_delete,
                                self.context, flavor['id'], 'a')
        self.assertEqual('a', exc.kwargs['extra_specs_key'])

    def test_extra_spec_key_is_unique_per_flavor(self):
        flavor = db.flavor_create(self.context,
                                  _flavor(extra_specs={'a': '1'}))
        with self.database.engine.connect() as conn:
            exc = self.assertRaises(
                db_exc.DBDuplicateEntry, conn.execute,
                sa.text("INSERT INTO flavor_extra_specs (flavor_id, key, "
                        "value) VALUES (:id, 'a', '2')"),
                {'id': flavor['id']})
        self.assertEqual(['flavor_id', 'key'], sorted(exc.columns))
