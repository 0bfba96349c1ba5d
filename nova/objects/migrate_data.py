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

"""Live migration data: what the two computes tell each other.

The destination's checks return a LibvirtLiveMigrateData that the source
completes and hands to ``pre_live_migration`` and the driver. Since 1.1
it can carry the destination's vpmem devices, so the source builds the
destination XML without another database read.
"""

from oslo_utils import versionutils

from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class LiveMigrateData(base.NovaObject):
    """The hypervisor-independent part."""

    # Version 1.0: Initial version (Migration 1.0)
    # Version 1.1: Migration 1.1
    # Version 1.2: Migration 1.2
    VERSION = '1.2'

    fields = {
        'migration': fields.ObjectField('Migration', nullable=True),
        'is_volume_backed': fields.BooleanField(default=False),
        # None until the source decided (from the request and the checks).
        'block_migration': fields.BooleanField(nullable=True),
    }
    obj_relationships = {
        'migration': [('1.0', '1.0'), ('1.1', '1.1'), ('1.2', '1.2')],
    }


@base.NovaObjectRegistry.register
class LibvirtLiveMigrateData(LiveMigrateData):
    # Version 1.0: Initial version (Migration 1.0)
    # Version 1.1: Added dst_vpmems (LibvirtVPMEMDevice 1.0); Migration 1.1
    # Version 1.2: Added target_libvirt_uri
    # Version 1.3: Migration 1.2
    # Version 1.4: Added dst_can_post_copy, dst_post_copy_reason
    VERSION = '1.4'

    fields = {
        'filename': fields.StringField(),
        'disk_over_commit': fields.BooleanField(nullable=True),
        'disk_available_mb': fields.IntegerField(nullable=True),
        'is_shared_instance_path': fields.BooleanField(),
        'is_shared_block_storage': fields.BooleanField(),
        'graphics_listen_addr_vnc': fields.IPAddressField(nullable=True),
        'serial_listen_addr': fields.StringField(nullable=True),
        'target_connect_addr': fields.StringField(nullable=True),
        'supported_perf_events': fields.ListOfStringsField(),
        # The destination's namespaces, in the order of the guest's
        # <memory model='nvdimm'> devices.
        'dst_vpmems': fields.ListOfObjectsField('LibvirtVPMEMDevice',
                                                nullable=True),
        # How the source reaches the destination's hypervisor; without it
        # (an older destination) the source derives the URI itself.
        'target_libvirt_uri': fields.StringField(nullable=True),
        # Whether QEMU on the destination can use userfaultfd, so post-copy
        # is asked for only when both hosts can, and why not. Unset (an
        # older destination): unknown, the source does not ask for it.
        'dst_can_post_copy': fields.BooleanField(nullable=True),
        'dst_post_copy_reason': fields.StringField(nullable=True),
    }
    obj_relationships = {
        'migration': [('1.0', '1.0'), ('1.1', '1.1'), ('1.3', '1.2')],
        'dst_vpmems': [('1.1', '1.0')],
    }

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            # A 1.0 destination cannot place vpmem devices; the conductor's
            # service version check keeps vpmem guests away from it.
            primitive.pop('dst_vpmems', None)
        if versionutils.convert_version_to_tuple(target_version) < (1, 2):
            primitive.pop('target_libvirt_uri', None)
        if versionutils.convert_version_to_tuple(target_version) < (1, 4):
            primitive.pop('dst_can_post_copy', None)
            primitive.pop('dst_post_copy_reason', None)

    @property
    def has_vpmems(self):
        return bool(self.obj_attr_is_set('dst_vpmems') and self.dst_vpmems)

    def is_on_shared_storage(self):
        return self.is_shared_block_storage or self.is_shared_instance_path
