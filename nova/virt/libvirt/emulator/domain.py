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

# ruff: noqa: N802 - libvirt-python's method names are the API

"""virDomain: libvirt-python's domain handle over an emulated guest.

A handle names a guest by uuid on one host, as libvirt's does: once the
guest is gone (undefined, or migrated away with UNDEFINE_SOURCE) every call
raises VIR_ERR_NO_DOMAIN, and a new lookup is needed.
"""

import time
import uuid as uuidlib

from nova.virt.libvirt.emulator import constants as c
from nova.virt.libvirt.emulator import errors
from nova.virt.libvirt.emulator import migration
from nova.virt.libvirt.emulator import xmlcheck

KiB = 1024
MiB = 1024 * KiB


class virDomain:  # noqa: N801 - libvirt-python's name
    def __init__(self, conn, host, dom_uuid, name):
        self._conn = conn
        self._host = host
        self._uuid = dom_uuid
        self._name = name

    def __repr__(self):
        return '<emulated virDomain %s (%s) on %s>' % (
            self._name, self._uuid, self._host.name)

    def _guest(self):
        self._conn._check_open()
        with self._host.lock:
            guest = self._host.guests.get(self._uuid)
        if guest is None:
            raise errors.no_domain_uuid(self._uuid, self._name)
        return guest

    # -- identity -------------------------------------------------------------

    def connect(self):
        return self._conn

    def name(self):
        return self._guest().name

    def UUIDString(self):
        return self._uuid

    def UUID(self):
        return uuidlib.UUID(self._uuid).bytes

    def ID(self):
        return self._guest().dom_id

    def OSType(self):
        return 'hvm'

    # -- description ----------------------------------------------------------

    def XMLDesc(self, flags=0):
        guest = self._guest()
        with self._host.lock:
            if flags & c.VIR_DOMAIN_XML_INACTIVE and guest.persistent:
                return xmlcheck.render(guest.config)
            spec = guest.spec
            live = guest.active and not (
                flags & (c.VIR_DOMAIN_XML_MIGRATABLE |
                         c.VIR_DOMAIN_XML_INACTIVE))
            return xmlcheck.render(spec, dom_id=guest.dom_id, live=live)

    def info(self):
        guest = self._guest()
        with self._host.lock:
            spec = guest.spec
            return [guest.state, spec.memory // KiB,
                    spec.current_memory // KiB, spec.vcpus,
                    guest.cpu_time_ns()]

    def state(self, flags=0):
        guest = self._guest()
        return [guest.state, guest.reason]

    def isActive(self):
        return 1 if self._guest().active else 0

    def isPersistent(self):
        return 1 if self._guest().persistent else 0

    def isUpdated(self):
        return 0

    def maxMemory(self):
        return self._guest().spec.memory // KiB

    def maxVcpus(self):
        return self._guest().spec.vcpus

    def autostart(self):
        return 1 if self._guest().autostart else 0

    def setAutostart(self, autostart):
        guest = self._guest()
        if not guest.persistent:
            raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                               'cannot set autostart for transient domain')
        guest.autostart = bool(autostart)
        self._host.save(guest)
        return 0

    def hasManagedSaveImage(self, flags=0):
        self._guest()
        return 0

    def managedSaveRemove(self, flags=0):
        self._guest()
        return 0

    # -- lifecycle ------------------------------------------------------------

    def create(self):
        return self.createWithFlags(0)

    def createWithFlags(self, flags=0):
        self._guest()
        self._host.start(self._uuid,
                         paused=bool(flags & c.VIR_DOMAIN_START_PAUSED))
        return 0

    def destroy(self):
        return self.destroyFlags(0)

    def destroyFlags(self, flags=0):
        self._guest()
        self._host.destroy(self._uuid)
        return 0

    def shutdown(self):
        return self.shutdownFlags(0)

    def shutdownFlags(self, flags=0):
        # The emulated guest OS obeys ACPI power-off at once, unless its
        # host is configured with acpi_shutdown=False (an OS that ignores
        # it). A paused guest's vCPUs cannot act on it: libvirt accepts the
        # request and the guest stays as it is.
        guest = self._guest()
        if not guest.active:
            raise errors.not_running()
        if (guest.state == c.VIR_DOMAIN_PAUSED or
                not self._host.acpi_shutdown):
            return 0
        self._host.destroy(self._uuid, reason=c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        return 0

    def reboot(self, flags=0):
        if not self._guest().active:
            raise errors.not_running()
        return 0

    def reset(self, flags=0):
        return self.reboot(flags)

    def undefine(self):
        return self.undefineFlags(0)

    def undefineFlags(self, flags=0):
        self._guest()
        self._host.undefine(self._uuid)
        return 0

    def suspend(self):
        self._guest()
        self._host.suspend(self._uuid)
        return 0

    def resume(self):
        self._guest()
        self._host.resume(self._uuid)
        return 0

    # -- jobs -----------------------------------------------------------------

    def _running_job(self, guest):
        if guest.job is not None:
            return guest.job, c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT
        if guest.incoming is not None:
            return guest.incoming, c.VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN
        return None, None

    def jobStats(self, flags=0):
        guest = self._guest()
        if flags & c.VIR_DOMAIN_JOB_STATS_COMPLETED:
            with self._host.lock:
                stats = guest.completed_job
                # libvirt drops completed stats once read, unless asked
                # to keep them.
                if not flags & c.VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED:
                    guest.completed_job = None
            return dict(stats) if stats else {'type': c.VIR_DOMAIN_JOB_NONE}
        job, operation = self._running_job(guest)
        if job is None:
            # libvirt asks the running QEMU; a shut off guest has none
            # (drivers take this as "the migration is over").
            if not guest.active:
                raise errors.not_running()
            return {'type': c.VIR_DOMAIN_JOB_NONE}
        return job.stats(operation)

    def jobInfo(self):
        guest = self._guest()
        job, _operation = self._running_job(guest)
        if job is None:
            if not guest.active:
                raise errors.not_running()
            return [c.VIR_DOMAIN_JOB_NONE] + [0] * 11
        return job.info()

    def abortJob(self):
        return self.abortJobFlags(0)

    def abortJobFlags(self, flags=0):
        guest = self._guest()
        if guest.incoming is not None:
            raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                               'cannot abort incoming migration; use '
                               'virDomainDestroy instead')
        job = guest.job
        if job is None:
            if not guest.active:
                raise errors.not_running()
            raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                               'no job is active on the domain')
        job.request_abort()
        return 0

    # -- dirty rate (libvirt >= 7.2) -----------------------------------------

    def startDirtyRateCalc(self, seconds, flags=0):
        """Measure the guest's dirty rate over ``seconds`` (page
        sampling; the result is the ``dirtyrate.*`` stats group)."""
        guest = self._guest()
        if flags & ~c.VIR_DOMAIN_DIRTYRATE_MODE_PAGE_SAMPLING:
            raise errors.error(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                               'the emulated host measures the dirty rate '
                               'by page sampling only')
        if not 1 <= int(seconds) <= 60:
            raise errors.error(c.VIR_ERR_INVALID_ARG,
                               'seconds must be between 1 and 60')
        if not guest.active:
            raise errors.not_running()
        with self._host.lock:
            guest.dirtyrate_calc = (int(time.time()), int(seconds),
                                    time.monotonic() + int(seconds))
            guest.dirtyrate_mib = None
            load = guest.workload
        if load is not None:
            load.start_rate_window(int(seconds))
        return 0

    def dirtyrate_stats(self):
        """The ``dirtyrate.*`` keys of this domain, as libvirt names
        them; ``megabytes_per_second`` once measured (MiB/s, whole)."""
        guest = self._guest()
        with self._host.lock:
            calc = guest.dirtyrate_calc
            load = guest.workload
        if calc is None:
            return {'dirtyrate.calc_status':
                    c.VIR_DOMAIN_DIRTYRATE_UNSTARTED}
        start, period, ends = calc
        stats = {'dirtyrate.calc_start_time': start,
                 'dirtyrate.calc_period': period,
                 'dirtyrate.calc_mode': 'page-sampling'}
        if time.monotonic() < ends:
            stats['dirtyrate.calc_status'] = c.VIR_DOMAIN_DIRTYRATE_MEASURING
            return stats
        if guest.dirtyrate_mib is None:
            dirtied = load.rate_window_bytes() if load is not None else 0
            guest.dirtyrate_mib = int(dirtied / period / MiB)
        stats['dirtyrate.calc_status'] = c.VIR_DOMAIN_DIRTYRATE_MEASURED
        stats['dirtyrate.megabytes_per_second'] = guest.dirtyrate_mib
        return stats

    # -- migration ------------------------------------------------------------

    def migrateToURI3(self, dconnuri, params=None, flags=0):
        self._guest()
        migration.migrate(self._host, self._uuid, dconnuri, params or {},
                          flags)
        return 0

    def migrateSetMaxDowntime(self, downtime, flags=0):
        guest = self._guest()
        if downtime < 0:
            raise errors.error(c.VIR_ERR_INVALID_ARG,
                               'downtime must be positive')
        guest.max_downtime_ms = int(downtime)
        return 0

    def migrateGetMaxDowntime(self, flags=0):
        return self._guest().max_downtime_ms

    def migrateSetMaxSpeed(self, bandwidth, flags=0):
        guest = self._guest()
        if flags & c.VIR_DOMAIN_MIGRATE_MAX_SPEED_POSTCOPY:
            return 0
        if bandwidth < 0:
            raise errors.error(c.VIR_ERR_INVALID_ARG,
                               'bandwidth must be positive')
        guest.max_speed_mib = int(bandwidth) or None
        job = guest.job
        if job is not None:
            job.speed_mib = guest.max_speed_mib
        return 0

    def migrateGetMaxSpeed(self, flags=0):
        guest = self._guest()
        job = guest.job
        speed = job.speed_mib if job is not None else guest.max_speed_mib
        return speed or c.MIGRATE_MAX_SPEED_UNLIMITED

    def migrateStartPostCopy(self, flags=0):
        guest = self._guest()
        if guest.job is None:
            raise errors.error(c.VIR_ERR_OPERATION_INVALID,
                               'post-copy can only be started while '
                               'outgoing migration is in progress')
        guest.job.request_postcopy()
        return 0
