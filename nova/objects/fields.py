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

"""Field types of nova objects.

The oslo.versionedobjects fields nova uses are re-exported here, so object
modules import one ``fields`` module; the enums and types that are nova's
own follow. An enum's valid values are part of an object's fingerprint:
adding a value is a version bump of every object using it.
"""

import re

from oslo_versionedobjects import fields

# Re-exported oslo field classes.
Field = fields.Field
FieldType = fields.FieldType
UnspecifiedDefault = fields.UnspecifiedDefault
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
DictOfListOfStringsField = fields.DictOfListOfStringsField
DictOfStringsField = fields.DictOfStringsField
EnumField = fields.EnumField
IntegerField = fields.IntegerField
IPAddressField = fields.IPAddressField
ListOfIntegersField = fields.ListOfIntegersField
ListOfObjectsField = fields.ListOfObjectsField
ListOfStringsField = fields.ListOfStringsField
NonNegativeIntegerField = fields.NonNegativeIntegerField
ObjectField = fields.ObjectField
SetOfIntegersField = fields.SetOfIntegersField
StringField = fields.StringField
UUIDField = fields.UUIDField


class BaseNovaEnum(fields.Enum):
    """An enum type whose valid values are the class's ``ALL`` tuple."""

    ALL = ()

    def __init__(self):
        super().__init__(valid_values=self.ALL)


class MigrationType(BaseNovaEnum):
    """What kind of move a Migration record describes."""

    # Cold migration to another host, same flavor.
    MIGRATION = 'migration'
    RESIZE = 'resize'
    LIVE_MIGRATION = 'live-migration'
    # Rebuild on another host after the source host failed.
    EVACUATION = 'evacuation'

    ALL = (MIGRATION, RESIZE, LIVE_MIGRATION, EVACUATION)


class MigrationStatus(BaseNovaEnum):
    """The statuses a Migration goes through.

    Live migration: accepted -> (queued) -> preparing -> running ->
    post-migrating -> completed, or failed/error/cancelled on the way.
    Resize and cold migration: pre-migrating -> migrating -> post-migrating
    -> finished -> confirmed or reverted. Evacuation ends in done.
    """

    ACCEPTED = 'accepted'
    QUEUED = 'queued'
    PREPARING = 'preparing'
    RUNNING = 'running'
    POST_MIGRATING = 'post-migrating'
    COMPLETED = 'completed'
    FAILED = 'failed'
    # Failed in a way that left something behind to clean up (vpmem
    # namespaces stay reserved until the cleanup ran).
    ERROR = 'error'
    CANCELLING = 'cancelling'
    CANCELLED = 'cancelled'
    PRE_MIGRATING = 'pre-migrating'
    MIGRATING = 'migrating'
    FINISHED = 'finished'
    CONFIRMED = 'confirmed'
    REVERTED = 'reverted'
    DONE = 'done'

    ALL = (QUEUED, PREPARING, RUNNING, POST_MIGRATING, COMPLETED, FAILED,
           ERROR, CANCELLING, CANCELLED, ACCEPTED, PRE_MIGRATING, MIGRATING,
           FINISHED, CONFIRMED, REVERTED, DONE)

    # A migration in one of these holds no resources any more; the DB API's
    # "in progress" queries exclude exactly these (so 'error' is included).
    ENDED = (CONFIRMED, REVERTED, COMPLETED, FAILED, CANCELLED, DONE)
    # A move that has not ended: neither ENDED nor in ERROR.
    IN_PROGRESS = (ACCEPTED, QUEUED, PREPARING, RUNNING, POST_MIGRATING,
                   CANCELLING, PRE_MIGRATING, MIGRATING, FINISHED)


class VPMEMNamespaceState(BaseNovaEnum):
    """The lifecycle of a persistent memory namespace on its host.

    free -> assigned -> erasing -> free, or quarantined when an erase
    failed or the contents are unknown; quarantined -> erasing -> free
    when a retried erase succeeds. Only a verified erase makes one free.
    """

    FREE = 'free'
    ASSIGNED = 'assigned'
    ERASING = 'erasing'
    QUARANTINED = 'quarantined'

    ALL = (FREE, ASSIGNED, ERASING, QUARANTINED)


class ResourceClass(fields.StringPattern):
    """A placement resource class name: ``VCPU``, ``CUSTOM_FOO``..."""

    PATTERN = r'^[A-Z0-9_]+$'
    _REGEX = re.compile(PATTERN)

    def coerce(self, obj, attr, value):
        value = str(value)
        if not self._REGEX.match(value):
            raise ValueError('%r is not a resource class name (field %s)'
                             % (value, attr))
        return value


class MigrationTypeField(fields.BaseEnumField):
    AUTO_TYPE = MigrationType()


class MigrationStatusField(fields.BaseEnumField):
    AUTO_TYPE = MigrationStatus()


class VPMEMNamespaceStateField(fields.BaseEnumField):
    AUTO_TYPE = VPMEMNamespaceState()


class ResourceClassField(fields.AutoTypedField):
    AUTO_TYPE = ResourceClass()
