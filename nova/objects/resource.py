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

"""Specific resources: which vpmem namespace an instance holds.

Placement counts resources (two ``CUSTOM_PMEM_NAMESPACE_128G``); a
:class:`Resource` names one of them (namespace ``ns0`` of provider P), and
its ``metadata`` says what the virt driver needs to use it (the device
path, size and alignment). Instances keep theirs in ``instance.resources``
and a move keeps both sides in its migration context.
"""

from nova.db import api as db
from nova.objects import base
from nova.objects import fields

# The resource class of the vpmem namespaces with label L is this + L.
PMEM_NAMESPACE_RC_PREFIX = 'CUSTOM_PMEM_NAMESPACE_'


@base.NovaObjectRegistry.register
class ResourceMetadata(base.NovaObject):
    """Base class of what a driver knows about one kind of resource.

    Equal (and hashing equal) when of the same class with the same field
    values, so a subclass with hashable fields works in sets and as
    dictionary keys without more code.
    """

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {}

    def _identity(self):
        return (self.obj_name(),) + tuple(
            (name, getattr(self, name)) for name in sorted(self.fields)
            if self.obj_attr_is_set(name))

    def __eq__(self, other):
        if not isinstance(other, ResourceMetadata):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self):
        return hash(self._identity())


@base.NovaObjectRegistry.register
class LibvirtVPMEMDevice(ResourceMetadata):
    """A vpmem namespace as the libvirt driver uses it."""

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        # The label of [libvirt]pmem_namespaces (and of hw:pmem).
        'label': fields.StringField(),
        # The namespace's name, unique on its host.
        'name': fields.StringField(),
        'size': fields.IntegerField(),  # bytes
        'devpath': fields.StringField(),
        'align': fields.IntegerField(),  # bytes
    }


@base.NovaObjectRegistry.register
class Resource(base.NovaObject):
    """One specific resource of a resource provider."""

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'provider_uuid': fields.UUIDField(),
        'resource_class': fields.ResourceClassField(),
        # Unique among the provider's resources of this class (for vpmem:
        # the namespace name).
        'identifier': fields.StringField(),
        'metadata': fields.ObjectField('ResourceMetadata', subclasses=True,
                                       nullable=True),
    }
    obj_relationships = {
        'metadata': [('1.0', '1.0')],
    }

    _IDENTITY_FIELDS = ('provider_uuid', 'resource_class', 'identifier',
                        'metadata')

    def _identity(self):
        return tuple(getattr(self, name) if self.obj_attr_is_set(name)
                     else None for name in self._IDENTITY_FIELDS)

    def __eq__(self, other):
        if not isinstance(other, Resource):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self):
        return hash(self._identity())


@base.NovaObjectRegistry.register
class ResourceList(base.ObjectListBase, base.NovaObject):
    # Version 1.0: Initial version (Resource 1.0)
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Resource'),
    }
    obj_relationships = {
        'objects': [('1.0', '1.0')],
    }

    def _subset(self, predicate):
        subset = ResourceList(self._context,
                              objects=[r for r in self.objects
                                       if predicate(r)])
        subset.obj_reset_changes()
        return subset

    def filter_by_metadata_type(self, metadata_cls):
        """The resources whose metadata is a ``metadata_cls``."""
        return self._subset(
            lambda r: isinstance(r.metadata if r.obj_attr_is_set('metadata')
                                 else None, metadata_cls))

    def filter_by_resource_class(self, resource_class):
        return self._subset(lambda r: r.resource_class == resource_class)

    def filter_by_provider(self, provider_uuid):
        return self._subset(lambda r: r.provider_uuid == provider_uuid)

    @classmethod
    def get_by_instance_uuid(cls, context, instance_uuid):
        """The resources an instance holds, or None if it holds none."""
        db_instance = db.instance_get_by_uuid(context, instance_uuid)
        extra = db_instance.get('extra') or {}
        return base.obj_from_json(extra.get('resources'), context=context)
