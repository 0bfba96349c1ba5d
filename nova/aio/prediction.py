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

"""The demo's prediction: the product's pre-flight estimator, fed with
what the demo knows before it asks for the migration.

The inputs are the ones the libvirt driver computes (RAM + vpmem, the
bandwidth in force, the downtime steps, auto-converge, the completion
budget) from the same options, with the guest's dirty rate as the demo
knows it: the rate it gave the emulated guest's writer, or the stamp
guest's own pace measured from its control page.
"""

from nova.virt.libvirt import migration as lm
from nova.virt.libvirt import preflight

MiB = 1 << 20


def inputs(conf, ram_mb, vpmem_bytes, dirty_rate, budget):
    """preflight.Inputs of the demo's migration (bytes, bytes/s, s)."""
    opts = conf.libvirt
    gib = lm.data_gib(ram_mb, 0, vpmem_bytes)
    bandwidth, assumed = preflight.bandwidth_in_force(
        opts.live_migration_bandwidth, None, preflight.UNLIMITED_MIB,
        opts.live_migration_preflight_link_speed)
    return preflight.Inputs(
        data_bytes=int(gib * lm.GiB), dirty_rate=float(dirty_rate),
        bandwidth=bandwidth,
        downtime_steps=tuple(lm.downtime_steps(
            opts.live_migration_downtime, opts.live_migration_downtime_steps,
            opts.live_migration_downtime_delay, gib)),
        auto_converge=bool(opts.live_migration_permit_auto_converge),
        completion_timeout=budget, bandwidth_assumed=assumed)


def predict(conf, ram_mb, vpmem_bytes, dirty_rate, budget):
    """The estimator's Estimate (``converges``, ``seconds``, ``text``)."""
    return preflight.estimate(inputs(conf, ram_mb, vpmem_bytes, dirty_rate,
                                     budget))


def compare(estimate, actual_seconds):
    """One line: predicted against actual time."""
    if estimate is None:
        return None
    if not estimate.converges:
        return ('predicted not to converge; actual %.1f s' % actual_seconds)
    if not estimate.seconds:
        return 'predicted %.1f s, actual %.1f s' % (estimate.seconds,
                                                    actual_seconds)
    return 'predicted %.1f s, actual %.1f s (%+.0f%%)' % (
        estimate.seconds, actual_seconds,
        (actual_seconds - estimate.seconds) * 100.0 / estimate.seconds)
