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

"""The 2.55 description update down to the database."""

from nova.db import api as db
from nova import exception
from nova import objects
from nova.tests.unit.db import base


class FlavorDescriptionTestCase(base.DbTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.flavor = objects.Flavor(
            self.context, name='f1', flavorid='f1', memory_mb=16, vcpus=1,
            description='old', extra_specs={'k': 'v'})
        self.flavor.create()

    def test_save_writes_the_description(self):
        self.flavor.description = 'new'
        self.flavor.save()
        self.assertEqual(set(), self.flavor.obj_what_changed())
        again = objects.Flavor.get_by_flavor_id(self.context, 'f1')
        self.assertEqual(('new', {'k': 'v'}),
                         (again.description, again.extra_specs))
        self.flavor.description = None
        self.flavor.save()
        self.assertIsNone(objects.Flavor.get_by_flavor_id(
            self.context, 'f1').description)

    def test_other_fields_still_refused(self):
        self.flavor.memory_mb = 32
        self.assertRaises(exception.ObjectActionError, self.flavor.save)

    def test_missing_flavor(self):
        self.assertRaises(exception.FlavorNotFound,
                          db.flavor_update_description, self.context,
                          'nope', 'x')
