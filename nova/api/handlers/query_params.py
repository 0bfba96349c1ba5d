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

"""Query strings and loose booleans of the admin resources.

``/os-services`` and ``/os-hypervisors`` ignore query parameters they do
not know until 2.75, and refuse them (400) from 2.75 on, as Nova does.
"""

from oslo_utils import strutils

from nova.api import http
import nova.conf

CONF = nova.conf.CONF

# From this microversion an unknown query parameter is a 400.
STRICT_QUERY_VERSION = (2, 75)

_TRUE = ('true', '1', 'on', 'yes')
_FALSE = ('false', '0', 'off', 'no')


def _spellings(words):
    # Nova takes the lower, Capitalized and UPPER forms of each word.
    found = []
    for word in words:
        for form in (word, word.capitalize(), word.upper()):
            if form not in found:
                found.append(form)
    return found


# A request body boolean: JSON true/false or one of the words above.
BOOLEAN = {'type': ['boolean', 'string'],
           'enum': [True, False] + _spellings(_TRUE + _FALSE)}


def to_bool(value):
    """``value`` (a JSON boolean or a word BOOLEAN allows) as a bool."""
    if isinstance(value, bool):
        return value
    return strutils.bool_from_string(value, strict=True)


def check_known(req, allowed):
    """400 for a query parameter not in ``allowed`` (from 2.75 only)."""
    if req.version < STRICT_QUERY_VERSION:
        return
    unknown = sorted(set(req.GET.keys()) - set(allowed))
    if unknown:
        raise http.HTTPError(
            400, 'Invalid input for query parameters %s: not supported '
                 'here at microversion %d.%d; the known ones are %s.'
                 % (', '.join(unknown), req.version[0], req.version[1],
                    ', '.join(sorted(allowed)) or 'none'))


def last(req, name):
    """The last value of query parameter ``name``, or None."""
    values = req.GET.getall(name)
    return values[-1] if values else None


def limit(req, default=None):
    """The ``limit`` query parameter, at most ``[api]max_limit``;
    ``default`` when absent, 400 when not a whole number."""
    text = last(req, 'limit')
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise http.HTTPError(400, 'limit must be a whole number >= 0, not '
                                  '%r.' % text)
    return min(value, CONF.api.max_limit)
