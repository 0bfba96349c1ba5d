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

"""What ``/os-keypairs`` answers, at each microversion: pure functions.

Every view holds ``name``, ``public_key`` and ``fingerprint``, and from
2.2 the ``type``. The answer to a creation adds the ``user_id`` (and the
``private_key`` of a generated key, shown this once); ``show`` adds the
record's ``id``, ``user_id`` and timestamps, as Nova's do.
"""

# The microversion that added the key pair type (and 201/204 answers).
TYPE_FROM = (2, 2)
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'


def _time(value):
    return value.strftime(TIME_FORMAT) if value else None


def _basic(keypair, version):
    body = {'name': keypair.name, 'public_key': keypair.public_key,
            'fingerprint': keypair.fingerprint}
    if version >= TYPE_FROM:
        body['type'] = keypair.type
    return body


def list_entry(keypair, version):
    """An entry of ``GET /os-keypairs`` (wrapped as Nova wraps it)."""
    return {'keypair': _basic(keypair, version)}


def created(keypair, version, private_key=None):
    body = dict(_basic(keypair, version), user_id=keypair.user_id)
    if private_key is not None:
        body['private_key'] = private_key
    return {'keypair': body}


def show(keypair, version):
    body = dict(_basic(keypair, version), user_id=keypair.user_id,
                id=keypair.id, deleted=bool(keypair.deleted),
                created_at=_time(keypair.created_at),
                updated_at=_time(keypair.updated_at),
                deleted_at=_time(keypair.deleted_at))
    return {'keypair': body}
