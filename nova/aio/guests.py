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

"""The demo's guest, on emulated or real hosts.

On emulated hosts the guest is the emulator's workload: the demo writes a
known pattern into its namespaces, the workload keeps writing stamped
pages into them, and the handover (``guest_data.Handover``) records the
source's final contents. On real hosts the guest is the stamp guest, a
kernel that keeps writing every page of its vpmem itself (at the pace
its kernel command line sets, or its own); afterwards the demo asks it
to stop and checks its stamps on the destination.
"""

import time

from nova.aio import checks
from nova.aio import guest_data
from nova.virt.libvirt import emulator

PAGE = 4096


class EmulatedGuest:
    image = 'cirros'

    def __init__(self, dirty_pages_per_second):
        self.rate = dirty_pages_per_second
        self.workload = None
        self.handover = None
        self.written_before = 0

    @staticmethod
    def open(uri):
        return emulator.open(uri)

    def prepare(self, console, server_id, source, paths):
        for index, path in enumerate(paths):
            guest_data.write_pattern(path, '%s-%d' % (server_id[:8], index))
        console.print('wrote a known pattern into %d namespace(s) of %s' % (
            len(paths), checks.human_bytes(guest_data.file_size(paths[0]))))
        self.workload = emulator.get_host(source).set_workload(
            server_id, dirty_pages_per_second=self.rate)
        self.handover = guest_data.Handover(self.workload, paths)
        console.print('guest writer started: %d pages/s (%s/s) into its '
                      'vpmem' % (self.rate,
                                 checks.human_bytes(self.rate * PAGE)))

    def dirty_rate(self):
        """Bytes/s the writer dirties (what it was asked for)."""
        return self.rate * PAGE

    def migration_starts(self):
        self.written_before = self.workload.pages_written

    def content_facts(self, completed, dest_paths):
        lost = None
        if completed:
            lost = sum(len(self.workload.verify(path)[1])
                       for path in dest_paths)
        written = (self.handover.pages_written
                   if self.handover.pages_written is not None
                   else self.workload.pages_written)
        return {'source_final_digests': self.handover.digests or [],
                'dest_digests': [guest_data.sha256(p) for p in dest_paths],
                'writer_rate': self.rate,
                'pages_written': written - self.written_before,
                'pages_lost': lost}


class RealGuest:
    """The stamp guest on real local libvirt hosts (``real_hosts``)."""

    image = None    # set from the hosts' image catalog

    def __init__(self, hosts):
        self.hosts = hosts
        self.image = hosts.image_name
        self.paths = []

    @staticmethod
    def open(uri):
        import libvirt
        return libvirt.open(uri)

    def prepare(self, console, server_id, source, paths):
        self.paths = list(paths)
        pace = self.hosts.pages_per_second
        console.print('the stamp guest writes every page of its %d '
                      'namespace(s) itself, %s' % (
                          len(paths), 'at most %d pages/s' % pace if pace
                          else 'at its own pace'))

    def dirty_rate(self, seconds=1.0):
        """Bytes/s the stamp guest writes, measured from its control page
        (it sets its own pace)."""
        before = self.hosts.pages_written(self.paths[0])
        began = time.monotonic()
        time.sleep(seconds)
        pages = self.hosts.pages_written(self.paths[0]) - before
        return pages * PAGE / (time.monotonic() - began)

    def migration_starts(self):
        pass

    def content_facts(self, completed, dest_paths):
        facts = {'dest_digests': [], 'source_final_digests': [],
                 'writer_rate': 0}
        if not completed or not dest_paths:
            facts['content_check'] = checks.Check(
                checks.GUEST_STAMPS, False, 'the guest did not arrive')
            return facts
        self.hosts.stop_guest_writes(dest_paths[0])
        result = self.hosts.verify(dest_paths)
        facts['content_check'] = checks.Check(
            checks.GUEST_STAMPS, bool(result.ok), str(result))
        facts['dest_digests'] = [guest_data.sha256(p) for p in dest_paths]
        return facts
