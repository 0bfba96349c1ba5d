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

"""The messaging layer: one transport per process, clients and servers.

Every service talks to the others through oslo.messaging RPC. The
transport comes from ``[DEFAULT]transport_url``; its default is
``fake://``, oslo.messaging's in-memory bus, so an all-in-one process
needs no broker. Production deployments set a ``rabbit://`` URL.

Servers use oslo.messaging's threading executor: each incoming message is
handled in a native thread of a pool; nothing here uses eventlet.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts
from oslo_utils import versionutils

import nova.conf
import nova.context
from nova import exception

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

# Topics and exchanges are scoped under this name on the broker.
CONTROL_EXCHANGE = 'nova'

# Exceptions from these modules are re-raised by class on the caller's side,
# so a NovaException raised by a remote manager keeps its type.
ALLOWED_EXMODS = ['nova.exception']

TRANSPORT = None

# binary -> RPC version cap derived from the oldest service of that binary.
# Computing it costs a database query, and the answer only changes when a
# service is upgraded, after which the services are restarted anyway.
_VERSION_CAPS = {}
_VERSION_CAPS_LOCK = threading.Lock()


def register_opts(conf):
    """Register oslo.messaging's transport options with nova's defaults.

    oslo.messaging registers its options only when a transport is built;
    registering them up front lets the configuration file and tests read
    and override ``transport_url`` before :func:`init`.
    """
    # Changes the library's option objects, so it survives conf.clear()
    # (which every parse of the command line does), unlike set_default().
    messaging.set_transport_defaults(control_exchange=CONTROL_EXCHANGE)
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts(opts)


register_opts(CONF)


def transport_url(conf):
    """The URL to connect to: exactly ``[DEFAULT]transport_url``.

    No silent fallback: services in separate processes that quietly used
    an in-process bus would never hear each other. The embedded
    deployment and the tests set ``fake://`` explicitly.
    """
    return conf.transport_url


def init(conf):
    """Create this process's transport from ``conf.transport_url``."""
    global TRANSPORT
    if TRANSPORT is not None:
        cleanup()
    TRANSPORT = messaging.get_rpc_transport(
        conf, url=transport_url(conf),
        allowed_remote_exmods=ALLOWED_EXMODS)


def initialized():
    return TRANSPORT is not None


def cleanup():
    """Close the transport (for fake:// this also drops queued messages)."""
    global TRANSPORT
    if TRANSPORT is None:
        return
    TRANSPORT.cleanup()
    TRANSPORT = None
    reset_version_caps()


def _require_transport():
    if TRANSPORT is None:
        raise RuntimeError('nova.rpc.init() has not been called')
    return TRANSPORT


class RequestContextSerializer(messaging.Serializer):
    """Carry a nova RequestContext and versioned objects across RPC.

    The context becomes a dict on the wire and a
    :class:`nova.context.RequestContext` again on the other side; entities
    (arguments and results) go through the wrapped serializer, normally
    the objects' ``NovaObjectSerializer``.
    """

    def __init__(self, base=None):
        self._base = base

    def serialize_entity(self, context, entity):
        if self._base is None:
            return entity
        return self._base.serialize_entity(context, entity)

    def deserialize_entity(self, context, entity):
        if self._base is None:
            return entity
        return self._base.deserialize_entity(context, entity)

    def serialize_context(self, context):
        return context.to_dict()

    def deserialize_context(self, context):
        return nova.context.RequestContext.from_dict(context)


def get_client(target, version_cap=None, serializer=None):
    """An RPC client for ``target`` (topic + base version)."""
    return messaging.get_rpc_client(
        _require_transport(), target, version_cap=version_cap,
        serializer=RequestContextSerializer(serializer))


class ManagerAccessPolicy(messaging.RPCAccessPolicyBase):
    """Expose a manager's RPC API and nothing else.

    Private names, the service plumbing an endpoint lists in
    ``RPC_HIDDEN`` (``init_host``, ``periodic_tasks``...) and periodic
    tasks are methods of the endpoint object but not part of its API: a
    message naming one gets ``NoSuchMethod``.
    """

    def is_allowed(self, endpoint, method):
        if method.startswith('_'):
            return False
        if method in getattr(endpoint, 'RPC_HIDDEN', ()):
            return False
        func = getattr(endpoint, method, None)
        return not getattr(func, '_periodic_task', False)


def get_server(target, endpoints, serializer=None):
    """An RPC server (threading executor) dispatching to ``endpoints``."""
    return messaging.get_rpc_server(
        _require_transport(), target, endpoints,
        serializer=RequestContextSerializer(serializer),
        access_policy=ManagerAccessPolicy)


def prepare_for_version(client, method, version, server=None, **kwargs):
    """Prepare a call of ``method`` at ``version`` or refuse it.

    Refusing here, with the method and the pin in the message, beats the
    RPC library's generic error and beats sending a message an older
    service would reject.
    """
    if not client.can_send_version(version):
        raise exception.RPCPinnedToOldVersion(
            method=method, needed=version, pinned=client.version_cap,
            host=server or 'the services of topic %s' % client.target.topic)
    return client.prepare(server=server, version=version, **kwargs)


