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

"""The base classes every nova-vpmem versioned object builds on.

Objects are oslo.versionedobjects classes in the ``nova`` namespace. A
class is registered with :class:`NovaObjectRegistry`, which also publishes
the newest version of each class as ``nova.objects.<Name>``.

Backports: an object holding other objects lists, per object field, which
child version each of its own versions carries (``obj_relationships``), so
``obj_to_primitive(target_version=...)`` can backport the whole tree
without help. A peer may instead send its version manifest
(:func:`obj_tree_get_versions`), which then wins over the table.
"""

import datetime

from oslo_serialization import jsonutils
from oslo_utils import timeutils
from oslo_utils import uuidutils
from oslo_utils import versionutils
from oslo_versionedobjects import base as ovo_base
from oslo_versionedobjects import fields as ovo_fields

from nova import exception
from nova.objects import fields

# Fields the database layer fills itself (or that only destroy() changes);
# objects never send them in a create or update.
DB_MANAGED_FIELDS = frozenset(['id', 'deleted', 'deleted_at'])


# Persistence methods are remotable: with an indirection API set they would
# run in the conductor; nova-vpmem services reach the database directly.
remotable = ovo_base.remotable


def _version_tuple(version):
    return versionutils.convert_version_to_tuple(version)


class NovaObjectRegistry(ovo_base.VersionedObjectRegistry):
    """The registry of nova objects.

    On registration it makes the class reachable as an attribute of the
    ``nova.objects`` package, unless a newer version is already there.
    """

    def registration_hook(self, cls, index):
        # Imported here: the package imports the object modules, which
        # import this module.
        from nova import objects

        name = cls.obj_name()
        current = getattr(objects, name, None)
        if current is None or (_version_tuple(cls.VERSION) >=
                               _version_tuple(current.VERSION)):
            setattr(objects, name, cls)


class NovaObject(ovo_base.VersionedObject):
    """Base class of every nova object."""

    OBJ_SERIAL_NAMESPACE = 'nova_object'
    OBJ_PROJECT_NAMESPACE = 'nova'

    def _obj_relationship_for(self, field, target_version):
        # A field declared with subclasses=True may hold a subclass that has
        # its own version line (ResourceMetadata -> LibvirtVPMEMDevice). The
        # parent's table and the manifest entry of the declared class speak
        # about the declared class, not about the subclass, so look the
        # subclass up by its own name.
        declared = getattr(self.fields[field], 'objname', None)
        value = (getattr(self, field)
                 if self.obj_attr_is_set(field) else None)
        if (not isinstance(value, ovo_base.VersionedObject) or
                value.obj_name() == declared):
            return super()._obj_relationship_for(field, target_version)

        manifest = getattr(self, '_obj_version_manifest', None)
        if manifest is not None:
            if value.obj_name() not in manifest:
                return None
            return [(target_version, manifest[value.obj_name()])]
        # No manifest: the table still says since when the field exists,
        # but cannot say which subclass version to send, so keep the
        # subclass at its own version.
        table = super()._obj_relationship_for(field, target_version)
        return [(table[0][0], value.VERSION)]


# Dict-style access ("instance['host']") for code that wants it; nova-vpmem
# objects use attribute access and do not mix this in.
NovaObjectDictCompat = ovo_base.VersionedObjectDictCompat


class NovaTimestampObject:
    """Mixin: the row's creation and last update time."""

    fields = {
        'created_at': fields.DateTimeField(nullable=True),
        'updated_at': fields.DateTimeField(nullable=True),
    }


class NovaPersistentObject(NovaTimestampObject):
    """Mixin: timestamps plus the soft-delete columns of a table.

    The tables keep ``deleted = id`` for a deleted row so unique
    constraints can include it; objects only say whether it is deleted.
    """

    fields = dict(NovaTimestampObject.fields, **{
        'deleted_at': fields.DateTimeField(nullable=True),
        'deleted': fields.BooleanField(default=False),
    })


class ObjectListBase(ovo_base.ObjectListBase):
    """Base class of the ``FooList`` objects.

    Lists name their child versions in ``obj_relationships['objects']``
    (not ``child_versions``), so a peer's version manifest is honoured.
    """


class NovaObjectSerializer(ovo_base.VersionedObjectSerializer):
    """Turns nova objects into primitives for RPC, and back.

    nova.rpc wraps this in its context-aware serializer; the objects that
    come back carry the request context of the message.
    """

    OBJ_BASE_CLASS = NovaObject


