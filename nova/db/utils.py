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

"""Query helpers shared by the DB API: dicts, soft delete, paging."""

import datetime

import sqlalchemy as sa
from oslo_utils import timeutils

from nova import exception

_READ_DELETED_MODES = ('no', 'yes', 'only')


def to_dict(row):
    """Return the column values of a model object as a plain dict."""
    mapper = sa.inspect(row).mapper
    return {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs}


def column_names(model):
    return {attr.key for attr in sa.inspect(model).column_attrs}


def check_columns(model, values):
    """Refuse keys that are not columns: a typo must not pass silently."""
    unknown = sorted(set(values) - column_names(model))
    if unknown:
        raise exception.Invalid(
            reason='%s has no column(s) %s' % (model.__tablename__,
                                               ', '.join(unknown)))


def _naive_utc(value):
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return value


def prepare_values(model, values):
    """Check the keys of a row's values and make datetimes naive UTC.

    Versioned objects carry timezone-aware datetimes; the columns hold
    naive UTC, and MySQL refuses an offset in a DATETIME literal.
    """
    check_columns(model, values)
    return {key: _naive_utc(value) for key, value in values.items()}


def read_deleted_mode(context, override=None):
    mode = override or getattr(context, 'read_deleted', None) or 'no'
    if mode not in _READ_DELETED_MODES:
        raise exception.Invalid(
            reason='read_deleted must be one of %s, not %r' % (
                ', '.join(_READ_DELETED_MODES), mode))
    return mode


def filter_deleted(stmt, model, context, read_deleted=None):
    """Apply the context's ``read_deleted`` to a select of ``model``."""
    mode = read_deleted_mode(context, read_deleted)
    if mode == 'no':
        return stmt.where(model.deleted == 0)
    if mode == 'only':
        return stmt.where(model.deleted != 0)
    return stmt


def soft_delete(session, model, *conditions):
    """Soft-delete the live rows of ``model`` matching ``conditions``.

    Returns the number of rows deleted. ``updated_at`` is kept as it was:
    the deletion time is in ``deleted_at``.
    """
    stmt = (sa.update(model)
            .where(model.deleted == 0, *conditions)
            .values(deleted=model.id, deleted_at=timeutils.utcnow(),
                    updated_at=model.updated_at)
            .execution_options(synchronize_session=False))
    return session.execute(stmt).rowcount


def equality_filter(column, value):
    """``column = value``, ``IN`` for a list, ``IS NULL`` for None."""
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        clauses = []
        non_null = [v for v in values if v is not None]
        if non_null:
            clauses.append(column.in_(non_null))
        if len(non_null) != len(values):
            clauses.append(column.is_(None))
        if not clauses:
            # An empty list matches nothing, as IN () would.
            return sa.false()
        return sa.or_(*clauses)
    if value is None:
        return column.is_(None)
    return column == value


def sort_and_page(stmt, model, sort_key, sort_dir, marker_row=None):
    """Order ``stmt`` by one column and start after ``marker_row``.

    The order is (column is NULL, column, id), so NULLs sort the same way
    on every backend and the id breaks ties; the marker condition is the
    matching lexicographic "comes after" comparison, which needs no
    backend-specific NULLS FIRST/LAST syntax.
    """
    if sort_dir not in ('asc', 'desc'):
        raise exception.Invalid(
            reason="sort_dir must be 'asc' or 'desc', not %r" % sort_dir)
    if sort_key not in column_names(model):
        raise exception.Invalid(
            reason='cannot sort %s by %r' % (model.__tablename__, sort_key))
    column = getattr(model, sort_key)
    null_flag = sa.case((column.is_(None), 1), else_=0)
    descending = sort_dir == 'desc'

    def ordered(expr):
        return expr.desc() if descending else expr.asc()

    def after(expr, value):
        return expr < value if descending else expr > value

    stmt = stmt.order_by(ordered(null_flag), ordered(column),
                         ordered(model.id))
    if marker_row is None:
        return stmt

    marker_value = getattr(marker_row, sort_key)
    marker_flag = 1 if marker_value is None else 0
    if marker_value is None:
        same_value = column.is_(None)
        later_value = sa.false()
    else:
        same_value = column == marker_value
        later_value = after(column, marker_value)
    return stmt.where(sa.or_(
        after(null_flag, marker_flag),
        sa.and_(null_flag == marker_flag, later_value),
        sa.and_(null_flag == marker_flag, same_value,
                after(model.id, marker_row.id)),
    ))
