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

"""The database API: every read and write of nova-vpmem's records.

Each function takes the request context first and returns plain dicts
(column name -> value), never SQLAlchemy objects, so callers cannot touch
the database behind this module's back. Missing records raise the
matching ``nova.exception`` NotFound subclass.

Soft-deleted rows (``deleted != 0``) are invisible unless the context has
``read_deleted = 'yes'`` (or ``'only'``). Datetimes are naive UTC.
"""

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.db import engine as db_engine
from nova.db import instance_action_api
from nova.db import instance_api
from nova.db import models
from nova.db import placement_work_api
from nova.db import utils
from nova.db import vpmem_api
from nova import exception

# Engine management, re-exported for tests and tools.
configure = db_engine.configure
reset = db_engine.reset
get_engine = db_engine.get_engine

# Instances, their extra records and faults live in instance_api.
instance_create = instance_api.instance_create
instance_get_by_uuid = instance_api.instance_get_by_uuid
instance_get_all_by_host = instance_api.instance_get_all_by_host
instance_get_all_by_host_and_node = (
    instance_api.instance_get_all_by_host_and_node)
instance_get_all_by_filters = instance_api.instance_get_all_by_filters
instance_update_and_get_original = (
    instance_api.instance_update_and_get_original)
instance_update = instance_api.instance_update
instance_extra_update_by_uuid = instance_api.instance_extra_update_by_uuid
instance_destroy = instance_api.instance_destroy
instance_fault_create = instance_api.instance_fault_create
instance_fault_get_by_instance_uuids = (
    instance_api.instance_fault_get_by_instance_uuids)

# The namespace lifecycle table lives in vpmem_api.
vpmem_namespace_create = vpmem_api.vpmem_namespace_create
vpmem_namespace_get = vpmem_api.vpmem_namespace_get
vpmem_namespace_get_all = vpmem_api.vpmem_namespace_get_all
vpmem_namespace_update = vpmem_api.vpmem_namespace_update
vpmem_namespace_destroy = vpmem_api.vpmem_namespace_destroy

# Placement writes owed while placement is away live in placement_work_api.
pending_placement_work_record = (
    placement_work_api.pending_placement_work_record)
pending_placement_work_get_by_host = (
    placement_work_api.pending_placement_work_get_by_host)
pending_placement_work_get_by_consumer = (
    placement_work_api.pending_placement_work_get_by_consumer)
pending_placement_work_update = (
    placement_work_api.pending_placement_work_update)
pending_placement_work_delete = (
    placement_work_api.pending_placement_work_delete)

# Instance actions and their events live in instance_action_api.
instance_action_create = instance_action_api.instance_action_create
instance_action_get_by_request_id = (
    instance_action_api.instance_action_get_by_request_id)
instance_action_get_newest = instance_action_api.instance_action_get_newest
instance_action_get_all_by_instance = (
    instance_action_api.instance_action_get_all_by_instance)
instance_action_finish = instance_action_api.instance_action_finish
instance_action_event_start = instance_action_api.instance_action_event_start
instance_action_event_finish = (
    instance_action_api.instance_action_event_finish)
instance_action_events_get = instance_action_api.instance_action_events_get

# Statuses after which a migration no longer holds resources anywhere.
_MIGRATION_DONE_STATUSES = ('confirmed', 'reverted', 'completed', 'failed',
                            'cancelled', 'done')
# "In progress" for an instance also excludes migrations that failed with
# an error: the instance is free to move again.
_MIGRATION_NOT_IN_PROGRESS_STATUSES = _MIGRATION_DONE_STATUSES + ('error',)
# Every status of a move that has not ended, named one by one so that the
# host/node/status indexes serve the lookup (a NOT IN would read the whole
# history of the host). 'finished' is a cold migration awaiting confirm.
_MIGRATION_IN_PROGRESS_STATUSES = ('accepted', 'queued', 'preparing',
                                   'running', 'post-migrating', 'cancelling',
                                   'pre-migrating', 'migrating', 'finished')


def _select_one(session, stmt):
    return session.scalars(stmt).first()


def _new_row(model, values):
    return model(**utils.prepare_values(model, values))


def _update_row(session, model, row, values):
    """Apply ``values`` to a loaded row and flush, returning its dict."""
    for key, value in utils.prepare_values(model, values).items():
        setattr(row, key, value)
    session.flush()
    return utils.to_dict(row)


