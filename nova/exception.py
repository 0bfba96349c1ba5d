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

"""Exceptions of nova-vpmem.

Every exception has a message template with named fields, so the text
names the object it is about (``Instance %(instance_uuid)s ...``). ``code``
is the HTTP status the API answers with when the exception reaches it.
"""

from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class NovaException(Exception):
    """Base exception: formats ``msg_fmt`` with the keyword arguments."""

    msg_fmt = "An unknown exception occurred."
    code = 500
    safe = False

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        self.kwargs.setdefault('code', self.code)
        if not message:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A missing field is a bug in the raiser; say so in the log
                # but still raise something readable.
                LOG.exception('Exception %s raised without the fields its '
                              'message needs: %s',
                              self.__class__.__name__, kwargs)
                message = self.msg_fmt
        self.message = message
        super().__init__(message)

    def format_message(self):
        return self.args[0]


# Generic families, mapped to HTTP statuses by the API.

class Invalid(NovaException):
    msg_fmt = "Bad request: %(reason)s"
    code = 400


class Forbidden(NovaException):
    msg_fmt = "Forbidden."
    code = 403


class NotFound(NovaException):
    msg_fmt = "Resource could not be found."
    code = 404


class Conflict(NovaException):
    msg_fmt = "Conflict: %(reason)s"
    code = 409


# Configuration and startup.

class InvalidConfiguration(Invalid):
    msg_fmt = "Configuration is invalid: %(reason)s"


class ConfigFileNotFound(NotFound):
    msg_fmt = "Configuration file %(path)s could not be found."


class PMEMNamespaceConfigInvalid(InvalidConfiguration):
    msg_fmt = ("[libvirt]pmem_namespaces entry %(entry)r is invalid: "
               "%(reason)s")


class DBNotAtLatestVersion(NovaException):
    msg_fmt = ("The database at %(connection)s is at schema version "
               "%(current)s, this code needs %(expected)s. Run "
               "'nova-manage db sync'.")


# Objects.

class ObjectActionError(NovaException):
    msg_fmt = "Object action %(action)s failed because: %(reason)s"


class OrphanedObjectError(NovaException):
    msg_fmt = "Cannot call %(method)s on orphaned %(objtype)s object."


class IncompatibleObjectVersion(NovaException):
    msg_fmt = ("Version %(objver)s of %(objname)s is not supported; this "
               "service supports up to %(supported)s.")


# Services and hosts.

class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HostBinaryNotFound(NotFound):
    msg_fmt = "Could not find binary %(binary)s on host %(host)s."


class ServiceExists(Conflict):
    msg_fmt = "Service with host %(host)s binary %(binary)s exists."


class ComputeHostNotFound(NotFound):
    msg_fmt = "Compute host %(host)s could not be found."


class ComputeNodeNotFound(NotFound):
    msg_fmt = "Compute node %(node)s could not be found."


class ComputeHostNodeNotFound(NotFound):
    msg_fmt = "Compute node %(node)s on host %(host)s could not be found."


class ComputeServiceUnavailable(Invalid):
    msg_fmt = "Compute service of %(host)s is unavailable at this time."


# Instances.

class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class InstanceExists(Conflict):
    msg_fmt = "Instance %(name)s already exists."


class InstanceInvalidState(Invalid):
    msg_fmt = ("Instance %(instance_uuid)s in %(attr)s %(state)s. Cannot "
               "%(method)s while the instance is in this state.")


class UnexpectedTaskStateError(Conflict):
    msg_fmt = ("Instance %(instance_uuid)s is busy: task_state is "
               "%(actual)s, expected %(expected)s.")


class UnexpectedVMStateError(Conflict):
    msg_fmt = ("Instance %(instance_uuid)s changed state: vm_state is "
               "%(actual)s, expected %(expected)s.")


class UnexpectedDeletingTaskStateError(UnexpectedTaskStateError):
    pass


class InstanceNotInMigration(Invalid):
    msg_fmt = "Instance %(instance_uuid)s has no migration in progress."


# Flavors.

class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorNotFoundByName(FlavorNotFound):
    msg_fmt = "Flavor with name %(flavor_name)s could not be found."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with name %(name)s already exists."


