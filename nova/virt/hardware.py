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

# A label LABEL is offered to placement as resource class
# CUSTOM_PMEM_NAMESPACE_<LABEL upper-cased>. Placement accepts a custom
# class name matching ^CUSTOM_[A-Z0-9_]+$ of at most 255 characters (its
# resource class schema and database column), so a label may hold letters,
# digits and underscores, and at most 255 - 22 = 233 of them. (Runs of
# underscores become one and case is lost, so 'a__b' and 'A_B' share a
# class; [libvirt]pmem_namespaces refuses two such labels.)
PMEM_RESOURCE_CLASS_PREFIX = 'CUSTOM_PMEM_NAMESPACE_'
RESOURCE_CLASS_MAX_LENGTH = 255
PMEM_LABEL_MAX_LENGTH = (RESOURCE_CLASS_MAX_LENGTH -
                         len(PMEM_RESOURCE_CLASS_PREFIX))
_PMEM_LABEL = re.compile(r'[A-Za-z0-9_]+')
_PMEM_LABEL_CHAR = re.compile(r'[A-Za-z0-9_]')

# A namespace name is the label name the kernel stores with an nvdimm
# namespace: a 64-byte field ending with a NUL, so at most 63 characters
# (the kernel refuses longer ones). nova-vpmem also uses it
# in file names and log lines, hence the plain character set.
NSLABEL_NAME_LEN = 64
PMEM_NAMESPACE_NAME_MAX_LENGTH = NSLABEL_NAME_LEN - 1
_PMEM_NAMESPACE_NAME = re.compile(r'[A-Za-z0-9_][A-Za-z0-9._-]*')
_PMEM_NAMESPACE_NAME_CHAR = re.compile(r'[A-Za-z0-9._-]')

PMEM_LABEL_RULE = ("a label is 1 to %d characters of A-Z, a-z, 0-9 and '_' "
                   "(it becomes placement resource class %s<LABEL>, at most "
                   "%d characters)"
                   % (PMEM_LABEL_MAX_LENGTH, PMEM_RESOURCE_CLASS_PREFIX,
                      RESOURCE_CLASS_MAX_LENGTH))
PMEM_NAMESPACE_NAME_RULE = ("a namespace name is 1 to %d characters of A-Z, "
                            "a-z, 0-9, '.', '_' and '-', not starting with "
                            "'.' or '-'"
                            % PMEM_NAMESPACE_NAME_MAX_LENGTH)


def shorten(text, limit=40):
    """``text`` for a message: long ones cut, with their length said."""
    if len(text) <= limit:
        return repr(text)
    return '%r... (%d characters)' % (text[:limit], len(text))


def _first_bad_character(text, allowed):
    for char in text:
        if not allowed.fullmatch(char):
            return repr(char)
    return None


def _name_problem(what, value, max_length, pattern, allowed, rule):
    """None if ``value`` is a good ``what`` (label, name), else why not."""
    if not isinstance(value, str):
        return 'the %s is of type %s, not a string; %s' % (
            what, type(value).__name__, rule)
    if not value:
        return 'the %s is empty; %s' % (what, rule)
    if len(value) > max_length:
        return '%s %s is too long; %s' % (what, shorten(value), rule)
    if not pattern.fullmatch(value):
        bad = _first_bad_character(value, allowed)
        # Every character allowed: only the first one is out of place.
        problem = 'holds %s' % bad if bad else 'starts with %r' % value[0]
        return '%s %s %s; %s' % (what, shorten(value), problem, rule)
    return None


def pmem_label_problem(label):
    """None if ``label`` may be a persistent memory label, else why not."""
    return _name_problem('label', label, PMEM_LABEL_MAX_LENGTH, _PMEM_LABEL,
                         _PMEM_LABEL_CHAR, PMEM_LABEL_RULE)


def is_valid_pmem_label(label):
    return pmem_label_problem(label) is None


def pmem_namespace_name_problem(name):
    """None if ``name`` may name a persistent memory namespace, else why."""
    return _name_problem('namespace name', name,
                         PMEM_NAMESPACE_NAME_MAX_LENGTH, _PMEM_NAMESPACE_NAME,
                         _PMEM_NAMESPACE_NAME_CHAR, PMEM_NAMESPACE_NAME_RULE)


def is_valid_pmem_namespace_name(name):
    return pmem_namespace_name_problem(name) is None


def pmem_resource_class(label):
    """Placement resource class of the namespaces under ``label``."""
    return orc.normalize_name('PMEM_NAMESPACE_' + label)


def validate_pmem_extra_spec(value):
    """Return the labels of an ``hw:pmem`` value, or raise if malformed.

    Items are comma separated and stripped of surrounding whitespace; a
    label may repeat (two namespaces of one label). Each label follows
    PMEM_LABEL_RULE, as ``[libvirt]pmem_namespaces`` labels do.
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
        problem = pmem_label_problem(label)
        if problem:
            raise exception.InvalidPMEMExtraSpec(value=value, reason=problem)
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
