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

"""Check a response against tempest's own schema for a microversion.

Tempest holds Nova's response schemas (``tempest.lib.api_schema``), per
microversion directory; its REST client validates with the same format
checkers (uuid, iso8601-date-time) as here. tempest is a test
requirement: these checks always run.
"""

import importlib
from unittest import mock


def schema(directory, module, name):
    """e.g. ``schema('v2_59', 'migrations', 'list_migrations')``."""
    return getattr(importlib.import_module(
        'tempest.lib.api_schema.response.compute.%s.%s'
        % (directory, module)), name)


def pick(rows, version):
    """The directory of ``rows`` (``[(first, directory)]``, ascending) that
    holds the schema of ``version``, as tempest's clients choose it."""
    chosen = None
    for first, directory in rows:
        if version >= first:
            chosen = directory
    return chosen


def validate(test, the_schema, status, body):
    """Fail ``test`` unless (status, body) is valid for ``the_schema``."""
    from tempest.lib.common import rest_client
    from tempest.lib import exceptions
    resp = mock.Mock(status=status)
    try:
        rest_client.RestClient.validate_response(the_schema, resp, body)
    except (exceptions.InvalidHTTPResponseBody,
            exceptions.InvalidHttpSuccessCode) as e:
        test.fail('%s\nbody: %s' % (e, body))
