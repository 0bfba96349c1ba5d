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

"""What a flavor asks of the host's hardware, read from its extra specs.

Only the persistent memory part lives here for now: ``hw:pmem`` lists the
labels of the namespaces a guest gets, one namespace per item, in the
order the guest sees its nvdimm devices.
"""

import collections
import re

import os_resource_classes as orc

from nova import exception

PMEM_EXTRA_SPEC = 'hw:pmem'

# A label ends up inside a placement resource class name, whose allowed
# characters (after upper-casing) are exactly these.
_PMEM_LABEL = re.compile(r'^[A-Za-z0-9_]+$')


def is_valid_pmem_label(label):
    return bool(_PMEM_LABEL.match(label))


def pmem_resource_class(label):
    """Placement resource class of the namespaces under ``label``."""
    return orc.normalize_name('PMEM_NAMESPACE_' + label)


def validate_pmem_extra_spec(value):
    """Return the labels of an ``hw:pmem`` value, or raise if malformed.

    Items are comma separated and stripped of surrounding whitespace; a
    label may repeat (two namespaces of one label).
    """
    if not isinstance(value, str):
        raise exception.InvalidPMEMExtraSpec(
            value=value, reason='it must be a string of labels')
    if not value.strip():
        raise exception.InvalidPMEMExtraSpec(
            value=value, reason='it names no label; remove the extra spec '
                                'to ask for no persistent memory')
    labels = [item.strip() for item in value.split(',')]
    for position, label in enumerate(labels, start=1):
        if not label:
            raise exception.InvalidPMEMExtraSpec(
                value=value, reason='item %d is empty (stray comma?)'
                                    % position)
        if not is_valid_pmem_label(label):
            raise exception.InvalidPMEMExtraSpec(
                value=value, reason='label %r may only hold letters, digits '
                                    'and underscores' % label)
    return labels


def get_vpmem_labels(flavor):
    """Labels the flavor asks for, in order, repeats kept; [] if none."""
    value = (flavor.extra_specs or {}).get(PMEM_EXTRA_SPEC)
    if value is None:
        return []
    return validate_pmem_extra_spec(value)


def get_vpmem_resource_amounts(flavor):
    """Namespaces the flavor needs from placement: {resource class: count}.
    """
    counts = collections.Counter(
        pmem_resource_class(label) for label in get_vpmem_labels(flavor))
    return dict(counts)
