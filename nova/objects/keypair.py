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

"""KeyPair: a user's public key, by name (os-keypairs).

Only the public half is kept: a key pair the API generated hands its
private key to the caller once, in the answer to the creation. Servers
name the key pair they boot with (``Instance.key_name``).
"""

from nova.db import keypair_api as db
from nova import exception
from nova.objects import base
from nova.objects import fields

KEYPAIR_TYPE_SSH = 'ssh'
KEYPAIR_TYPE_X509 = 'x509'
KEYPAIR_TYPES = (KEYPAIR_TYPE_SSH, KEYPAIR_TYPE_X509)


@base.NovaObjectRegistry.register
class KeyPair(base.NovaPersistentObject, base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.IntegerField(read_only=True),
        'name': fields.StringField(),
        'user_id': fields.StringField(),
        'fingerprint': fields.StringField(nullable=True),
        'public_key': fields.StringField(nullable=True),
        'type': fields.EnumField(KEYPAIR_TYPES, default=KEYPAIR_TYPE_SSH),
    }

    @staticmethod
    def _from_db_object(context, keypair, db_keypair):
        base.fill_from_db(keypair, db_keypair)
        keypair._context = context
        keypair.obj_reset_changes()
        return keypair

    @classmethod
    @base.remotable
    def get_by_name(cls, context, user_id, name):
        """The user's key pair ``name``; KeypairNotFound."""
        return cls._from_db_object(context, cls(),
                                   db.key_pair_get(context, user_id, name))

    @classmethod
    @base.remotable
    def destroy_by_name(cls, context, user_id, name):
        db.key_pair_destroy(context, user_id, name)

    @base.remotable
    def create(self, limit=None):
        """Record the key pair; ``limit`` caps the user's key pairs.

        KeyPairExists for a name the user has; KeypairLimitExceeded when
        the user already has ``limit`` key pairs.
        """
        if self.obj_attr_is_set('id'):
            raise exception.ObjectActionError(action='create',
                                              reason='already created')
        self.obj_set_defaults('type')
        db_keypair = db.key_pair_create(self._context,
                                        base.changes_for_db(self),
                                        limit=limit)
        self._from_db_object(self._context, self, db_keypair)

    @base.remotable
    def destroy(self):
        db.key_pair_destroy(self._context, self.user_id, self.name)
        self.deleted = True
        self.obj_reset_changes(['deleted'])


@base.NovaObjectRegistry.register
class KeyPairList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (KeyPair 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('KeyPair'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    @classmethod
    @base.remotable
    def get_by_user(cls, context, user_id, limit=None, marker=None):
        """The user's key pairs, oldest first (a page: see the DB API)."""
        return base.obj_make_list(
            context, cls(context), KeyPair,
            db.key_pair_get_all_by_user(context, user_id, limit=limit,
                                        marker=marker))

    @classmethod
    @base.remotable
    def get_count_by_user(cls, context, user_id):
        return db.key_pair_count_by_user(context, user_id)
