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

"""Instance: a guest and everything nova-vpmem records about it.

The plain fields are columns of ``instances``. The flavor, the specific
resources (vpmem namespaces), the migration context and the NUMA topology
live as JSON in ``instance_extra`` and load on first use; so does the
newest fault.

``save(expected_task_state=...)`` is a compare-and-swap in the database:
two operations that both expect the instance idle cannot both start.
"""

import contextlib

from oslo_log import log as logging
from oslo_utils import uuidutils
from oslo_utils import versionutils

from nova.db import api as db
from nova import exception
from nova.objects import base
from nova.objects import fields
from nova.objects import instance_fault

LOG = logging.getLogger(__name__)

# Fields kept as JSON in the instance_extra column of the same name.
EXTRA_FIELDS = ('flavor', 'resources', 'migration_context', 'numa_topology')
# Fields that are not loaded unless asked for (expected_attrs) or used.
INSTANCE_OPTIONAL_ATTRS = EXTRA_FIELDS + ('fault',)
# The fields a migration context holds a source and a destination value of.
_MIGRATION_CONTEXT_ATTRS = ('resources',)
# Sizes an instance copies from its flavor when created without them.
_FLAVOR_SIZES = ('memory_mb', 'vcpus', 'root_gb', 'ephemeral_gb')
# The fields version 1.2 added (what the compute API shows of a server).
_API_FIELDS_1_2 = ('display_description', 'locked', 'locked_by',
                   'locked_reason')
# The field version 1.3 added: the key pair the server was booted with.
_API_FIELDS_1_3 = ('key_name',)


