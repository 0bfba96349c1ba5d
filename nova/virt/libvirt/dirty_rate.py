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

"""A guest's memory dirty rate, measured by libvirt for the pre-flight
estimate of a live migration.

libvirt (>= 7.2) measures over whole seconds (virDomainStartDirtyRateCalc,
QEMU's page sampling) and reports the result in the domain's
``dirtyrate.*`` stats. The measurement must start before a migration job
(it is a modifying job, which libvirt refuses while one runs), but it may
be read while the job runs, on a connection of its own: a stats read on
the connection that runs ``migrateToURI3`` waits for the job's end (seen
with libvirt 9.0).
"""

import time

from nova.virt.libvirt import preflight

# Seconds a measurement may take beyond its period before we give up.
GRACE_SECONDS = 5
POLL_SECONDS = 0.1


def start(libvirt, domain, seconds):
    """Start measuring over ``seconds``; None, or why it cannot be."""
    if getattr(libvirt, 'VIR_DOMAIN_STATS_DIRTYRATE', None) is None or \
            not hasattr(domain, 'startDirtyRateCalc'):
        return ('this libvirt cannot measure a dirty rate (libvirt >= 7.2 '
                'needed)')
    try:
        domain.startDirtyRateCalc(seconds)
    except libvirt.libvirtError as exc:
        return 'the hypervisor cannot measure the dirty rate: %s' % exc
    return None


def read(libvirt, conn, domain, seconds, wait=time.sleep,
         clock=time.monotonic, ended=None):
    """``(bytes/s, None)`` once measured, or ``(None, why not)``.

    Waits out the period, then reads the stats until they hold a result.
    ``wait(seconds)`` may return early (a migration job's wait does when
    the job ends); ``ended()``, when given, says the guest left this host,
    so no result will come.
    """
    deadline = clock() + seconds + GRACE_SECONDS
    wait(seconds)
    while True:
        if ended is not None and ended():
            return None, ('the migration ended before the %d s dirty-rate '
                          'sample did' % seconds)
        try:
            found = conn.domainListGetStats(
                [domain], libvirt.VIR_DOMAIN_STATS_DIRTYRATE)
        except libvirt.libvirtError as exc:
            if ended is not None and ended():
                continue        # gone with the migration: said above
            return None, 'the hypervisor cannot measure the dirty rate: ' \
                '%s' % exc
        rate = preflight.dirty_rate_from_stats(found[0][1]) if found \
            else None
        if rate is not None:
            return rate, None
        if clock() > deadline:
            return None, ('the dirty rate was not measured within %d s'
                          % (seconds + GRACE_SECONDS))
        wait(POLL_SECONDS)
