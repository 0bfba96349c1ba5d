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

"""The JSON of a flavor per microversion, and the flavor list's query.

Views are tables of ``(first microversion, fields)`` rows, as Nova shapes
them: ``description`` from 2.55; ``extra_specs`` in the detailed views from
2.61, for callers the extra-specs index policy lets read them. The list
query (filters, sort, marker and limit) is a pure function over the
flavors, which are few.
"""

from nova.api import http

# The flavor list and its links.
LIST_FIELDS = [
    ((2, 1), ('id', 'name', 'links')),
    ((2, 55), ('description',)),
]
# GET /flavors/detail, /flavors/{id}, and the answers of POST and PUT.
DETAIL_FIELDS = [
    ((2, 1), ('id', 'name', 'links', 'ram', 'vcpus', 'disk', 'swap',
              'OS-FLV-EXT-DATA:ephemeral', 'OS-FLV-DISABLED:disabled',
              'os-flavor-access:is_public', 'rxtx_factor')),
    ((2, 55), ('description',)),
]
EXTRA_SPECS_VERSION = (2, 61)

# No flavor here has a bandwidth factor other than Nova's default.
RXTX_FACTOR = 1.0

_VALUES = {
    'id': lambda req, f: f.flavorid,
    'name': lambda req, f: f.name,
    'links': lambda req, f: http.links(req, 'flavors', f.flavorid),
    'ram': lambda req, f: f.memory_mb,
    'vcpus': lambda req, f: f.vcpus,
    'disk': lambda req, f: f.root_gb,
    # Nova's quirk, kept: no swap is "" rather than 0.
    'swap': lambda req, f: f.swap or '',
    'OS-FLV-EXT-DATA:ephemeral': lambda req, f: f.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': lambda req, f: f.disabled,
    'os-flavor-access:is_public': lambda req, f: f.is_public,
    'rxtx_factor': lambda req, f: RXTX_FACTOR,
    'description': lambda req, f: f.description,
}


def fields_at(table, version):
    names = []
    for first, row in table:
        if version >= first:
            names.extend(row)
    return names


def flavor(req, flavor, detail=True, extra_specs_allowed=False):
    """One flavor; ``extra_specs_allowed``: the caller may read specs."""
    table = DETAIL_FIELDS if detail else LIST_FIELDS
    body = {name: _VALUES[name](req, flavor)
            for name in fields_at(table, req.version)}
    if (detail and extra_specs_allowed and
            req.version >= EXTRA_SPECS_VERSION):
        body['extra_specs'] = dict(flavor.extra_specs)
    return body


# -- the list query ----------------------------------------------------------

# Nova's sort keys; those without a column here sort as equal.
SORT_KEYS = ('created_at', 'description', 'disabled', 'ephemeral_gb',
             'flavorid', 'id', 'is_public', 'memory_mb', 'name', 'root_gb',
             'rxtx_factor', 'swap', 'updated_at', 'vcpu_weight', 'vcpus')
SORT_DIRS = ('asc', 'desc')


def _sort_value(flavor, key):
    value = None
    if key in flavor.fields and flavor.obj_attr_is_set(key):
        value = getattr(flavor, key)
    # None sorts first, as NULL does in ascending SQL order.
    return (value is not None, value)


def _key(flavor, sort_key):
    # The id breaks ties, as in Nova's paginated query.
    return (_sort_value(flavor, sort_key), flavor.id)


def _visible(flavor, is_public, accessible):
    if is_public is None:
        return True
    if is_public and flavor.flavorid in accessible:
        return True  # private, but the caller's project may use it
    return flavor.is_public == is_public


def select(flavors, is_public=True, disabled=None, min_ram=None,
           min_disk=None, sort_key='flavorid', sort_dir='asc', marker=None,
           limit=None, accessible=()):
    """The page of ``flavors`` a list query asks for.

    ``is_public`` None means public and private; True also takes the
    private flavors whose flavorid is in ``accessible`` (those the
    caller's project was given access to), as Nova. ``marker`` is a
    Flavor (the last one of the previous page, found among all flavors).
    """
    chosen = [f for f in flavors
              if _visible(f, is_public, accessible) and
              (disabled is None or f.disabled == disabled) and
              (min_ram is None or f.memory_mb >= min_ram) and
              (min_disk is None or f.root_gb >= min_disk)]
    descending = sort_dir == 'desc'
    chosen.sort(key=lambda f: _key(f, sort_key), reverse=descending)
    if marker is not None:
        last = _key(marker, sort_key)
        chosen = [f for f in chosen
                  if (_key(f, sort_key) < last if descending
                      else _key(f, sort_key) > last)]
    return chosen if limit is None else chosen[:limit]
