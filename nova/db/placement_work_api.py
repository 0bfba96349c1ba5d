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

"""DB API of the placement writes computes owe (``pending_placement_work``).

One row per (host, kind, consumer): recording the same work twice keeps
one row, so a retried flow never doubles it.
"""

import sqlalchemy as sa
from oslo_db import exception as db_exc

from nova.db import engine as db_engine
from nova.db import models
from nova.db import utils
from nova import exception

_MODEL = models.PendingPlacementWork


def pending_placement_work_record(context, values):
    """Create the row, or return the existing one for the same work."""
    if values.get('kind') not in models.PENDING_PLACEMENT_KINDS:
        raise exception.Invalid(
            reason='pending placement work must be one of %s, not %r' % (
                ', '.join(models.PENDING_PLACEMENT_KINDS),
                values.get('kind')))
    values = dict(values)
    values.setdefault('attempts', 0)
    try:
        with db_engine.transaction() as session:
            row = _MODEL(**utils.prepare_values(_MODEL, values))
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        with db_engine.transaction() as session:
            row = session.scalars(sa.select(_MODEL).where(
                _MODEL.host == values['host'],
                _MODEL.kind == values['kind'],
                _MODEL.consumer_uuid == values['consumer_uuid'])).first()
            return utils.to_dict(row)


def pending_placement_work_get_by_host(context, host):
    with db_engine.transaction() as session:
        stmt = sa.select(_MODEL).where(_MODEL.host == host).order_by(
            _MODEL.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def pending_placement_work_get_by_consumer(context, consumer_uuid):
    with db_engine.transaction() as session:
        stmt = sa.select(_MODEL).where(
            _MODEL.consumer_uuid == consumer_uuid).order_by(_MODEL.id)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def pending_placement_work_update(context, work_id, values):
    with db_engine.transaction() as session:
        row = session.get(_MODEL, work_id)
        if row is None:
            raise exception.NotFound()
        for key, value in utils.prepare_values(_MODEL, values).items():
            setattr(row, key, value)
        session.flush()
        return utils.to_dict(row)


def pending_placement_work_delete(context, work_id):
    """Delete the row; one that is gone already is fine (idempotent)."""
    with db_engine.transaction() as session:
        session.execute(sa.delete(_MODEL).where(_MODEL.id == work_id))