###################
# Services

def _service_query(context, *conditions):
    stmt = sa.select(models.Service).where(*conditions)
    return utils.filter_deleted(stmt, models.Service, context)


def _service_get(session, context, service_id):
    row = _select_one(session, _service_query(
        context, models.Service.id == service_id))
    if row is None:
        raise exception.ServiceNotFound(service_id=service_id)
    return row


def service_create(context, values):
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    try:
        with db_engine.transaction() as session:
            row = _new_row(models.Service, values)
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        raise exception.ServiceExists(host=values.get('host'),
                                      binary=values.get('binary'))


def service_get(context, service_id):
    with db_engine.transaction() as session:
        return utils.to_dict(_service_get(session, context, service_id))


def service_get_by_uuid(context, service_uuid):
    with db_engine.transaction() as session:
        row = _select_one(session, _service_query(
            context, models.Service.uuid == service_uuid))
        if row is None:
            raise exception.ServiceNotFound(service_id=service_uuid)
        return utils.to_dict(row)


def service_get_by_host_and_binary(context, host, binary):
    with db_engine.transaction() as session:
        row = _select_one(session, _service_query(
            context, models.Service.host == host,
            models.Service.binary == binary))
        if row is None:
            raise exception.HostBinaryNotFound(host=host, binary=binary)
        return utils.to_dict(row)


