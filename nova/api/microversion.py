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

"""Microversion negotiation of the compute API.

A request names its microversion in ``OpenStack-API-Version: compute X``
or the older ``X-OpenStack-Nova-API-Version: X`` (the first wins when both
are sent, as the CLI does, with the same value). No header means the
minimum; ``latest`` means the maximum. Handlers compare the request's
version with tuples, e.g. ``req.version >= (2, 68)``.
"""

import re

SERVICE_TYPE = 'compute'
MIN_VERSION = (2, 1)
# High enough for everything the openstack CLI asks for (servers: 2.100).
MAX_VERSION = (2, 100)

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'

_VERSION_RE = re.compile(r'^([1-9][0-9]*)\.(0|[1-9][0-9]*)$')


class VersionNotAcceptable(Exception):
    """The requested microversion is malformed or outside the range."""


def to_string(version):
    return '%d.%d' % version


def parse(text):
    """``'2.30'`` -> ``(2, 30)``; ``'latest'`` -> the maximum."""
    text = text.strip()
    if text.lower() == 'latest':
        return MAX_VERSION
    match = _VERSION_RE.match(text)
    if not match:
        raise VersionNotAcceptable('Invalid microversion %r.' % text)
    return int(match.group(1)), int(match.group(2))


def _from_new_header(value):
    # "compute 2.30", possibly among other services: "placement 1.2, ...".
    for part in value.split(','):
        words = part.split()
        if len(words) == 2 and words[0].lower() == SERVICE_TYPE:
            return words[1]
    return None


def negotiate(headers):
    """The microversion of a request, given its headers (a mapping).

    Raises VersionNotAcceptable for a bad or unsupported version.
    """
    requested = None
    if headers.get(HEADER):
        requested = _from_new_header(headers[HEADER])
    if requested is None and headers.get(LEGACY_HEADER):
        requested = headers[LEGACY_HEADER]
    if requested is None:
        return MIN_VERSION
    version = parse(requested)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise VersionNotAcceptable(
            'Version %s is not supported by the API. Minimum is %s and '
            'maximum is %s.' % (to_string(version), to_string(MIN_VERSION),
                                to_string(MAX_VERSION)))
    return version


def response_headers(version):
    """Headers echoing the version a response was produced at."""
    text = to_string(version)
    return [(HEADER, '%s %s' % (SERVICE_TYPE, text)),
            (LEGACY_HEADER, text),
            ('Vary', '%s, %s' % (HEADER, LEGACY_HEADER))]
