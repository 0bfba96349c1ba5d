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

"""JSON-schema validation of request bodies, per microversion.

A resource declares its schemas as data: a list of
``(min_version, max_version, schema)`` rows; the row whose range holds the
request's microversion applies (None for an open end).
"""

import jsonschema

from nova.api import http
from nova import schema_check


def schema_for(rows, version):
    for low, high, schema in rows:
        if (low is None or version >= low) and (high is None or
                                                 version <= high):
            return schema
    return None


def validate(rows, req, body):
    """Check ``body`` against the schema for ``req.version``: 400 if bad."""
    schema = schema_for(rows, req.version)
    if schema is None:
        raise http.HTTPError(400, 'This request is not supported at '
                                  'microversion %d.%d.' % req.version)
    error = jsonschema.exceptions.best_match(
        schema_check.CHECKED.validator(schema).iter_errors(body))
    if error is not None:
        where = '/'.join(str(p) for p in error.absolute_path)
        raise http.HTTPError(400, 'Invalid input for field/attribute %s. '
                                  'Value: %s. %s' % (where or '(body)',
                                                     error.instance,
                                                     error.message))
    return body


# Common pieces.
NAME = {'type': 'string', 'minLength': 1, 'maxLength': 255}
HOST = {'type': ['string', 'null'], 'minLength': 1, 'maxLength': 255}