def service_get_all(context, disabled=None):
    conditions = []
    if disabled is not None:
        conditions.append(models.Service.disabled == bool(disabled))
    with db_engine.transaction() as session:
        stmt = _service_query(context, *conditions).order_by(
            models.Service.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def service_get_all_by_binary(context, binary, include_disabled=True):
    conditions = [models.Service.binary == binary]
    if not include_disabled:
        conditions.append(models.Service.disabled == sa.false())
    with db_engine.transaction() as session:
        stmt = _service_query(context, *conditions).order_by(
            models.Service.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def service_update(context, service_id, values):
    try:
        with db_engine.transaction() as session:
            row = _service_get(session, context, service_id)
            host, binary = row.host, row.binary
            return _update_row(session, models.Service, row, values)
    except db_exc.DBDuplicateEntry:
        raise exception.ServiceExists(host=values.get('host', host),
                                      binary=values.get('binary', binary))


def service_destroy(context, service_id):
    """Soft-delete a service; a nova-compute's compute nodes go with it."""
    with db_engine.transaction() as session:
        row = _service_get(session, context, service_id)
        if row.binary == 'nova-compute':
            # A node without its service would still be listed (and
            # counted) by the hypervisor API.
            utils.soft_delete(session, models.ComputeNode,
                              models.ComputeNode.host == row.host)
        if not utils.soft_delete(session, models.Service,
                                 models.Service.id == service_id):
            raise exception.ServiceNotFound(service_id=service_id)


def service_get_minimum_version(context, binaries):
    """Return ``{binary: lowest version}`` of the live services.

    Deleted and forced-down services are left out: they run no code that
    could receive a message. A binary with no such service maps to None.
    """
    if isinstance(binaries, str):
        binaries = [binaries]
    result = dict.fromkeys(binaries)
    if not binaries:
        return result
    stmt = (sa.select(models.Service.binary,
                      sa.func.min(models.Service.version))
            .where(models.Service.binary.in_(list(binaries)),
                   models.Service.deleted == 0,
                   models.Service.forced_down == sa.false())
            .group_by(models.Service.binary))
    with db_engine.transaction() as session:
        for binary, version in session.execute(stmt):
            result[binary] = version
    return result


###################
# Compute nodes

def _compute_node_query(context, *conditions):
    stmt = sa.select(models.ComputeNode).where(*conditions)
    return utils.filter_deleted(stmt, models.ComputeNode, context)


def _compute_node_get(session, context, compute_id):
    row = _select_one(session, _compute_node_query(
        context, models.ComputeNode.id == compute_id))
    if row is None:
        raise exception.ComputeNodeNotFound(node=compute_id)
    return row


def _compute_node_values(values):
    values = dict(values)
    # The object carries a netaddr address; the column holds its text.
    if values.get('host_ip') is not None:
        values['host_ip'] = str(values['host_ip'])
    return values


def compute_node_create(context, values):
    values = _compute_node_values(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    try:
        with db_engine.transaction() as session:
            row = _new_row(models.ComputeNode, values)
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        raise exception.ComputeNodeExists(
            host=values.get('host'),
            hypervisor_hostname=values.get('hypervisor_hostname'))


def compute_node_get(context, compute_id):
    with db_engine.transaction() as session:
        return utils.to_dict(_compute_node_get(session, context, compute_id))


def compute_node_get_by_uuid(context, compute_uuid):
    with db_engine.transaction() as session:
        row = _select_one(session, _compute_node_query(
            context, models.ComputeNode.uuid == compute_uuid))
        if row is None:
            raise exception.ComputeNodeNotFound(node=compute_uuid)
        return utils.to_dict(row)


def compute_node_get_by_host_and_nodename(context, host, nodename):
    with db_engine.transaction() as session:
        row = _select_one(session, _compute_node_query(
            context, models.ComputeNode.host == host,
            models.ComputeNode.hypervisor_hostname == nodename))
        if row is None:
            raise exception.ComputeHostNodeNotFound(host=host, node=nodename)
        return utils.to_dict(row)


def compute_node_get_all_by_host(context, host):
    """Return the compute nodes of ``host``; an empty list if none."""
    with db_engine.transaction() as session:
        stmt = _compute_node_query(
            context, models.ComputeNode.host == host).order_by(
                models.ComputeNode.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def compute_node_get_all(context):
    with db_engine.transaction() as session:
        stmt = _compute_node_query(context).order_by(models.ComputeNode.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def compute_node_update(context, compute_id, values):
    values = _compute_node_values(values)
    try:
        with db_engine.transaction() as session:
            row = _compute_node_get(session, context, compute_id)
            host, nodename = row.host, row.hypervisor_hostname
            return _update_row(session, models.ComputeNode, row, values)
    except db_exc.DBDuplicateEntry:
        raise exception.ComputeNodeExists(
            host=values.get('host', host),
            hypervisor_hostname=values.get('hypervisor_hostname', nodename))


def compute_node_delete(context, compute_id):
    with db_engine.transaction() as session:
        if not utils.soft_delete(session, models.ComputeNode,
                                 models.ComputeNode.id == compute_id):
            raise exception.ComputeNodeNotFound(node=compute_id)


###################
# Flavors (deleted for real: no soft delete)

def _flavor_dict(session, row):
    flavor = utils.to_dict(row)
    specs = session.scalars(sa.select(models.FlavorExtraSpec).where(
        models.FlavorExtraSpec.flavor_id == row.id))
    flavor['extra_specs'] = {spec.key: spec.value for spec in specs}
    return flavor


def _flavor_get(session, flavor_id):
    row = session.get(models.Flavor, flavor_id)
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavor_id)
    return row


def flavor_create(context, values):
    """Create a flavor; ``values['extra_specs']`` may hold its specs."""
    values = dict(values)
    specs = values.pop('extra_specs', None) or {}
    try:
        with db_engine.transaction() as session:
            row = _new_row(models.Flavor, values)
            session.add(row)
            session.flush()
            for key, value in specs.items():
                session.add(models.FlavorExtraSpec(
                    flavor_id=row.id, key=key, value=value))
            session.flush()
            return _flavor_dict(session, row)
    except db_exc.DBDuplicateEntry:
        # Ask the database which of the two unique values is taken: the
        # constraint name in the error text differs between backends.
        with db_engine.transaction() as session:
            taken = _select_one(session, sa.select(models.Flavor).where(
                models.Flavor.flavorid == values.get('flavorid')))
        if taken is not None:
            raise exception.FlavorIdExists(flavor_id=values.get('flavorid'))
        raise exception.FlavorExists(name=values.get('name'))


def flavor_get(context, flavor_id):
    with db_engine.transaction() as session:
        return _flavor_dict(session, _flavor_get(session, flavor_id))


def flavor_get_by_flavor_id(context, flavorid):
    with db_engine.transaction() as session:
        row = _select_one(session, sa.select(models.Flavor).where(
            models.Flavor.flavorid == flavorid))
        if row is None:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        return _flavor_dict(session, row)


def flavor_get_by_name(context, name):
    with db_engine.transaction() as session:
        row = _select_one(session, sa.select(models.Flavor).where(
            models.Flavor.name == name))
        if row is None:
            raise exception.FlavorNotFoundByName(flavor_name=name)
        return _flavor_dict(session, row)


def flavor_get_all(context, filters=None):
    """Return all flavors, optionally filtered by column values."""
    filters = dict(filters or {})
    utils.check_columns(models.Flavor, filters)
    stmt = sa.select(models.Flavor).where(*[
        utils.equality_filter(getattr(models.Flavor, key), value)
        for key, value in filters.items()]).order_by(models.Flavor.id)
    with db_engine.transaction() as session:
        return [_flavor_dict(session, row) for row in session.scalars(stmt)]


def flavor_update_description(context, flavorid, description):
    """Set the description of the flavor with this flavorid (2.55: the
    only part of a flavor that changes after its creation)."""
    with db_engine.transaction() as session:
        row = _select_one(session, sa.select(models.Flavor).where(
            models.Flavor.flavorid == flavorid))
        if row is None:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        row.description = description
        session.flush()
        return _flavor_dict(session, row)


def flavor_destroy(context, flavorid):
    """Delete the flavor with this flavorid (the API id) and its specs."""
    with db_engine.transaction() as session:
        row = _select_one(session, sa.select(models.Flavor).where(
            models.Flavor.flavorid == flavorid))
        if row is None:
            raise exception.FlavorNotFound(flavor_id=flavorid)
        # Deleted explicitly too: SQLite only cascades with foreign keys
        # turned on, which a connection made elsewhere may not have done.
        session.execute(sa.delete(models.FlavorExtraSpec).where(
            models.FlavorExtraSpec.flavor_id == row.id))
        session.execute(sa.delete(models.FlavorProject).where(
            models.FlavorProject.flavor_id == row.id))
        session.delete(row)


def _flavor_row(session, flavorid):
    row = _select_one(session, sa.select(models.Flavor).where(
        models.Flavor.flavorid == flavorid))
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return row


def flavor_access_get_by_flavor_id(context, flavorid):
    """The projects that may use the flavor with this flavorid, sorted."""
    with db_engine.transaction() as session:
        row = _flavor_row(session, flavorid)
        return sorted(session.scalars(
            sa.select(models.FlavorProject.project_id).where(
                models.FlavorProject.flavor_id == row.id)))


def flavor_access_add(context, flavorid, project_id):
    """Let ``project_id`` use the flavor: FlavorAccessExists if it may."""
    try:
        with db_engine.transaction() as session:
            row = _flavor_row(session, flavorid)
            session.add(models.FlavorProject(flavor_id=row.id,
                                             project_id=project_id))
            session.flush()
    except db_exc.DBDuplicateEntry:
        raise exception.FlavorAccessExists(flavor_id=flavorid,
                                           project_id=project_id)


def flavor_access_remove(context, flavorid, project_id):
    """Take the flavor from ``project_id``: FlavorAccessNotFound if it had
    no access."""
    with db_engine.transaction() as session:
        row = _flavor_row(session, flavorid)
        result = session.execute(sa.delete(models.FlavorProject).where(
            models.FlavorProject.flavor_id == row.id,
            models.FlavorProject.project_id == project_id))
        if not result.rowcount:
            raise exception.FlavorAccessNotFound(flavor_id=flavorid,
                                                 project_id=project_id)


def flavor_extra_specs_update_or_create(context, flavor_id, specs):
    """Set extra specs of the flavor with database id ``flavor_id``.

    Returns all extra specs of the flavor afterwards.
    """
    with db_engine.transaction() as session:
        row = _flavor_get(session, flavor_id)
        existing = {spec.key: spec for spec in session.scalars(
            sa.select(models.FlavorExtraSpec).where(
                models.FlavorExtraSpec.flavor_id == flavor_id))}
        for key, value in specs.items():
            if key in existing:
                existing[key].value = value
            else:
                session.add(models.FlavorExtraSpec(
                    flavor_id=flavor_id, key=key, value=value))
        session.flush()
        return _flavor_dict(session, row)['extra_specs']


def flavor_extra_specs_delete(context, flavor_id, key):
    with db_engine.transaction() as session:
        result = session.execute(sa.delete(models.FlavorExtraSpec).where(
            models.FlavorExtraSpec.flavor_id == flavor_id,
            models.FlavorExtraSpec.key == key))
        if not result.rowcount:
            raise exception.FlavorExtraSpecsNotFound(
                flavor_id=flavor_id, extra_specs_key=key)


###################
# Migrations

def _migration_query(context, *conditions, read_deleted=None):
    stmt = sa.select(models.Migration).where(*conditions)
    return utils.filter_deleted(stmt, models.Migration, context,
                                read_deleted=read_deleted)


def _migration_list(session, stmt):
    stmt = stmt.order_by(models.Migration.created_at.desc(),
                         models.Migration.id.desc())
    return [utils.to_dict(row) for row in session.scalars(stmt)]


def _check_migration_type(values):
    migration_type = values.get('migration_type')
    if (migration_type is not None and
            migration_type not in models.MIGRATION_TYPES):
        raise exception.Invalid(
            reason='migration_type must be one of %s, not %r' % (
                ', '.join(models.MIGRATION_TYPES), migration_type))


def _migration_get(session, context, migration_id):
    row = _select_one(session, _migration_query(
        context, models.Migration.id == migration_id))
    if row is None:
        raise exception.MigrationNotFound(migration_id=migration_id)
    return row


def _add_migration(session, values):
    """Add a new migration's row to ``session``; returns it, not flushed."""
    _check_migration_type(values)
    row = _new_row(models.Migration, values)
    session.add(row)
    return row


def migration_create(context, values):
    values = dict(values)
    values.setdefault('uuid', uuidutils.generate_uuid())
    try:
        with db_engine.transaction() as session:
            row = _add_migration(session, values)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        raise exception.MigrationExists(uuid=values['uuid'])
    except db_exc.DBReferenceError:
        raise exception.InstanceNotFound(
            instance_id=values.get('instance_uuid'))


def migration_create_taking_instance(context, instance_uuid,
                                     instance_values, expected, values,
                                     action_values=None):
    """Take an instance for a move and record the move, in one transaction.

    The instance gets ``instance_values`` if it matches ``expected`` (the
    compare-and-swap of :func:`instance_update`); the migration's row is
    created from ``values`` (as by :func:`migration_create`) and, with
    ``action_values``, the request's instance action (as by
    ``instance_action_create``). All are written or none: a nova-api
    stopped between them cannot leave an instance in a move's task state
    with no migration, which no recovery would look for.

    Returns ``(instance dict, migration dict, action dict or None)``.
    """
    values = dict(values, instance_uuid=instance_uuid)
    values.setdefault('uuid', uuidutils.generate_uuid())

    def record(session):
        row = _add_migration(session, values)
        action = (None if action_values is None else
                  instance_action_api.add_action(session, action_values))
        session.flush()
        return (utils.to_dict(row),
                None if action is None else utils.to_dict(action))

    try:
        instance, (migration, action) = instance_api.instance_update_and_then(
            context, instance_uuid, instance_values, expected, record)
    except db_exc.DBDuplicateEntry:
        raise exception.MigrationExists(uuid=values['uuid'])
    return instance, migration, action


def migration_get(context, migration_id):
    with db_engine.transaction() as session:
        return utils.to_dict(_migration_get(session, context, migration_id))


def migration_get_by_uuid(context, migration_uuid):
    with db_engine.transaction() as session:
        row = _select_one(session, _migration_query(
            context, models.Migration.uuid == migration_uuid))
        if row is None:
            raise exception.MigrationNotFound(migration_id=migration_uuid)
        return utils.to_dict(row)


def migration_update(context, migration_id, values, expected_status=None):
    """Write ``values``; with ``expected_status`` (a list), only if the
    row's status is one of them: a compare-and-swap in one UPDATE, so two
    services (a conductor and a recovering compute) never both take the
    same migration. Raises MigrationStatusChanged otherwise."""
    _check_migration_type(values)
    try:
        with db_engine.transaction() as session:
            if expected_status is not None:
                _swap_migration(session, context, migration_id, values,
                                list(expected_status))
            row = _migration_get(session, context, migration_id)
            if expected_status is not None:
                return utils.to_dict(row)  # read after the UPDATE
            return _update_row(session, models.Migration, row, values)
    except db_exc.DBDuplicateEntry:
        raise exception.MigrationExists(uuid=values.get('uuid'))
    except db_exc.DBReferenceError:
        raise exception.InstanceNotFound(
            instance_id=values.get('instance_uuid'))


def _swap_migration(session, context, migration_id, values, expected):
    # Writing the status itself when nothing changed keeps it one UPDATE.
    prepared = (utils.prepare_values(models.Migration, values) or
                {'status': models.Migration.status})
    stmt = (sa.update(models.Migration)
            .where(models.Migration.id == migration_id,
                   models.Migration.status.in_(expected))
            .values(**prepared)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount == 1:
        return
    row = _migration_get(session, context, migration_id)
    raise exception.MigrationStatusChanged(
        migration_id=row.uuid, actual=row.status, expected=expected)


def migration_get_by_id_and_instance(context, migration_id, instance_uuid):
    with db_engine.transaction() as session:
        row = _select_one(session, _migration_query(
            context, models.Migration.id == migration_id,
            models.Migration.instance_uuid == instance_uuid))
        if row is None:
            raise exception.MigrationNotFound(migration_id=migration_id)
        return utils.to_dict(row)


def migration_get_in_progress_by_instance(context, instance_uuid,
                                          migration_type=None):
    """Return the unfinished migrations of an instance, newest first.

    Migrations that ended in 'error' are finished for this purpose.
    """
    conditions = [
        models.Migration.instance_uuid == instance_uuid,
        models.Migration.status.not_in(_MIGRATION_NOT_IN_PROGRESS_STATUSES),
    ]
    if migration_type is not None:
        conditions.append(models.Migration.migration_type == migration_type)
    with db_engine.transaction() as session:
        return _migration_list(session, _migration_query(
            context, *conditions, read_deleted='no'))


def migration_get_in_progress_by_host_and_node(context, host, node):
    """Return the moves from or to (host, node) that have not ended.

    Those that ended, cleanly or in 'error', are not read: what a move
    leaves reserved is kept in the namespace lifecycle table, not in the
    migration's record.
    """
    migration = models.Migration
    in_progress = list(_MIGRATION_IN_PROGRESS_STATUSES)
    conditions = [
        sa.or_(sa.and_(migration.source_compute == host,
                       migration.source_node == node,
                       migration.status.in_(in_progress)),
               sa.and_(migration.dest_compute == host,
                       migration.dest_node == node,
                       migration.status.in_(in_progress))),
    ]
    with db_engine.transaction() as session:
        return _migration_list(session, _migration_query(
            context, *conditions, read_deleted='no'))


_MIGRATION_COLUMN_FILTERS = ('status', 'migration_type', 'instance_uuid',
                             'source_compute', 'dest_compute', 'hidden',
                             'user_id', 'project_id')
# Time window keys (datetimes) on updated_at, as Nova's changes-since
# (inclusive lower bound) and changes-before (inclusive upper bound).
_MIGRATION_TIME_FILTERS = {
    'changes-since': lambda column, when: column >= when,
    'changes-before': lambda column, when: column <= when,
}


def migration_get_all_by_filters(context, filters):
    """Return the migrations matching ``filters``, newest first.

    Keys: ``host`` (source or destination compute; a string or a list),
    the columns status, migration_type, instance_uuid, source_compute,
    dest_compute, hidden, user_id and project_id (each a value or a list),
    and ``changes-since``/``changes-before`` (datetimes bounding
    updated_at, both inclusive).
    """
    filters = dict(filters or {})
    known = {'host'} | set(_MIGRATION_COLUMN_FILTERS) | set(
        _MIGRATION_TIME_FILTERS)
    unknown = sorted(set(filters) - known)
    if unknown:
        raise exception.Invalid(
            reason='unknown migration filter(s) %s' % ', '.join(unknown))
    migration = models.Migration
    conditions = []
    if 'host' in filters:
        conditions.append(sa.or_(
            utils.equality_filter(migration.source_compute, filters['host']),
            utils.equality_filter(migration.dest_compute, filters['host'])))
    for key in _MIGRATION_COLUMN_FILTERS:
        if key in filters:
            conditions.append(
                utils.equality_filter(getattr(migration, key), filters[key]))
    for key, condition in _MIGRATION_TIME_FILTERS.items():
        if filters.get(key) is not None:
            when = timeutils.normalize_time(filters[key])
            conditions.append(condition(migration.updated_at, when))
    with db_engine.transaction() as session:
        return _migration_list(session, _migration_query(context,
                                                         *conditions))
