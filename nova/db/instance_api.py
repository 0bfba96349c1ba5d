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

"""The DB API of instances, their extra records and their faults.

Re-exported by ``nova.db.api``; call it through that module.

Every instance dict carries ``extra``: the text columns of its
instance_extra row (JSON written by the objects, untouched here).
"""

import sqlalchemy as sa
from oslo_db import exception as db_exc
from oslo_utils import timeutils
from oslo_utils import uuidutils

from nova.db import engine as db_engine
from nova.db import models
from nova.db import utils
from nova import exception

EXTRA_COLUMNS = models.INSTANCE_EXTRA_COLUMNS
_IN_CHUNK = 500


def _chunks(items, size=_IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _check_extra(extra):
    unknown = sorted(set(extra or {}) - set(EXTRA_COLUMNS))
    if unknown:
        raise exception.Invalid(
            reason='instance_extra has no column(s) %s' % ', '.join(unknown))


def _instance_query(context, *conditions, read_deleted=None):
    stmt = sa.select(models.Instance).where(*conditions)
    return utils.filter_deleted(stmt, models.Instance, context,
                                read_deleted=read_deleted)


def _instance_get(session, context, instance_uuid, read_deleted=None):
    stmt = _instance_query(context, models.Instance.uuid == instance_uuid,
                           read_deleted=read_deleted)
    # populate_existing: a row updated by a Core UPDATE earlier in this
    # session must be read again, not served from the identity map.
    row = session.scalars(
        stmt.execution_options(populate_existing=True)).first()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return row


def _instance_dict(session, context, instance_uuid, read_deleted=None):
    """One instance as a dict with its ``extra``, in one SELECT.

    The extra row (unique per instance) is joined whatever its deleted
    state, as :func:`_instance_dicts` reads it; InstanceNotFound if the
    instance is not there for this context.
    """
    extra = models.InstanceExtra
    stmt = utils.filter_deleted(
        sa.select(models.Instance, extra)
        .outerjoin(extra, extra.instance_uuid == models.Instance.uuid)
        .where(models.Instance.uuid == instance_uuid),
        models.Instance, context, read_deleted=read_deleted)
    # populate_existing: see _instance_get.
    found = session.execute(
        stmt.execution_options(populate_existing=True)).first()
    if found is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    row, extra_row = found
    instance = utils.to_dict(row)
    instance['extra'] = (
        {column: getattr(extra_row, column) for column in EXTRA_COLUMNS}
        if extra_row is not None else dict.fromkeys(EXTRA_COLUMNS))
    return instance


def _instance_dicts(session, rows):
    """Turn instance rows into dicts with their ``extra`` attached."""
    rows = list(rows)
    extras = {}
    for chunk in _chunks(row.uuid for row in rows):
        # The extra row is read whatever its deleted state: it is deleted
        # together with its instance, and a deleted instance read with
        # read_deleted='yes' still has its extra data.
        stmt = sa.select(models.InstanceExtra).where(
            models.InstanceExtra.instance_uuid.in_(chunk))
        for extra in session.scalars(stmt):
            extras[extra.instance_uuid] = {
                column: getattr(extra, column) for column in EXTRA_COLUMNS}
    result = []
    for row in rows:
        instance = utils.to_dict(row)
        instance['extra'] = extras.get(row.uuid,
                                       dict.fromkeys(EXTRA_COLUMNS))
        result.append(instance)
    return result


def instance_create(context, values):
    """Create an instance; ``values['extra']`` may hold its extra texts."""
    values = dict(values)
    extra = dict(values.pop('extra', None) or {})
    _check_extra(extra)
    values.setdefault('uuid', uuidutils.generate_uuid())
    try:
        with db_engine.transaction() as session:
            row = models.Instance(
                **utils.prepare_values(models.Instance, values))
            session.add(row)
            session.flush()
            session.add(models.InstanceExtra(instance_uuid=row.uuid,
                                             **extra))
            session.flush()
            return _instance_dicts(session, [row])[0]
    except db_exc.DBDuplicateEntry:
        raise exception.InstanceExists(name=values['uuid'])


def instance_get_by_uuid(context, instance_uuid, columns_to_join=None):
    """Return one instance.

    ``columns_to_join`` is accepted for callers written against Nova; the
    extra data is always included and nothing else is joined.
    """
    with db_engine.transaction() as session:
        return _instance_dict(session, context, instance_uuid)


def _instance_list(context, *conditions):
    stmt = _instance_query(context, *conditions).order_by(models.Instance.id)
    with db_engine.transaction() as session:
        return _instance_dicts(session, session.scalars(stmt))


def instance_get_all_by_host(context, host):
    return _instance_list(context, models.Instance.host == host)


def instance_get_all_by_host_and_node(context, host, node):
    return _instance_list(context, models.Instance.host == host,
                          models.Instance.node == node)


# Operators of a filter given as a dict: {'regex': pattern} matches with
# re.search semantics on SQLite (SQLAlchemy registers Python's re as the
# REGEXP function there); MySQL's REGEXP and PostgreSQL's ~ serve the same
# filter elsewhere (MySQL's is case-insensitive, as for Nova on MySQL).
_OPERATORS = {
    'regex': lambda column, value: column.regexp_match(value),
    # Datetimes are compared as the columns hold them: naive UTC.
    'gte': lambda column, value: column >= value,
    'lte': lambda column, value: column <= value,
}


def _filter_condition(key, value):
    column = getattr(models.Instance, key)
    if not isinstance(value, dict):
        return utils.equality_filter(column, value)
    unknown = sorted(set(value) - set(_OPERATORS))
    if unknown:
        raise exception.Invalid(
            reason='unknown filter operator(s) %s for %s; use %s'
                   % (', '.join(unknown), key, ', '.join(sorted(_OPERATORS))))
    return sa.and_(*[_OPERATORS[op](column, operand)
                     for op, operand in sorted(value.items())])


def instance_get_all_by_filters(context, filters, limit=None, marker=None,
                                sort_key='created_at', sort_dir='desc'):
    """Return the instances matching ``filters``, one page of them.

    ``filters`` maps column names to a value (a list means IN, None means
    IS NULL) or to a dict of operators: ``{'regex': pattern}``,
    ``{'gte': value}``, ``{'lte': value}`` (several are ANDed).
    ``deleted`` (True/False) overrides the context's read_deleted; with
    ``deleted`` None both live and deleted instances match. ``marker`` is
    the uuid of the last instance of the previous page; ``limit`` caps the
    page size.
    """
    filters = dict(filters or {})
    read_deleted = None
    if 'deleted' in filters:
        deleted = filters.pop('deleted')
        read_deleted = ('yes' if deleted is None else
                        'only' if deleted else 'no')
    utils.check_columns(models.Instance, filters)
    conditions = [_filter_condition(key, value)
                  for key, value in filters.items()]
    stmt = _instance_query(context, *conditions, read_deleted=read_deleted)
    with db_engine.transaction() as session:
        marker_row = None
        if marker is not None:
            # The marker may have been deleted since the previous page.
            marker_row = session.scalars(_instance_query(
                context, models.Instance.uuid == marker,
                read_deleted='yes')).first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
        stmt = utils.sort_and_page(stmt, models.Instance, sort_key,
                                   sort_dir, marker_row)
        if limit is not None:
            stmt = stmt.limit(limit)
        return _instance_dicts(session, session.scalars(stmt))


def _normalize_expected(expected):
    """Return ``{column: [accepted values]}`` from a caller's expectation."""
    normalized = {}
    for column, accepted in (expected or {}).items():
        if isinstance(accepted, (list, tuple, set, frozenset)):
            normalized[column] = list(accepted)
        else:
            normalized[column] = [accepted]
    utils.check_columns(models.Instance, normalized)
    return normalized


def _raise_for_mismatch(context, instance_uuid, expected, read_deleted):
    """Explain why a compare-and-swap update matched no row."""
    # A fresh transaction: under REPEATABLE READ a re-read in the failed
    # update's transaction could still show the state it expected.
    with db_engine.transaction() as session:
        row = _instance_get(session, context, instance_uuid,
                            read_deleted=read_deleted)
        actual = {column: getattr(row, column) for column in expected}
    if ('task_state' in expected and
            actual['task_state'] not in expected['task_state']):
        if actual['task_state'] == 'deleting':
            error = exception.UnexpectedDeletingTaskStateError
        else:
            error = exception.UnexpectedTaskStateError
        raise error(instance_uuid=instance_uuid,
                    expected=expected['task_state'],
                    actual=actual['task_state'])
    if ('vm_state' in expected and
            actual['vm_state'] not in expected['vm_state']):
        raise exception.UnexpectedVMStateError(
            instance_uuid=instance_uuid, expected=expected['vm_state'],
            actual=actual['vm_state'])
    # Another expected column differs, or the row changed and changed
    # back between the update and this read.
    raise exception.InstanceUpdateConflict(instance_uuid=instance_uuid)


def _extra_update(session, instance_uuid, extra):
    if not extra:
        return
    result = session.execute(
        sa.update(models.InstanceExtra)
        .where(models.InstanceExtra.instance_uuid == instance_uuid)
        .values(**extra)
        .execution_options(synchronize_session=False))
    if not result.rowcount:
        session.add(models.InstanceExtra(instance_uuid=instance_uuid,
                                         **extra))
        session.flush()


def instance_update_and_get_original(context, instance_uuid, values,
                                     expected=None):
    """Update an instance if it is still as expected.

    ``expected`` maps columns to the values the caller accepts, e.g.
    ``{'task_state': [None], 'vm_state': ['active']}``. The check and the
    write are one UPDATE statement whose WHERE clause holds the expected
    values, so of two concurrent updates with the same expectation exactly
    one matches the row. When none matches, the row is read again to raise
    UnexpectedTaskStateError, UnexpectedVMStateError or InstanceNotFound.

    ``values['extra']`` may update the instance_extra text columns.
    Returns ``(old, new)`` instance dicts.
    """
    return _update_instance(context, instance_uuid, values, expected,
                            with_original=True)[:2]


def instance_update(context, instance_uuid, values, expected=None,
                    claimed_by=None):
    """:func:`instance_update_and_get_original` without reading the row
    before the update; returns the updated instance dict.

    ``claimed_by``: ``(migration_id, host, statuses)``. The update is
    made only while that migration still has ``host`` as its destination
    and one of ``statuses``, checked in the same transaction (the
    migration row stays locked until it commits); otherwise
    MigrationDestinationChanged and nothing is written. A destination
    records its claim this way, so a claim that comes after the
    conductor gave the host up is never stored.
    """
    return _update_instance(context, instance_uuid, values, expected,
                            with_original=False, claimed_by=claimed_by)[1]


def instance_update_and_then(context, instance_uuid, values, expected,
                             then):
    """:func:`instance_update`, then ``then(session)`` in the same
    transaction once the instance matched ``expected``: both are written
    or neither. Returns ``(instance dict, what then returned)``.
    """
    _old, new, done = _update_instance(context, instance_uuid, values,
                                       expected, with_original=False,
                                       then=then)
    return new, done


def _check_claimed_by(session, claimed_by):
    migration_id, host, statuses = claimed_by
    migration = models.Migration
    # Writing a column to itself: one UPDATE both checks the row and
    # locks it against the conductor giving the host up meanwhile.
    stmt = (sa.update(migration)
            .where(migration.id == migration_id, migration.deleted == 0,
                   migration.dest_compute == host,
                   migration.status.in_(list(statuses)))
            .values(status=migration.status)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount == 1:
        return
    row = session.execute(
        sa.select(migration.uuid, migration.status, migration.dest_compute)
        .where(migration.id == migration_id)).first()
    if row is None:
        raise exception.MigrationNotFound(migration_id=migration_id)
    raise exception.MigrationDestinationChanged(
        migration_id=row.uuid, host=host, actual_status=row.status,
        actual_host=row.dest_compute)


def _update_instance(context, instance_uuid, values, expected,
                     with_original, claimed_by=None, then=None):
    values = dict(values)
    extra = dict(values.pop('extra', None) or {})
    _check_extra(extra)
    values = utils.prepare_values(models.Instance, values)
    expected = _normalize_expected(expected)
    # Always set: the UPDATE runs (and checks expected) even when only
    # extra columns change.
    values.setdefault('updated_at', timeutils.utcnow())
    read_deleted = utils.read_deleted_mode(context)
    instance = models.Instance

    old = new = done = None
    with db_engine.transaction() as session:
        if claimed_by is not None:
            _check_claimed_by(session, claimed_by)
        if with_original:
            old = _instance_dict(session, context, instance_uuid)
            conditions = [instance.id == old['id']]
        else:
            conditions = [instance.uuid == instance_uuid]
        if read_deleted == 'no':
            conditions.append(instance.deleted == 0)
        elif read_deleted == 'only':
            conditions.append(instance.deleted != 0)
        conditions.extend(
            utils.equality_filter(getattr(instance, column), accepted)
            for column, accepted in expected.items())
        result = session.execute(
            sa.update(instance).where(*conditions).values(**values)
            .execution_options(synchronize_session=False))
        matched = result.rowcount == 1
        if matched:
            _extra_update(session, instance_uuid, extra)
            if then is not None:
                done = then(session)
            new = _instance_dict(session, context, instance_uuid)

    if not matched:
        _raise_for_mismatch(context, instance_uuid, expected, read_deleted)
    return old, new, done


def instance_extra_update_by_uuid(context, instance_uuid, values):
    """Set instance_extra text columns; returns the instance's extra."""
    values = dict(values)
    _check_extra(values)
    with db_engine.transaction() as session:
        _instance_get(session, context, instance_uuid)
        _extra_update(session, instance_uuid, values)
        row = session.scalars(
            sa.select(models.InstanceExtra)
            .where(models.InstanceExtra.instance_uuid == instance_uuid)
            .execution_options(populate_existing=True)).one()
        return {column: getattr(row, column) for column in EXTRA_COLUMNS}


def instance_destroy(context, instance_uuid):
    """Soft-delete an instance with its extra, faults and migrations.

    Returns the deleted instance's dict.
    """
    with db_engine.transaction() as session:
        row = _instance_get(session, context, instance_uuid,
                            read_deleted='no')
        utils.soft_delete(session, models.Instance,
                          models.Instance.id == row.id)
        for model in (models.InstanceExtra, models.InstanceFault,
                      models.Migration):
            utils.soft_delete(session, model,
                              model.instance_uuid == instance_uuid)
        return _instance_dict(session, context, instance_uuid,
                              read_deleted='yes')


###################
# Instance faults

def instance_fault_create(context, values):
    values = dict(values)
    try:
        with db_engine.transaction() as session:
            row = models.InstanceFault(
                **utils.prepare_values(models.InstanceFault, values))
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBReferenceError:
        raise exception.InstanceNotFound(
            instance_id=values.get('instance_uuid'))


def instance_fault_get_by_instance_uuids(context, instance_uuids,
                                         latest=False):
    """Return ``{instance_uuid: [fault dicts, newest first]}``.

    Every requested uuid is a key, with an empty list if it has no fault.
    ``latest`` keeps only the newest fault of each instance.
    """
    faults = {uuid: [] for uuid in instance_uuids}
    fault = models.InstanceFault
    with db_engine.transaction() as session:
        for chunk in _chunks(faults):
            stmt = utils.filter_deleted(
                sa.select(fault).where(fault.instance_uuid.in_(chunk)),
                fault, context).order_by(fault.created_at.desc(),
                                         fault.id.desc())
            for row in session.scalars(stmt):
                bucket = faults[row.instance_uuid]
                if not latest or not bucket:
                    bucket.append(utils.to_dict(row))
    return faults