class VersionedAPI:
    """Client-side plumbing shared by the RPC APIs (compute, conductor).

    Subclasses set ``TOPIC``, ``BINARY`` (the service that serves the
    topic), ``HISTORY_KEY`` (its key in ``SERVICE_VERSION_HISTORY``) and
    ``VERSION``, and prepare each call with :meth:`_prepare`, naming the
    version the call needs.
    """

    TOPIC = None
    BINARY = None
    HISTORY_KEY = None
    VERSION = None

    def __init__(self, version_cap=None):
        """``version_cap`` pins the API; by default it follows the oldest
        service of ``BINARY`` recorded in the database."""
        self._version_cap = version_cap
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def client(self):
        # Built on first use: the cap needs the database, and a client made
        # before any server exists would otherwise pin too early.
        with self._client_lock:
            if self._client is None:
                # Imported here to keep this module free of the objects
                # package at import time (objects may use RPC later).
                from nova.objects import base as objects_base

                cap = self._version_cap
                if cap is None:
                    cap = version_cap_for(
                        nova.context.get_admin_context(), self.BINARY,
                        self.HISTORY_KEY, self.VERSION)
                target = messaging.Target(topic=self.TOPIC,
                                          version=self.VERSION)
                self._client = get_client(
                    target, version_cap=cap,
                    serializer=objects_base.NovaObjectSerializer())
            return self._client

    @property
    def version_cap(self):
        return self.client.version_cap

    def can_send_version(self, version):
        return self.client.can_send_version(version)

    def _prepare(self, method, version, server=None, **kwargs):
        if server is not None and self._version_cap is None:
            # A call to one host only needs that host to understand it: one
            # old host elsewhere must not block calls between new ones.
            host_cap = host_version_cap(self.BINARY, self.HISTORY_KEY,
                                        server, self.VERSION)
            if host_cap is not None:
                if not versionutils.is_compatible(version, host_cap,
                                                  same_major=True):
                    raise exception.RPCPinnedToOldVersion(
                        method=method, needed=version, pinned=host_cap,
                        host=server)
                return self.client.prepare(server=server, version=version,
                                           version_cap=host_cap, **kwargs)
        return prepare_for_version(self.client, method, version,
                                   server=server, **kwargs)


def version_cap_for(context, binary, history_key, current_version):
    """The highest RPC version every running ``binary`` service understands.

    The oldest non-forced-down service record of ``binary`` has a service
    version; ``SERVICE_VERSION_HISTORY[version][history_key]`` is the RPC
    API version that service speaks. The result is cached per binary once
    a service has been seen; with no service running yet nothing is cached
    and the cap is this code's own version.
    """
    with _VERSION_CAPS_LOCK:
        if binary in _VERSION_CAPS:
            return _VERSION_CAPS[binary]

    # Imported here: objects import this module's users, not the reverse.
    from nova.objects import service as service_obj

    minimum = service_obj.Service.get_minimum_version(context, binary)
    if not minimum:
        LOG.debug('No %s service has reported a version yet; not pinning '
                  'its RPC API (%s).', binary, current_version)
        return current_version
    cap = _cap_for_service_version(minimum, history_key, current_version)
    LOG.info('%(binary)s RPC API pinned to %(cap)s (oldest service version '
             '%(minimum)s).', {'binary': binary, 'cap': cap,
                               'minimum': minimum})
    with _VERSION_CAPS_LOCK:
        _VERSION_CAPS[binary] = cap
    return cap


def _cap_for_service_version(service_version, history_key,
                             current_version):
    from nova.objects import service as service_obj

    history = service_obj.SERVICE_VERSION_HISTORY
    if service_version >= len(history):
        # Newer than this code knows: it still speaks our version.
        return current_version
    cap = history[service_version][history_key]
    if not versionutils.is_compatible(cap, current_version,
                                      same_major=False):
        return current_version
    return cap


def host_version_cap(binary, history_key, host, current_version):
    """The RPC version the ``binary`` service on ``host`` understands.

    None when the host has no record (the call then follows the
    cloud-wide cap). From the host's own service record, not the oldest
    service's: an upgraded host is used at its new version within
    ``nova.objects.service.RECORDED_VERSION_TTL`` seconds.
    """
    from nova import context as nova_context
    from nova.objects import service as service_obj

    version = service_obj.recorded_version(
        nova_context.get_admin_context(), host, binary)
    if version is None:
        return None
    return _cap_for_service_version(version, history_key, current_version)


def reset_version_caps():
    """Forget cached caps (after an upgrade in tests, or at cleanup)."""
    from nova.objects import service as service_obj

    with _VERSION_CAPS_LOCK:
        _VERSION_CAPS.clear()
    service_obj.forget_recorded_version()