class FlavorIdExists(Conflict):
    msg_fmt = "Flavor with ID %(flavor_id)s already exists."


class FlavorAccessExists(Conflict):
    msg_fmt = ("Flavor access already exists for flavor %(flavor_id)s "
               "and project %(project_id)s combination.")


class FlavorAccessNotFound(NotFound):
    msg_fmt = ("Flavor access not found for %(flavor_id)s / "
               "%(project_id)s combination.")


class FlavorExtraSpecsNotFound(NotFound):
    msg_fmt = ("Flavor %(flavor_id)s has no extra specs with key "
               "%(extra_specs_key)s.")


# Migrations.

class MigrationNotFound(NotFound):
    msg_fmt = "Migration %(migration_id)s could not be found."


class MigrationStatusChanged(Conflict):
    msg_fmt = ("Migration %(migration_id)s is %(actual)s, expected one of "
               "%(expected)s: another service settled it meanwhile.")


class MigrationDestinationChanged(Conflict):
    msg_fmt = ("Migration %(migration_id)s no longer claims %(host)s (it "
               "is %(actual_status)s, destination %(actual_host)s): it "
               "ended or moved on to another host, so this host's claim is "
               "not recorded.")


class MigrationTakenOver(Conflict):
    msg_fmt = ("Instance %(instance_uuid)s was taken over by %(host)s, its "
               "destination, which started it there: cold migration "
               "%(migration_id)s is not rolled back.")


class MigrationNotFoundByStatus(MigrationNotFound):
    msg_fmt = ("Migration not found for instance %(instance_id)s with "
               "status %(status)s.")


class MigrationPreCheckError(Invalid):
    msg_fmt = "Migration pre-check error: %(reason)s"


class MigrationError(NovaException):
    msg_fmt = "Migration error: %(reason)s"


# Messaging.

class RPCPinnedToOldVersion(NovaException):
    msg_fmt = ("RPC call %(method)s needs version %(needed)s but the "
               "connection is pinned to %(pinned)s: upgrade %(host)s.")


# Database layer (nova.db).

class ComputeNodeExists(Conflict):
    msg_fmt = ("Compute node %(hypervisor_hostname)s on host %(host)s "
               "already exists.")


class MigrationExists(Conflict):
    msg_fmt = "Migration %(uuid)s already exists."


class InstanceUpdateConflict(Conflict):
    msg_fmt = ("Instance %(instance_uuid)s changed while it was being "
               "updated; retry the update.")


class MarkerNotFound(NotFound):
    msg_fmt = "Marker %(marker)s could not be found."


class DBMigrationError(NovaException):
    msg_fmt = "Database schema migration failed: %(reason)s"


# Placement.

class PlacementUnavailable(NovaException):
    """Placement cannot be reached or answered with a server error.

    Not a conflict: the request may well succeed once placement is back,
    and the work that needs it is kept until then.
    """

    msg_fmt = ("Placement unreachable: %(reason)s. Try again when the "
               "placement service answers.")
    code = 503


class PlacementAPIConnectFailure(PlacementUnavailable):
    msg_fmt = ("Placement unreachable: unable to reach the placement service "
               "at %(endpoint)s: %(error)s. Check the [placement] options.")


class PlacementRequestFailed(NovaException):
    msg_fmt = ("Placement answered %(status)s to %(method)s %(url)s: "
               "%(detail)s")


class ResourceProviderUpdateConflict(Conflict):
    msg_fmt = ("Resource provider %(uuid)s changed %(retries)s times while "
               "it was being updated (generation %(generation)s); giving "
               "up.")


class InventoryInUse(Conflict):
    msg_fmt = ("Inventory of %(resource_classes)s on resource provider "
               "%(uuid)s cannot be removed: it is allocated to consumers.")


class AllocationUpdateFailed(Conflict):
    msg_fmt = ("Failed to write the allocations of consumer "
               "%(consumer_uuid)s: %(error)s")


class AllocationMoveFailed(Conflict):
    msg_fmt = ("Failed to move allocations from consumer %(source)s to "
               "%(target)s: %(error)s")


