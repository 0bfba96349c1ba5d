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

"""RequestSpec: what the scheduler is asked to find a host for.

Minimal and not persisted: built by the conductor for each scheduling
request (a boot, or a live migration without a forced host) and passed
along with it.
"""

from nova.objects import base
from nova.objects import fields


@base.NovaObjectRegistry.register
class Destination(base.NovaObject):
    """A host (and optionally node) the request must land on."""

    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'host': fields.StringField(),
        'node': fields.StringField(nullable=True),
    }


@base.NovaObjectRegistry.register
class RequestSpec(base.NovaObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'instance_uuid': fields.UUIDField(),
        'project_id': fields.StringField(nullable=True),
        'user_id': fields.StringField(nullable=True),
        'flavor': fields.ObjectField('Flavor'),
        'num_instances': fields.IntegerField(default=1),
        # Hosts that must not be chosen (e.g. the source of a move).
        'ignore_hosts': fields.ListOfStringsField(nullable=True),
        'force_hosts': fields.ListOfStringsField(nullable=True),
        'force_nodes': fields.ListOfStringsField(nullable=True),
        'requested_destination': fields.ObjectField('Destination',
                                                    nullable=True),
        'scheduler_hints': fields.DictOfListOfStringsField(nullable=True),
    }
    obj_relationships = {
        'flavor': [('1.0', '1.0')],
        'requested_destination': [('1.0', '1.0')],
    }

    @classmethod
    def from_instance(cls, context, instance, **kwargs):
        """A spec asking for room for ``instance`` as it is now.

        ``kwargs`` set further fields (ignore_hosts, requested_destination
        ...); the rest start empty.
        """
        spec = cls(context, instance_uuid=instance.uuid,
                   project_id=instance.project_id, user_id=instance.user_id,
                   flavor=instance.flavor, num_instances=1,
                   ignore_hosts=None, force_hosts=None, force_nodes=None,
                   requested_destination=None, scheduler_hints={})
        for name, value in kwargs.items():
            setattr(spec, name, value)
        return spec

    def get_scheduler_hint(self, name, default=None):
        """The hint's single value (or its list when it has several)."""
        hints = self.scheduler_hints or {}
        values = hints.get(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else values
