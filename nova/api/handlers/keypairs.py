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

"""``/os-keypairs``: a user's ssh keys (or x509 certificates), by name.

As Nova: creating a key pair without a public key generates one and
answers its private key, once (until 2.91; from 2.92 only imports are
taken). 2.2 adds the ``type`` (``ssh``, ``x509``) and answers creation
with 201 and deletion with 204 instead of 200 and 202. From 2.10 an
administrator may name another user (``user_id`` in the body or the
query); from 2.35 the list pages with ``limit`` and ``marker`` (a key
pair's name). A user has at most ``[api]max_keypairs_per_user``; one more
is refused with 403, Nova's answer to an exhausted quota. Views are in
:mod:`keypair_views`, keys and fingerprints in :mod:`keypair_crypto`.
"""

import re
from urllib import parse as urlparse

import nova.conf
from nova.api.handlers import keypair_crypto as crypto
from nova.api.handlers import keypair_views as views
from nova.api.handlers import query_params
from nova.api import http
from nova.api import validation
from nova.db import keypair_api
from nova import exception
from nova import objects

CONF = nova.conf.CONF

RULE = 'os_compute_api:os-keypairs:%s'

TYPE_FROM = views.TYPE_FROM
USER_ID_FROM = (2, 10)
PAGING_FROM = (2, 35)
# Keys are imported only, and names may hold '.' and '@'.
IMPORT_ONLY_FROM = (2, 92)

# The characters of a key pair name, without blanks at either end.
_NAME_CHARS = 'letters, digits, spaces, - and _'
_NAME_RE = re.compile(r'^(?! )[a-zA-Z0-9 _-]+(?<! )$')
_NAME_CHARS_2_92 = 'letters, digits, spaces, -, _, . and @'
_NAME_RE_2_92 = re.compile(r'^(?! )[a-zA-Z0-9 _.@-]+(?<! )$')


def _create_schema(with_type=False, with_user=False, import_only=False):
    properties = {'name': validation.NAME, 'public_key': {'type': 'string'}}
    if with_type:
        properties['type'] = {'type': 'string',
                              'enum': [crypto.SSH, crypto.X509]}
    if with_user:
        properties['user_id'] = {'type': 'string'}
    return {
        'type': 'object',
        'properties': {'keypair': {
            'type': 'object',
            'properties': properties,
            'required': ['name'] + (['public_key'] if import_only else []),
            'additionalProperties': False,
        }},
        'required': ['keypair'],
        'additionalProperties': False,
    }


CREATE_SCHEMAS = [
    (None, (2, 1), _create_schema()),
    (TYPE_FROM, (2, 9), _create_schema(with_type=True)),
    (USER_ID_FROM, (2, 91), _create_schema(with_type=True, with_user=True)),
    (IMPORT_ONLY_FROM, None, _create_schema(with_type=True, with_user=True,
                                            import_only=True)),
]


def check_name(name, version):
    """400 unless ``name`` is a key pair name at ``version``."""
    pattern, chars = ((_NAME_RE_2_92, _NAME_CHARS_2_92)
                      if version >= IMPORT_ONLY_FROM
                      else (_NAME_RE, _NAME_CHARS))
    if not 1 <= len(name) <= 255 or not pattern.match(name):
        raise http.HTTPError(
            400, 'Keypair data is invalid: a key pair name is 1 to 255 of '
                 '%s, without a blank at either end; %r is not.'
                 % (chars, name))
    return name


def _query_user(req):
    """The user the query names (2.10, for administrators), or the
    caller."""
    if req.version >= USER_ID_FROM:
        named = req.params.getall('user_id')
        if named and named[0]:
            return named[0]
    return req.context.user_id


def _authorize(req, action, user_id):
    http.authorize(req, RULE % action,
                   {'user_id': user_id,
                    'project_id': req.context.project_id})


def _get(req, user_id, name):
    try:
        return objects.KeyPair.get_by_name(req.context, user_id, name)
    except keypair_api.KeypairNotFound as e:
        raise http.HTTPError(404, e.format_message())


def _next_links(req, keypairs, limit):
    if not limit or len(keypairs) != limit:
        return None
    params = [(k, v) for k, v in req.params.items() if k != 'marker']
    params.append(('marker', keypairs[-1].name))
    return [{'rel': 'next',
             'href': '%s/os-keypairs?%s' % (http.link_prefix(req),
                                            urlparse.urlencode(params))}]


def index(req):
    user_id = _query_user(req)
    _authorize(req, 'index', user_id)
    limit = marker = None
    if req.version >= PAGING_FROM:
        limit = query_params.limit(req, CONF.api.max_limit)
        marker = req.params.get('marker')
    if limit == 0:
        keypairs = []
    else:
        try:
            keypairs = objects.KeyPairList.get_by_user(
                req.context, user_id, limit=limit, marker=marker)
        except exception.MarkerNotFound:
            raise http.HTTPError(400, 'marker [%s] not found' % marker)
    body = {'keypairs': [views.list_entry(kp, req.version)
                         for kp in keypairs]}
    links = _next_links(req, keypairs, limit)
    if links:
        body['keypairs_links'] = links
    return 200, body


def create(req):
    body = validation.validate(CREATE_SCHEMAS, req, http.json_body(req))
    params = body['keypair']
    name = check_name(params['name'], req.version)
    key_type = params.get('type', crypto.SSH)
    user_id = params.get('user_id') or req.context.user_id
    _authorize(req, 'create', user_id)
    private_key = None
    try:
        if 'public_key' in params:
            public_key = params['public_key']
            fingerprint = crypto.fingerprint(key_type, public_key)
        elif key_type == crypto.X509:
            private_key, public_key, fingerprint = crypto.generate_x509(
                user_id)
        else:
            private_key, public_key, fingerprint = crypto.generate_ssh_key()
    except crypto.InvalidKeypair as e:
        raise http.HTTPError(400, e.format_message())
    keypair = objects.KeyPair(req.context, name=name, user_id=user_id,
                              type=key_type, public_key=public_key,
                              fingerprint=fingerprint)
    try:
        keypair.create(limit=CONF.api.max_keypairs_per_user)
    except keypair_api.KeyPairExists as e:
        raise http.HTTPError(409, e.format_message())
    except keypair_api.KeypairLimitExceeded as e:
        raise http.HTTPError(403, e.format_message())
    status = 201 if req.version >= TYPE_FROM else 200
    return status, views.created(keypair, req.version, private_key)


def show(req, keypair_name):
    user_id = _query_user(req)
    _authorize(req, 'show', user_id)
    return 200, views.show(_get(req, user_id, keypair_name), req.version)


def delete(req, keypair_name):
    user_id = _query_user(req)
    _authorize(req, 'delete', user_id)
    try:
        objects.KeyPair.destroy_by_name(req.context, user_id, keypair_name)
    except keypair_api.KeypairNotFound as e:
        raise http.HTTPError(404, e.format_message())
    return (204 if req.version >= TYPE_FROM else 202), None


def find_for_server(context, key_name):
    """The caller's key pair a new server names; 400 if it has none."""
    try:
        return objects.KeyPair.get_by_name(context, context.user_id,
                                           key_name)
    except keypair_api.KeypairNotFound:
        raise http.HTTPError(400, 'Invalid key_name provided: the user has '
                                  'no key pair %r.' % key_name)


ROUTES = [
    ('GET', '/os-keypairs', index),
    ('POST', '/os-keypairs', create),
    ('GET', '/os-keypairs/{keypair_name}', show),
    ('DELETE', '/os-keypairs/{keypair_name}', delete),
]