def obj_tree_get_versions(objname):
    """The version manifest of ``objname`` and everything it may hold.

    Like oslo's function of the same name, plus the registered subclasses
    of every class in the tree: a field declared with ``subclasses=True``
    carries them, and a backport needs to know their versions too.
    """
    tree = ovo_base.obj_tree_get_versions(objname)
    registry = NovaObjectRegistry.obj_classes()
    grown = True
    while grown:
        grown = False
        for name, classes in sorted(registry.items()):
            if name in tree or not classes:
                continue
            newest = classes[0]
            ancestors = [klass.obj_name() for klass in newest.__mro__[1:]
                         if issubclass(klass, NovaObject)]
            if any(ancestor in tree for ancestor in ancestors):
                ovo_base.obj_tree_get_versions(name, tree=tree)
                grown = True
    return tree


def obj_make_list(context, list_obj, item_cls, db_list, **extra_args):
    """Fill ``list_obj`` with ``item_cls`` objects made from DB dicts.

    ``item_cls._from_db_object(context, obj, db_dict, **extra_args)`` does
    the conversion of each row.
    """
    list_obj.objects = [
        item_cls._from_db_object(context, item_cls(), db_item, **extra_args)
        for db_item in db_list]
    list_obj._context = context
    list_obj.obj_reset_changes()
    return list_obj


def is_object_field(field):
    return isinstance(field, (ovo_fields.ObjectField,
                              ovo_fields.ListOfObjectsField))


def datetime_to_db(value):
    """Naive UTC, as the DB columns store it (MySQL refuses offsets)."""
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def fill_from_db(obj, db_obj, skip=()):
    """Copy the columns of a DB row dict onto the object's plain fields.

    Object fields are left to the caller. Timestamp and soft-delete fields
    a table lacks are set to "never"/"not deleted" rather than left unset,
    so reading them does not try to lazy-load.
    """
    timestamps = NovaPersistentObject.fields
    for name, field in obj.fields.items():
        if name in skip or is_object_field(field):
            continue
        if name == 'deleted' and name in timestamps:
            obj.deleted = bool(db_obj.get('deleted'))
        elif name in db_obj:
            setattr(obj, name, db_obj[name])
        elif name in timestamps:
            setattr(obj, name, None)


def changes_for_db(obj, skip=()):
    """The changed plain fields of ``obj`` as a values dict for the DB API."""
    values = {}
    for name in obj.obj_what_changed():
        field = obj.fields.get(name)
        if (field is None or name in skip or name in DB_MANAGED_FIELDS or
                is_object_field(field)):
            continue
        values[name] = datetime_to_db(getattr(obj, name))
    return values


def unchanged_for(record, seconds):
    """True when ``record`` (with ``updated_at``/``created_at``) has not
    changed for ``seconds``, or says nothing of when it did."""
    changed = record.updated_at or record.created_at
    if changed is None:
        return True
    return timeutils.delta_seconds(timeutils.normalize_time(changed),
                                   timeutils.utcnow()) >= seconds


def obj_to_json(obj):
    """The JSON text an ``instance_extra`` column holds for ``obj``."""
    if obj is None:
        return None
    return jsonutils.dumps(obj.obj_to_primitive())


def obj_from_json(text, context=None):
    """The object stored as JSON by :func:`obj_to_json` (None for None).

    The stored primitive may list changed fields; a freshly loaded object
    has none, so they are reset.
    """
    if text is None:
        return None
    obj = NovaObject.obj_from_primitive(jsonutils.loads(text),
                                        context=context)
    obj.obj_reset_changes(recursive=True)
    return obj


def create_record(obj, db_create):
    """Create the row of a one-row object with ``db_create(ctx, values)``.

    Gives the object a uuid when it has none, and refreshes it from the
    row the database returns (ids, timestamps, defaults).
    """
    if obj.obj_attr_is_set('id'):
        raise exception.ObjectActionError(action='create',
                                          reason='already created')
    if not obj.obj_attr_is_set('uuid'):
        obj.uuid = uuidutils.generate_uuid()
    db_row = db_create(obj._context, changes_for_db(obj))
    obj._from_db_object(obj._context, obj, db_row)


def save_record(obj, db_update):
    """Write the changed fields with ``db_update(ctx, id, values)``.

    The uuid never changes once created.
    """
    updates = changes_for_db(obj, skip=('uuid',))
    if not updates:
        return
    db_row = db_update(obj._context, obj.id, updates)
    obj._from_db_object(obj._context, obj, db_row)