class ConsumerAllocationRetrievalFailed(NovaException):
    msg_fmt = ("Failed to read the allocations of consumer "
               "%(consumer_uuid)s: %(error)s")


# Resource tracker.

class ComputeResourcesUnavailable(NovaException):
    msg_fmt = "Insufficient compute resources: %(reason)s"


class AssignedResourceNotFound(NovaException):
    msg_fmt = ("Instance %(instance_uuid)s holds %(resource_class)s "
               "namespace %(name)s, which this host no longer offers. Put "
               "it back into [libvirt]pmem_namespaces, or move or delete "
               "the instance first.")


# Scheduling.

class NoValidHost(NovaException):
    msg_fmt = "No valid host was found. %(reason)s"


# vpmem namespaces (nova.virt.libvirt.vpmem, nova.virt.hardware).

class GetPMEMNamespacesFailed(NovaException):
    msg_fmt = ("Could not list the persistent memory namespaces of this "
               "host: %(reason)s")


class PMEMNamespaceUnusable(InvalidConfiguration):
    msg_fmt = ("Persistent memory namespace %(name)s cannot be used: "
               "%(reason)s")


class PMEMNamespaceNotOnHost(NotFound):
    msg_fmt = ("Persistent memory namespace %(name)s is not one of this "
               "host's namespaces (%(reason)s); it was left untouched.")


class VPMEMCleanupFailed(NovaException):
    msg_fmt = ("Failed to erase persistent memory namespace %(dev)s: "
               "%(error)s. It stays reserved; fix the cause and erase it "
               "again before it is given to another instance.")


class VPMEMEraseVerifyFailed(NovaException):
    msg_fmt = ("Persistent memory namespace %(dev)s still holds data after "
               "its erase (%(detail)s). It stays reserved; erase it again "
               "and check the erase tool and the device.")

    def __init__(self, message=None, **kwargs):
        # Callers that only know the device still get a complete message.
        kwargs.setdefault('detail', 'the read-back found non-zero bytes')
        super().__init__(message, **kwargs)


class VPMEMEraseIncomplete(NovaException):
    """Some namespaces of one erase request were not erased.

    ``erased`` lists the devices that were erased (and verified), which the
    caller may release; ``failed`` lists ``(device, exception)`` pairs that
    must stay reserved.
    """

    msg_fmt = ("Not every persistent memory namespace could be erased. "
               "Erased: %(erased_names)s. Failed: %(failures)s")

    def __init__(self, message=None, erased=(), failed=(), **kwargs):
        self.erased = list(erased)
        self.failed = list(failed)
        # Devices have .name, tracker Resources .identifier.
        if 'erased_names' not in kwargs:
            kwargs['erased_names'] = ', '.join(
                getattr(d, 'name', None) or getattr(d, 'identifier', '?')
                for d in self.erased) or 'none'
        if 'failures' not in kwargs:
            kwargs['failures'] = ' | '.join(
                str(exc) for _dev, exc in self.failed)
        super().__init__(message, **kwargs)


class InvalidPMEMExtraSpec(Invalid):
    msg_fmt = "Flavor extra spec hw:pmem=%(value)r is invalid: %(reason)s"


class UnknownResourceClasses(NotFound):
    """Placement does not know resource classes a request asked for.

    ``resource_classes`` is the list of them; a label no host ever offered
    is the usual cause.
    """

    msg_fmt = "Placement knows no resource class %(names)s."

    def __init__(self, message=None, **kwargs):
        kwargs.setdefault('names', ', '.join(
            kwargs.get('resource_classes') or ()))
        super().__init__(message, **kwargs)


# libvirt driver

class LibvirtPythonNotInstalled(InvalidConfiguration):
    msg_fmt = ("Libvirt URI %(uri)s needs the libvirt-python package, which "
               "cannot be imported (%(error)s). Install it with 'pip install "
               "libvirt-python' (building it needs 'apt-get install "
               "libvirt-dev pkg-config'), or set [libvirt]connection_uri to "
               "an emulated:// URI.")


class HypervisorUnavailable(NovaException):
    msg_fmt = "Cannot connect to the hypervisor at %(uri)s: %(reason)s"


