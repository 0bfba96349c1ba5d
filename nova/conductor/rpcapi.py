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

"""Client side of the conductor RPC API.

Calls go to the ``conductor`` topic without a server name: any running
conductor may take a request.
"""

from nova import rpc

RPC_TOPIC = 'conductor'


class ConductorAPI(rpc.VersionedAPI):
    """Client side of the conductor RPC API.

    API version history:

        * 1.0 - Initial version: ping
        * 1.1 - build_instances
        * 1.2 - live_migrate_instance
        * 1.3 - migrate_server
        * 1.4 - live_migrate_instance: async_, for a cast (compute API
          2.34+): the conductor records a refusal (migration 'error',
          the action's failed event) instead of raising it to a caller

    A new method or argument bumps the minor version here, in
    ``ConductorManager.target`` and in
    ``nova.objects.service.SERVICE_VERSION_HISTORY``.
    """

    TOPIC = RPC_TOPIC
    BINARY = 'nova-conductor'
    HISTORY_KEY = 'conductor_rpc'
    VERSION = '1.4'

    def ping(self, ctxt, arg, timeout=None):
        """Round trip to any conductor: ``{'host': its host, 'arg': arg}``."""
        cctxt = self._prepare('ping', '1.0', timeout=timeout)
        return cctxt.call(ctxt, 'ping', arg=arg)

    def build_instances(self, ctxt, instance, image_meta=None):
        """Schedule ``instance`` and have its host build it (cast)."""
        cctxt = self._prepare('build_instances', '1.1')
        cctxt.cast(ctxt, 'build_instances', instance=instance,
                   image_meta=image_meta)

    def live_migrate_instance(self, ctxt, instance, migration, host=None,
                              force=False, block_migration=False,
                              async_=False):
        """Run the live migration prechecks and start it.

        By default a call: returns once the source compute was told to
        migrate; raises the precheck's error (MigrationPreCheckError,
        NoValidHost) otherwise. With ``async_`` a cast: the checks run in
        the background and a refusal is only recorded (migration 'error',
        a failed ``conductor_live_migrate_instance`` event).
        """
        kwargs = dict(instance=instance, migration=migration, host=host,
                      force=force, block_migration=block_migration)
        if not async_:
            cctxt = self._prepare('live_migrate_instance', '1.2')
            return cctxt.call(ctxt, 'live_migrate_instance', **kwargs)
        if self.can_send_version('1.4'):
            cctxt = self._prepare('live_migrate_instance', '1.4')
            cctxt.cast(ctxt, 'live_migrate_instance', async_=True, **kwargs)
        else:
            # A conductor older than 1.4 runs the same task and records
            # a refusal as well; it then raises it into its own log only.
            cctxt = self._prepare('live_migrate_instance', '1.2')
            cctxt.cast(ctxt, 'live_migrate_instance', **kwargs)
        return None

    def migrate_server(self, ctxt, instance, migration, host=None,
                       image_meta=None):
        """Run the cold migration prechecks and start it (call).

        Returns once the source compute was told to migrate; raises the
        precheck's error (MigrationPreCheckError, NoValidHost) otherwise.
        """
        cctxt = self._prepare('migrate_server', '1.3')
        return cctxt.call(ctxt, 'migrate_server', instance=instance,
                          migration=migration, host=host,
                          image_meta=image_meta)
