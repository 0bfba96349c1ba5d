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

"""The DB API of key pairs (``key_pairs``, os-keypairs).

A key pair is named per user: two users may both have a key ``mykey``,
one user may not have two. Deleting one is a soft delete, so its name is
free again at once (the unique constraint includes ``deleted``). The
exceptions live here, beside the only code that raises them; they are
the generic families the API maps to statuses (404, 409, 403).
"""

import sqlalchemy as sa
from oslo_db import exception as db_exc

from nova.db import engine as db_engine
from nova.db import models
from nova.db import utils
from nova import exception

_MODEL = models.KeyPair


class KeypairNotFound(exception.NotFound):
    msg_fmt = "Keypair %(name)s not found for user %(user_id)s."


class KeyPairExists(exception.Conflict):
    msg_fmt = "Key pair '%(key_name)s' already exists."


class KeypairLimitExceeded(exception.Forbidden):
    msg_fmt = ("Quota exceeded, too many key pairs: user %(user_id)s has "
               "%(count)d of at most %(limit)d.")


def _live(context, user_id, *conditions):
    stmt = sa.select(_MODEL).where(_MODEL.user_id == user_id, *conditions)
    return utils.filter_deleted(stmt, _MODEL, context)


def _count(session, user_id):
    return session.scalar(sa.select(sa.func.count(_MODEL.id)).where(
        _MODEL.user_id == user_id, _MODEL.deleted == 0))


def key_pair_create(context, values, limit=None):
    """Record a key pair: name, user_id, fingerprint, public_key, type.

    ``limit``: how many live key pairs the user may have at most
    (KeypairLimitExceeded when this one would be one too many); None for
    no limit. KeyPairExists if the user has a key pair of that name.
    """
    values = utils.prepare_values(_MODEL, values)
    if values.get('type', 'ssh') not in models.KEYPAIR_TYPES:
        raise exception.Invalid(reason='a key pair type is one of %s, not '
                                       '%r' % (', '.join(
                                           models.KEYPAIR_TYPES),
                                           values.get('type')))
    try:
        with db_engine.transaction() as session:
            if limit is not None:
                # In the transaction that inserts: on SQLite (BEGIN
                # IMMEDIATE) two creations cannot both pass the count.
                count = _count(session, values.get('user_id'))
                if count >= limit:
                    raise KeypairLimitExceeded(user_id=values.get('user_id'),
                                               count=count, limit=limit)
            row = _MODEL(**values)
            session.add(row)
            session.flush()
            return utils.to_dict(row)
    except db_exc.DBDuplicateEntry:
        raise KeyPairExists(key_name=values.get('name'))


def key_pair_get(context, user_id, name):
    with db_engine.transaction() as session:
        row = session.scalars(_live(context, user_id,
                                    _MODEL.name == name)).first()
        if row is None:
            raise KeypairNotFound(user_id=user_id, name=name)
        return utils.to_dict(row)


def key_pair_get_all_by_user(context, user_id, limit=None, marker=None):
    """The user's key pairs, oldest first; one page of them.

    ``marker`` is the name of the last key pair of the previous page
    (MarkerNotFound if the user has none of that name).
    """
    stmt = _live(context, user_id).order_by(_MODEL.id)
    with db_engine.transaction() as session:
        if marker is not None:
            marker_row = session.scalars(_live(
                context, user_id, _MODEL.name == marker)).first()
            if marker_row is None:
                raise exception.MarkerNotFound(marker=marker)
            stmt = stmt.where(_MODEL.id > marker_row.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        return [utils.to_dict(row) for row in session.scalars(stmt)]


def key_pair_count_by_user(context, user_id):
    with db_engine.transaction() as session:
        return _count(session, user_id)


def key_pair_destroy(context, user_id, name):
    """Soft-delete the user's key pair ``name``; KeypairNotFound."""
    with db_engine.transaction() as session:
        if not utils.soft_delete(session, _MODEL, _MODEL.user_id == user_id,
                                 _MODEL.name == name):
            raise KeypairNotFound(user_id=user_id, name=name)
