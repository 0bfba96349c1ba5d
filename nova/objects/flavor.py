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

"""Flavor: the size of an instance and its extra specs.

Extra specs ask for more than sizes; ``hw:pmem=LABEL[,LABEL...]`` asks for
one vpmem namespace per label. An instance keeps a copy of its flavor (in
``instance_extra.flavor``), so deleting or changing a flavor never changes
a running instance.
"""

from oslo_utils import uuidutils

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class Flavor(base.NovaTimestampObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        # The id users see in the API; the database id is internal.
        'flavorid': fields.StringField(),
        'name': fields.StringField(),
        'memory_mb': fields.IntegerField(),
        'vcpus': fields.IntegerField(),
        'root_gb': fields.IntegerField(default=0),
        'ephemeral_gb': fields.IntegerField(default=0),
        'swap': fields.IntegerField(default=0),
        'disabled': fields.BooleanField(default=False),
        'is_public': fields.BooleanField(default=True),
        'description': fields.StringField(nullable=True, default=None),
        'extra_specs': fields.DictOfStringsField(default={}),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The extra specs as last read from or written to the database,
        # so save() can send only the difference.
        self._orig_extra_specs = None

    @staticmethod
    def _from_db_object(context, flavor, db_flavor):
        base.fill_from_db(flavor, db_flavor)
        flavor._orig_extra_specs = dict(flavor.extra_specs)
        flavor._context = context
        flavor.obj_reset_changes()
        return flavor

    @classmethod
    @base.remotable
    def get_by_id(cls, context, flavor_id):
        """The flavor with database id ``flavor_id``."""
        return cls._from_db_object(context, cls(),
                                   db.flavor_get(context, flavor_id))

    @classmethod
    @base.remotable
    def get_by_flavor_id(cls, context, flavorid):
        """The flavor with API id ``flavorid``."""
        return cls._from_db_object(
            context, cls(), db.flavor_get_by_flavor_id(context, flavorid))

    @classmethod
    @base.remotable
    def get_by_name(cls, context, name):
        return cls._from_db_object(context, cls(),
                                   db.flavor_get_by_name(context, name))

    @base.remotable
    def create(self):
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        if not self.obj_attr_is_set('flavorid'):
            self.flavorid = uuidutils.generate_uuid()
        self.obj_set_defaults()
        values = base.changes_for_db(self)
        values['extra_specs'] = dict(self.extra_specs)
        db_flavor = db.flavor_create(self._context, values)
        self._from_db_object(self._context, self, db_flavor)

    @base.remotable
    def save_extra_specs(self, to_add=None, to_delete=None):
        """Add or update ``to_add`` and remove the keys in ``to_delete``.

        Removing a key that is not there raises FlavorExtraSpecsNotFound.
        """
        if to_add:
            db.flavor_extra_specs_update_or_create(self._context, self.id,
                                                   to_add)
        for key in to_delete or ():
            db.flavor_extra_specs_delete(self._context, self.id, key)
        specs = dict(self.extra_specs
                     if self.obj_attr_is_set('extra_specs') else {})
        specs.update(to_add or {})
        for key in to_delete or ():
            specs.pop(key, None)
        self.extra_specs = specs
        self._orig_extra_specs = dict(specs)
        self.obj_reset_changes(['extra_specs'])

    @base.remotable
    def save(self):
        """Save a changed description (2.55) and extra specs; the rest of a
        flavor never changes."""
        changes = self.obj_what_changed()
        unsupported = changes - {'extra_specs', 'description'}
        if unsupported:
            raise exception.ObjectActionError(
                action='save',
                reason='only extra_specs of a flavor can change, not %s'
                       % ', '.join(sorted(unsupported)))
        if 'description' in changes:
            db.flavor_update_description(self._context, self.flavorid,
                                         self.description)
            self.obj_reset_changes(['description'])
        if 'extra_specs' not in changes:
            return
        orig = self._orig_extra_specs
        if orig is None:
            # Not read here (a copy, or one that came over RPC): compare
            # with what the database holds.
            orig = db.flavor_get(self._context, self.id)['extra_specs']
        to_add = {key: value for key, value in self.extra_specs.items()
                  if orig.get(key) != value}
        to_delete = [key for key in orig if key not in self.extra_specs]
        self.save_extra_specs(to_add=to_add, to_delete=to_delete)

    @base.remotable
    def destroy(self):
        db.flavor_destroy(self._context, self.flavorid)

    # Flavor access (os-flavor-access) is read and written by nova-api
    # only, straight from its database: not remotable, so Flavor 1.0 and
    # the objects that embed it are unchanged.
    def access_projects(self):
        """The projects that may use this (private) flavor, sorted."""
        return db.flavor_access_get_by_flavor_id(self._context,
                                                 self.flavorid)

    def add_access(self, project_id):
        db.flavor_access_add(self._context, self.flavorid, project_id)

    def remove_access(self, project_id):
        db.flavor_access_remove(self._context, self.flavorid, project_id)


@base.NovaObjectRegistry.register
class FlavorList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (Flavor 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Flavor'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_all(cls, context):
        return base.obj_make_list(context, cls(context), Flavor,
                                  db.flavor_get_all(context))