def _as_list(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


@base.NovaObjectRegistry.register
class Instance(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version (MigrationContext 1.0)
    # Version 1.1: MigrationContext 1.1 (old and new resources)
    # Version 1.2: Added display_description, locked, locked_by and
    #              locked_reason
    # Version 1.3: Added key_name
    VERSION = '1.3'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'uuid': fields.UUIDField(),
        'user_id': fields.StringField(nullable=True),
        'project_id': fields.StringField(nullable=True),
        'display_name': fields.StringField(nullable=True),
        'host': fields.StringField(nullable=True),
        'node': fields.StringField(nullable=True),
        'launched_on': fields.StringField(nullable=True),
        # nova.compute.vm_states / task_states / power_state.
        'vm_state': fields.StringField(nullable=True),
        'task_state': fields.StringField(nullable=True),
        'power_state': fields.IntegerField(nullable=True),
        'memory_mb': fields.IntegerField(nullable=True),
        'vcpus': fields.IntegerField(nullable=True),
        'root_gb': fields.IntegerField(nullable=True),
        'ephemeral_gb': fields.IntegerField(nullable=True),
        'image_ref': fields.StringField(nullable=True),
        'launched_at': fields.DateTimeField(nullable=True),
        'terminated_at': fields.DateTimeField(nullable=True),
        'display_description': fields.StringField(nullable=True),
        # A locked instance refuses actions of non-administrators;
        # locked_by ('owner' or 'admin') says who may unlock it.
        'locked': fields.BooleanField(default=False),
        'locked_by': fields.StringField(nullable=True),
        'locked_reason': fields.StringField(nullable=True),
        # The name of the owner's key pair it was booted with (os-keypairs).
        'key_name': fields.StringField(nullable=True),

        'flavor': fields.ObjectField('Flavor'),
        # The specific resources (vpmem namespaces) held on self.host.
        'resources': fields.ObjectField('ResourceList', nullable=True),
        'migration_context': fields.ObjectField('MigrationContext',
                                                nullable=True),
        'numa_topology': fields.ObjectField('InstanceNUMATopology',
                                            nullable=True),
        'fault': fields.ObjectField('InstanceFault', nullable=True),
    }
    obj_relationships = {
        'flavor': [('1.0', '1.0')],
        'resources': [('1.0', '1.0')],
        'migration_context': [('1.0', '1.0'), ('1.1', '1.1')],
        'numa_topology': [('1.0', '1.0')],
        'fault': [('1.0', '1.0')],
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        target = versionutils.convert_version_to_tuple(target_version)
        if target < (1, 3):
            for name in _API_FIELDS_1_3:
                primitive.pop(name, None)
        if target < (1, 2):
            for name in _API_FIELDS_1_2:
                primitive.pop(name, None)

    @staticmethod
    def _from_db_object(context, instance, db_inst, expected_attrs=None):
        """Fill ``instance`` from a DB dict.

        The optional fields named in ``expected_attrs`` are set too (from
        the row's 'extra' dict, or by reading the newest fault).
        """
        expected_attrs = expected_attrs or ()
        instance._context = context
        base.fill_from_db(instance, db_inst)
        extra = db_inst.get('extra') or {}
        for name in EXTRA_FIELDS:
            if name in expected_attrs:
                instance._set_extra(name, extra.get(name))
        if 'fault' in expected_attrs:
            instance.fault = (
                instance_fault.InstanceFault.get_latest_for_instance(
                    context, instance.uuid))
        instance.obj_reset_changes(recursive=True)
        return instance

    def _set_extra(self, name, db_text):
        value = base.obj_from_json(db_text, context=self._context)
        if value is None and not self.fields[name].nullable:
            # Nothing stored (a flavor is required): leave it unset, so
            # using it says what is missing instead of returning None.
            return False
        setattr(self, name, value)
        return True

    def obj_load_attr(self, attrname):
        if attrname not in INSTANCE_OPTIONAL_ATTRS:
            raise exception.ObjectActionError(
                action='obj_load_attr',
                reason='attribute %s is not lazy-loadable' % attrname)
        if self._context is None:
            raise exception.OrphanedObjectError(method='obj_load_attr',
                                                objtype=self.obj_name())
        LOG.debug('Lazy-loading %s of instance %s', attrname, self.uuid)
        if attrname == 'fault':
            self.fault = instance_fault.InstanceFault.get_latest_for_instance(
                self._context, self.uuid)
        else:
            db_inst = db.instance_get_by_uuid(self._context, self.uuid)
            extra = db_inst.get('extra') or {}
            if not self._set_extra(attrname, extra.get(attrname)):
                raise exception.ObjectActionError(
                    action='obj_load_attr',
                    reason='instance %s has no %s stored'
                           % (self.uuid, attrname))
        self.obj_reset_changes([attrname])

    @classmethod
    @base.remotable
    def get_by_uuid(cls, context, uuid, expected_attrs=None):
        """The instance ``uuid``; InstanceNotFound if there is none.

        ``expected_attrs`` lists optional fields to load now rather than
        on first use.
        """
        db_inst = db.instance_get_by_uuid(context, uuid)
        return cls._from_db_object(context, cls(), db_inst,
                                   expected_attrs=expected_attrs)

    @base.remotable
    def create(self):
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        if not self.obj_attr_is_set('uuid'):
            self.uuid = uuidutils.generate_uuid()
        has_flavor = self.obj_attr_is_set('flavor')
        if has_flavor:
            for size in _FLAVOR_SIZES:
                if not self.obj_attr_is_set(size):
                    setattr(self, size, getattr(self.flavor, size))
        values = base.changes_for_db(self)
        if has_flavor and self.flavor.obj_attr_is_set('id'):
            values['instance_type_id'] = self.flavor.id
        stored = [name for name in EXTRA_FIELDS if self.obj_attr_is_set(name)]
        values['extra'] = {name: base.obj_to_json(getattr(self, name))
                           if name in stored else None
                           for name in EXTRA_FIELDS}
        db_inst = db.instance_create(self._context, values)
        self._from_db_object(self._context, self, db_inst,
                             expected_attrs=stored)
        # What was not given is known to be empty: no need to read it.
        for name in INSTANCE_OPTIONAL_ATTRS:
            if not self.obj_attr_is_set(name) and self.fields[name].nullable:
                setattr(self, name, None)
        self.obj_reset_changes()

    @base.remotable
    def save(self, expected_task_state=None, expected_vm_state=None):
        """Write the changed fields, optionally as a compare-and-swap.

        ``expected_task_state`` / ``expected_vm_state``: a state or a list
        of states the row must be in for the write to happen; pass
        ``[None]`` to require an idle instance (None alone means "do not
        check"). Otherwise UnexpectedTaskStateError / UnexpectedVMStateError
        is raised and nothing is written. Changed extra fields (flavor,
        resources, migration context, NUMA topology) are written in the same
        statement.
        """
        expected = {}
        if expected_task_state is not None:
            expected['task_state'] = _as_list(expected_task_state)
        if expected_vm_state is not None:
            expected['vm_state'] = _as_list(expected_vm_state)
        self._save(expected or None)

    def save_claim(self, migration, host, statuses):
        """save(), while ``migration`` still names ``host`` as its
        destination in one of ``statuses``; else nothing is written and
        MigrationDestinationChanged is raised (see db.instance_update)."""
        self._save(None, claimed_by=(migration.id, host, tuple(statuses)))

    def _save(self, expected, claimed_by=None):
        values = self.changes_for_db()
        if not values:
            # Nothing stored changed (a fault is created on its own).
            self.obj_reset_changes(recursive=True)
            return

        db_inst = db.instance_update(self._context, self.uuid, values,
                                     expected=expected,
                                     claimed_by=claimed_by)
        self.saved(db_inst)

    def changes_for_db(self):
        """The changed fields as ``db.instance_update`` takes them."""
        changed = self.obj_what_changed()
        values = base.changes_for_db(
            self, skip=('uuid', 'created_at', 'updated_at'))
        extra = {name: base.obj_to_json(getattr(self, name))
                 for name in EXTRA_FIELDS if name in changed}
        if extra:
            values['extra'] = extra
        if 'flavor' in changed and self.flavor.obj_attr_is_set('id'):
            values['instance_type_id'] = self.flavor.id
        return values

    def saved(self, db_inst):
        """Take the row an update of :meth:`changes_for_db` returned."""
        base.fill_from_db(self, db_inst)
        self.obj_reset_changes(recursive=True)

    @base.remotable
    def destroy(self):
        """Soft-delete the instance (its row stays, marked deleted)."""
        if not self.obj_attr_is_set('uuid'):
            raise exception.ObjectActionError(action='destroy',
                                              reason='no uuid')
        db_inst = db.instance_destroy(self._context, self.uuid)
        if isinstance(db_inst, dict):
            base.fill_from_db(self, db_inst)
        else:
            self.deleted = True
        self.obj_reset_changes()

    @base.remotable
    def refresh(self):
        """Re-read the instance, including the optional fields loaded."""
        loaded = [name for name in INSTANCE_OPTIONAL_ATTRS
                  if self.obj_attr_is_set(name)]
        current = self.get_by_uuid(self._context, self.uuid,
                                   expected_attrs=loaded)
        for name in self.fields:
            if current.obj_attr_is_set(name):
                setattr(self, name, getattr(current, name))
        self.obj_reset_changes(recursive=True)

    # Moves. A move records both sides of what it changes in the migration
    # context; these switch the instance between them.

    def apply_migration_context(self):
        """Take the destination's values (the move succeeded)."""
        self._take_from_migration_context(revert=False)

    def revert_migration_context(self):
        """Take the source's values back (the move was rolled back)."""
        self._take_from_migration_context(revert=True)

    def _take_from_migration_context(self, revert):
        if not self.migration_context:
            LOG.debug('Instance %s has no migration context to %s.',
                      self.uuid, 'revert' if revert else 'apply')
            return
        for attr in _MIGRATION_CONTEXT_ATTRS:
            setattr(self, attr,
                    self.migration_context.get_resources(revert=revert))

    def drop_migration_context(self):
        """Forget the migration context (saved with the next save())."""
        self.migration_context = None

    @contextlib.contextmanager
    def mutated_migration_context(self, revert=False):
        """Act on the destination's values (source's if ``revert``).

        Inside the block ``self.resources`` is the migration context's
        new (or old) resources, so driver code that works on "the
        instance's resources" works on the right side of the move, e.g.
        erasing the destination's namespaces on rollback. The previous
        values come back afterwards, also when the block raises. Without
        a migration context nothing changes.
        """
        migration_context = self.migration_context
        if not migration_context:
            yield
            return
        before = self.obj_what_changed()
        saved = {}
        for attr in _MIGRATION_CONTEXT_ATTRS:
            was_set = self.obj_attr_is_set(attr)
            saved[attr] = (was_set, getattr(self, attr) if was_set else None)
        try:
            for attr in _MIGRATION_CONTEXT_ATTRS:
                setattr(self, attr,
                        migration_context.get_resources(revert=revert))
            yield
        finally:
            for attr, (was_set, value) in saved.items():
                if was_set:
                    setattr(self, attr, value)
                elif self.obj_attr_is_set(attr):
                    delattr(self, attr)
                if attr not in before:
                    self.obj_reset_changes([attr])


@base.NovaObjectRegistry.register
class InstanceList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (Instance 1.0)
    # Version 1.1: Instance 1.1
    # Version 1.2: Instance 1.2
    # Version 1.3: Instance 1.3
    VERSION = '1.3'

    fields = {
        'objects': fields.ListOfObjectsField('Instance'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0'), ('1.1', '1.1'), ('1.2', '1.2'),
                    ('1.3', '1.3')],
    }

    @classmethod
    def _make(cls, context, db_instances, expected_attrs):
        expected_attrs = list(expected_attrs or ())
        # Faults are read for all instances in one query, not one each.
        per_row = [name for name in expected_attrs if name != 'fault']
        instances = base.obj_make_list(context, cls(context), Instance,
                                       db_instances, expected_attrs=per_row)
        if 'fault' in expected_attrs:
            faults = db.instance_fault_get_by_instance_uuids(
                context, [inst.uuid for inst in instances])
            for inst in instances:
                newest = (faults.get(inst.uuid) or [None])[0]
                inst.fault = newest and (
                    instance_fault.InstanceFault._from_db_object(
                        context, instance_fault.InstanceFault(), newest))
                inst.obj_reset_changes(['fault'])
        return instances

    @classmethod
    @base.remotable
    def get_by_host(cls, context, host, expected_attrs=None):
        return cls._make(context, db.instance_get_all_by_host(context, host),
                         expected_attrs)

    @classmethod
    @base.remotable
    def get_by_host_and_node(cls, context, host, node, expected_attrs=None):
        return cls._make(
            context, db.instance_get_all_by_host_and_node(context, host,
                                                          node),
            expected_attrs)

    @classmethod
    @base.remotable
    def get_by_filters(cls, context, filters, sort_key='created_at',
                       sort_dir='desc', limit=None, marker=None,
                       expected_attrs=None):
        """Instances matching ``filters`` (column -> value or list)."""
        db_instances = db.instance_get_all_by_filters(
            context, filters, limit=limit, marker=marker, sort_key=sort_key,
            sort_dir=sort_dir)
        return cls._make(context, db_instances, expected_attrs)

    @classmethod
    @base.remotable
    def get_uuids_by_host(cls, context, host):
        """The uuids of the instances on ``host`` (a plain list)."""
        return [db_inst['uuid']
                for db_inst in db.instance_get_all_by_host(context, host)]
