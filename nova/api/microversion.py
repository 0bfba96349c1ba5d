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
are sent, as the CLI does, with the same value); microversion-parse reads
the headers, as in Nova and placement. No header means the minimum;
``latest`` means the maximum. A malformed version is a bad request (400),
a well-formed one outside the range is not acceptable (406). Handlers
compare the request's version with tuples, e.g. ``req.version >= (2, 68)``.
"""

import re

import microversion_parse

SERVICE_TYPE = 'compute'
MIN_VERSION = (2, 1)
# High enough for everything the openstack CLI asks for (servers: 2.100).
MAX_VERSION = (2, 100)

HEADER = 'OpenStack-API-Version'
LEGACY_HEADER = 'X-OpenStack-Nova-API-Version'

# Nova's grammar: no leading zeros, so "2.01" is not 2.1.
_VERSION_RE = re.compile(r'^([1-9][0-9]*)\.(0|[1-9][0-9]*)$')


class VersionError(Exception):
    """The requested microversion cannot be served; ``code`` says why."""

    code = 400


class InvalidVersion(VersionError):
    """The version is not of the form X.Y (or ``latest``): 400."""

    code = 400


class VersionNotAcceptable(VersionError):
    """A well-formed version outside MIN_VERSION..MAX_VERSION: 406."""

    code = 406


def to_string(version):
    return '%d.%d' % version


def parse(text):
    """``'2.30'`` -> ``(2, 30)``; ``'latest'`` -> the maximum."""
    text = text.strip()
    if text.lower() == 'latest':
        return MAX_VERSION
    match = _VERSION_RE.match(text)
    if not match:
        raise InvalidVersion(
            'Invalid microversion %r: send "compute X.Y" with X and Y '
            'whole numbers (e.g. "compute 2.60") or "compute latest".'
            % text)
    return int(match.group(1)), int(match.group(2))


def requested(headers):
    """The version text the headers (any mapping) ask for, or None."""
    return microversion_parse.get_version(
        headers, service_type=SERVICE_TYPE, legacy_headers=[LEGACY_HEADER])


def negotiate(headers):
    """The microversion of a request, given its headers (a mapping).

    Raises InvalidVersion (400) or VersionNotAcceptable (406).
    """
    text = requested(headers)
    if text is None:
        return MIN_VERSION
    version = parse(text)
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