class VirtDriverNotInitialized(NovaException):
    msg_fmt = ("The %(driver)s compute driver cannot %(action)s before "
               "init_host() has run.")


class InstanceSpawnFailed(NovaException):
    msg_fmt = "Instance %(instance_uuid)s could not be started: %(reason)s"


class InstanceDestroyFailed(NovaException):
    msg_fmt = ("The guest of instance %(instance_uuid)s could not be removed "
               "from the hypervisor: %(reason)s")


class InstancePowerOffFailure(NovaException):
    msg_fmt = ("The guest of instance %(instance_uuid)s could not be "
               "stopped: %(reason)s")


class InstancePowerOnFailure(NovaException):
    msg_fmt = ("The guest of instance %(instance_uuid)s could not be "
               "started again: %(reason)s")


class InstanceNotReady(Conflict):
    msg_fmt = ("Instance %(instance_uuid)s cannot %(method)s: %(reason)s")


class VPMEMResourcesMismatch(Invalid):
    msg_fmt = ("The persistent memory namespaces %(names)s do not match the "
               "flavor's hw:pmem labels %(labels)s: %(reason)s")


class VPMEMEraseRefused(NovaException):
    """An erase request named namespaces that are not this host's.

    Nothing was erased. ``refused`` lists ``(resource, reason)`` pairs.
    """

    msg_fmt = ("Refused to erase persistent memory namespaces on host "
               "%(host)s; nothing was erased: %(reasons)s")

    def __init__(self, message=None, refused=(), **kwargs):
        self.refused = list(refused)
        kwargs.setdefault('reasons', '; '.join(
            '%s: %s' % (getattr(resource, 'identifier', resource), reason)
            for resource, reason in self.refused))
        super().__init__(message, **kwargs)


# live migration (driver)

class LiveMigrationFailed(NovaException):
    msg_fmt = ("Live migration of instance %(instance_uuid)s failed: "
               "%(reason)s")


class LiveMigrationTimedOut(LiveMigrationFailed):
    msg_fmt = ("Live migration of instance %(instance_uuid)s ran past its "
               "completion timeout and was aborted; the guest keeps running "
               "on the source: %(reason)s")


class LiveMigrationAborted(NovaException):
    msg_fmt = ("Live migration of instance %(instance_uuid)s was aborted on "
               "request; the guest keeps running on the source.")


class LiveMigrationNotAbortable(Conflict):
    msg_fmt = ("Live migration of instance %(instance_uuid)s cannot be "
               "aborted: %(reason)s")


class DestinationVPMEMMismatch(Invalid):
    msg_fmt = ("The destination's persistent memory does not fit the guest: "
               "%(reason)s")


class VPMEMCopyFailed(NovaException):
    msg_fmt = ("Copying the persistent memory of instance %(instance_uuid)s "
               "failed: %(reason)s")


# live migration (conductor/API)

class InvalidMigrationState(Invalid):
    msg_fmt = ("Migration %(migration_id)s of instance %(instance_uuid)s is "
               "%(state)s: cannot %(method)s it (possible when: "
               "%(allowed)s).")


# The namespace lifecycle (nova.compute.namespace_lifecycle).

class VPMEMNamespaceNotFound(NotFound):
    msg_fmt = "Persistent memory namespace record %(namespace)s not found."


class VPMEMNamespaceExists(Conflict):
    msg_fmt = ("Persistent memory namespace %(namespace)s already has a "
               "lifecycle record.")


class VPMEMNamespaceStateConflict(Conflict):
    msg_fmt = ("Persistent memory namespace %(namespace)s changed meanwhile: "
               "expected %(expected)s, found %(actual)s; nothing was "
               "written.")


class VPMEMNamespaceNotQuarantined(Invalid):
    msg_fmt = ("Persistent memory namespace %(namespace)s is %(state)s, not "
               "quarantined: there is no erase to retry.")


# Instance actions (nova.compute.instance_actions).

class InstanceActionNotFound(NotFound):
    msg_fmt = ("Action for request %(request_id)s on instance "
               "%(instance_uuid)s could not be found.")


class InstanceActionEventNotFound(NotFound):
    msg_fmt = ("Unfinished event %(event)s of action %(action_id)s could "
               "not be found.")
