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

"""DB API of the namespace lifecycle table (``vpmem_namespaces``).

Every state change is a compare-and-swap: the caller says what it expects
the row to hold (``expected``) and the write happens only if it does, so
a compute and ``nova-manage vpmem`` acting at once never both win.
"""

import sqlalchemy as sa
from oslo_db import exception as db_exc

from nova.db import engine as db_engine
from nova.db import models
from nova.db import utils
from nova import exception

_MODEL = models.VPMEMNamespace
_FILTERS = ('id', 'compute_node_uuid', 'host', 'resource_class', 'name',
            'state', 'instance_uuid', 'migration_uuid')


def _describe(values):
    return '%s/%s on %s' % (values.get('resource_class'), values.get('name'),
                            values.get('host') or
                            values.get('compute_node_uuid'))


def vpmem_namespace_create(context, values):
    if values.get('state') not in models.VPMEM_NAMESPACE_STATES:
        raise exception.Invalid(reason='namespace state must be one of %s, '
                                       'not %r' % (
                                           ', '.join(
                                               models.VPMEM_NAMESPACE_STATES),
                                           values.get('state')))
    try:
        with db_engine.transaction() as session:
            row = _MODEL(**utils.prepare_values(_MODEL, values))
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        raise exception.VPMEMNamespaceExists(namespace=_describe(values))


def vpmem_namespace_get(context, namespace_id):
    with db_engine.transaction() as session:
        row = session.get(_MODEL, namespace_id)
        if row is None:
            raise exception.VPMEMNamespaceNotFound(namespace=namespace_id)
        return utils.to_dict(row)


def vpmem_namespace_get_all(context, filters=None):
    """Rows matching ``filters`` (column -> value or list), in host order."""
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        raise exception.Invalid(
            reason='unknown namespace filter(s) %s' % ', '.join(unknown))
    stmt = sa.select(_MODEL).where(*[
        utils.equality_filter(getattr(_MODEL, key), value)
        for key, value in filters.items()]).order_by(
            _MODEL.host, _MODEL.compute_node_uuid, _MODEL.resource_class,
            _MODEL.name)
    with db_engine.transaction() as session:
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def _conditions(namespace_id, expected):
    conditions = [_MODEL.id == namespace_id]
    for key, value in (expected or {}).items():
        conditions.append(utils.equality_filter(getattr(_MODEL, key), value))
    return conditions


def _conflict(session, namespace_id, expected):
    row = session.get(_MODEL, namespace_id, populate_existing=True)
    if row is None:
        return exception.VPMEMNamespaceNotFound(namespace=namespace_id)
    actual = {key: getattr(row, key) for key in expected}
    return exception.VPMEMNamespaceStateConflict(
        namespace=_describe(utils.to_dict(row)), expected=expected,
        actual=actual)


def vpmem_namespace_update(context, namespace_id, values, expected=None):
    """Write ``values`` if the row holds ``expected``; return the row.

    Raises VPMEMNamespaceStateConflict (nothing written) when it does
    not, VPMEMNamespaceNotFound when the row is gone.
    """
    values = utils.prepare_values(_MODEL, values)
    if 'state' in values and (values['state'] not in
                              models.VPMEM_NAMESPACE_STATES):
        raise exception.Invalid(reason='unknown namespace state %r'
                                       % values['state'])
    utils.check_columns(_MODEL, expected or {})
    with db_engine.transaction() as session:
        stmt = (sa.update(_MODEL)
                .where(*_conditions(namespace_id, expected))
                .values(updated_at=models._utcnow(), **values)
                .execution_options(synchronize_session=False))
        if not session.execute(stmt).rowcount:
            raise _conflict(session, namespace_id, expected or {})
        row = session.get(_MODEL, namespace_id, populate_existing=True)
        return utils.to_dict(row)


def vpmem_namespace_destroy(context, namespace_id, expected=None):
    """Delete the row if it holds ``expected`` (see update)."""
    utils.check_columns(_MODEL, expected or {})
    with db_engine.transaction() as session:
        stmt = sa.delete(_MODEL).where(*_conditions(namespace_id, expected))
        if not session.execute(stmt).rowcount:
            raise _conflict(session, namespace_id, expected or {})
