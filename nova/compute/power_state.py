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

"""The power state of a guest as the hypervisor reports it.

These integers are stored in ``instances.power_state`` and shown by the
API (``OS-EXT-STS:power_state``). They follow libvirt's domain states
where libvirt has one, so the driver maps them without a table of
surprises; values libvirt has no use for here are left out.
"""

NOSTATE = 0x00
RUNNING = 0x01
PAUSED = 0x03
# The guest shut down (libvirt's "shutoff" is reported as SHUTDOWN too).
SHUTDOWN = 0x04
CRASHED = 0x06
SUSPENDED = 0x07

# Names for logs and the API's extended status.
STATE_MAP = {
    NOSTATE: 'pending',
    RUNNING: 'running',
    PAUSED: 'paused',
    SHUTDOWN: 'shutdown',
    CRASHED: 'crashed',
    SUSPENDED: 'suspended',
}
