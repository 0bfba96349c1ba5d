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

"""Pre-flight estimate of a pre-copy live migration: will it converge?

Pure functions, no libvirt connection. The model is QEMU's pre-copy, from
first principles:

* pass 1 sends all the data (guest RAM, vpmem namespaces, local disk of a
  block migration) at the bandwidth in force; every later pass sends what
  the guest dirtied during the pass before it;
* the guest dirties ``dirty rate x (1 - throttle) x pass time`` bytes in a
  pass, never more than all its data;
* the copy stops iterating when what is left can be sent within the
  downtime allowed at that moment (the driver's downtime steps raise it
  over time); the guest is then paused and the rest sent;
* auto-converge, when permitted, throttles the vCPUs as QEMU does: a pass
  whose dirtied bytes exceed half of what it sent counts as "dirty rate
  high", and every second such pass raises the throttle (first to
  ``cpu-throttle-initial``, 20 %, then by ``cpu-throttle-increment``,
  10 %, up to 99 %).

Not modelled: compression, zero-page detection (QEMU sends a zero page in
a few bytes, so a mostly empty guest moves faster than estimated), the
destination's start-up and the switchover itself.
"""

import dataclasses
import math

KiB = 1024
MiB = 1024 ** 2
GiB = 1024 ** 3

MODE_OFF = 'off'
MODE_WARN = 'warn'
MODE_REFUSE = 'refuse'
MODES = (MODE_OFF, MODE_WARN, MODE_REFUSE)

# QEMU's migration parameters (defaults of cpu-throttle-initial,
# cpu-throttle-increment, max-cpu-throttle and
# throttle-trigger-threshold).
THROTTLE_INITIAL = 0.20
THROTTLE_INCREMENT = 0.10
THROTTLE_MAX = 0.99
THROTTLE_TRIGGER = 0.50
# Passes whose dirtying stays high before QEMU raises the throttle.
HIGH_PASSES_PER_STEP = 2
# An estimate that needs more passes than this is "does not converge".
MAX_ITERATIONS = 10000
# The guest page size libvirt assumes when jobStats does not say.
PAGE_SIZE = 4096
# libvirt's virDomainDirtyRateStatus.
DIRTYRATE_MEASURED = 2
# What libvirt's QEMU driver reports as the max migration speed (MiB/s)
# when none is set: INT64_MAX bytes/s in MiB.
UNLIMITED_MIB = (2 ** 63 - 1) >> 20


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What the estimate starts from (bytes, seconds, bytes/s)."""

    data_bytes: int                 # RAM + vpmem (+ block-migrated disk)
    dirty_rate: float               # bytes/s the guest dirties, unthrottled
    bandwidth: float                # bytes/s the copy may use
    downtime_steps: tuple = ((0, 500),)   # ((seconds after start, ms), ...)
    auto_converge: bool = False
    completion_timeout: float = 0   # seconds; 0: no limit
    bandwidth_assumed: bool = False  # unlimited: an assumed link speed
    # False: dirty_rate is the worst case (every byte each pass), not a
    # measurement; see converges_at_any_rate().
    rate_measured: bool = True
    throttle_initial: float = THROTTLE_INITIAL
    throttle_increment: float = THROTTLE_INCREMENT


@dataclasses.dataclass(frozen=True)
class Estimate:
    """The outcome; ``text`` is one line for logs and users."""

    converges: bool
    iterations: int
    seconds: float                  # predicted copy time (to the end or
                                    # to where it was given up)
    reason: str = None              # why it cannot converge
    throttle: float = 0.0           # auto-converge throttle at the end
    inputs: Inputs = None

    @property
    def text(self):
        return describe(self)


def downtime_at(steps, elapsed):
    """The downtime (seconds) allowed ``elapsed`` seconds into the copy."""
    allowed = None
    for start, ms in sorted(steps):
        if allowed is None or start <= elapsed:
            allowed = ms / 1000.0
        else:
            break
    return allowed or 0.0


def converges_at_any_rate(inputs):
    """The estimate without measuring the dirty rate, or None.

    The worst a guest can do is dirty all its data during every pass, so
    that each pass sends everything again. When, even so, the downtime
    allowed at the end of some pass (the driver's downtime steps raise it
    over time) covers sending all the data, within the completion budget,
    it converges whatever it writes: no measurement can change the
    verdict, so the driver skips the one it would wait for. The time is
    then an upper bound. ``inputs.dirty_rate`` is ignored; None when the
    rate matters.
    """
    data = max(float(inputs.data_bytes), 0.0)
    bandwidth = float(inputs.bandwidth)
    if bandwidth <= 0:
        return None
    pass_seconds = data / bandwidth
    worst = dataclasses.replace(inputs, dirty_rate=bandwidth,
                                rate_measured=False)
    if not pass_seconds:
        return Estimate(True, 1, 0.0, inputs=worst)
    passes = None
    for start, ms in inputs.downtime_steps:
        if ms / 1000.0 < pass_seconds:
            continue
        # The first pass to end once this step is in force.
        ending = max(1, math.ceil(start / pass_seconds))
        if passes is None or ending < passes:
            passes = ending
    if passes is None:
        return None
    seconds = passes * pass_seconds
    budget = inputs.completion_timeout or 0
    if budget and seconds > budget:
        return None
    return Estimate(True, passes, seconds + pass_seconds, inputs=worst)


def _raise_throttle(throttle, inputs):
    if not throttle:
        return min(inputs.throttle_initial, THROTTLE_MAX)
    return min(throttle + inputs.throttle_increment, THROTTLE_MAX)


def estimate(inputs):
    """Simulate the passes; returns an :class:`Estimate`."""
    data = max(float(inputs.data_bytes), 0.0)
    rate = max(float(inputs.dirty_rate), 0.0)
    bandwidth = float(inputs.bandwidth)
    budget = inputs.completion_timeout or 0
    if bandwidth <= 0:
        return Estimate(False, 0, 0.0, reason='no bandwidth to copy with',
                        inputs=inputs)
    last_step = max((s for s, _ms in inputs.downtime_steps), default=0)
    elapsed = 0.0
    to_send = data
    throttle = 0.0
    high_passes = 0
    for iteration in range(1, MAX_ITERATIONS + 1):
        pass_seconds = to_send / bandwidth
        elapsed += pass_seconds
        dirtied = min(rate * (1.0 - throttle) * pass_seconds, data)
        allowed = downtime_at(inputs.downtime_steps, elapsed)
        converged = dirtied / bandwidth <= allowed
        if converged and budget and elapsed + dirtied / bandwidth > budget:
            # It would converge, but the completion timeout comes first.
            return Estimate(False, iteration, elapsed + dirtied / bandwidth,
                            reason='the copy takes %.1f s, past the %.0f s '
                                   'budget' % (elapsed + dirtied / bandwidth,
                                               budget),
                            throttle=throttle, inputs=inputs)
        if converged:
            return Estimate(True, iteration, elapsed + dirtied / bandwidth,
                            throttle=throttle, inputs=inputs)
        if budget and elapsed > budget:
            return Estimate(False, iteration, elapsed,
                            reason=_why_not(inputs, throttle, dirtied,
                                            allowed),
                            throttle=throttle, inputs=inputs)
        if inputs.auto_converge and dirtied > THROTTLE_TRIGGER * to_send:
            high_passes += 1
            if high_passes >= HIGH_PASSES_PER_STEP:
                high_passes = 0
                throttle = _raise_throttle(throttle, inputs)
        throttle_done = not inputs.auto_converge or throttle >= THROTTLE_MAX
        if (dirtied >= to_send and throttle_done and elapsed >= last_step):
            # Nothing left to change: every pass sends as much as the one
            # before, forever.
            return Estimate(False, iteration, elapsed,
                            reason=_why_not(inputs, throttle, dirtied,
                                            allowed),
                            throttle=throttle, inputs=inputs)
        to_send = dirtied
    return Estimate(False, MAX_ITERATIONS, elapsed,
                    reason='still %s left after %d passes' % (
                        _size(to_send), MAX_ITERATIONS),
                    throttle=throttle, inputs=inputs)


def _why_not(inputs, throttle, dirtied, allowed):
    # Short: the fault a user reads keeps 255 characters.
    rate = inputs.dirty_rate * (1.0 - throttle)
    if rate >= inputs.bandwidth:
        if not inputs.auto_converge:
            return ('dirty rate %s >= bandwidth %s, auto-converge not '
                    'permitted' % (_rate(inputs.dirty_rate),
                                   _rate(inputs.bandwidth)))
        return ('dirty rate %s >= bandwidth %s even with the vCPUs '
                'throttled by %d%%' % (_rate(rate), _rate(inputs.bandwidth),
                                       round(throttle * 100)))
    budget = ('within the %.0f s budget' % inputs.completion_timeout
              if inputs.completion_timeout
              else 'in %d passes' % MAX_ITERATIONS)
    return ('the %s left dirty never fits the %d ms downtime %s' % (
        _size(dirtied), round(allowed * 1000), budget))


def _size(nbytes):
    if nbytes >= GiB:
        return '%.2f GiB' % (nbytes / GiB)
    if nbytes >= MiB:
        return '%.1f MiB' % (nbytes / MiB)
    return '%d KiB' % round(nbytes / KiB)


def _rate(bps):
    return '%.1f MiB/s' % (bps / MiB)


def describe(result):
    """One line, verdict first, for logs, faults and action events."""
    inputs = result.inputs
    if result.converges and inputs is not None and not inputs.rate_measured:
        verdict = ('predicted to converge within %.1f s whatever the guest '
                   'writes' % result.seconds)
    elif result.converges:
        throttled = (', throttled by %d%%' % round(result.throttle * 100)
                     if result.throttle else '')
        verdict = 'predicted to converge in %d passes, %.1f s%s' % (
            result.iterations, result.seconds, throttled)
    else:
        verdict = ('predicted NOT to converge: %s (%.1f s, %d passes '
                   'estimated)' % (result.reason, result.seconds,
                                   result.iterations))
    if inputs is None:
        return verdict
    max_ms = max((ms for _s, ms in inputs.downtime_steps), default=0)
    dirtying = (_rate(inputs.dirty_rate) if inputs.rate_measured else
                'not measured (not needed)')
    return ('%s; %s to copy at %s%s, guest dirtying %s, downtime up to '
            '%d ms, auto-converge %s, budget %s' % (
                verdict, _size(inputs.data_bytes), _rate(inputs.bandwidth),
                ' (assumed link speed)' if inputs.bandwidth_assumed else '',
                dirtying, max_ms,
                'permitted' if inputs.auto_converge else 'off',
                '%.0f s' % inputs.completion_timeout
                if inputs.completion_timeout else 'none'))


# -- inputs from libvirt --------------------------------------------------

def dirty_rate_from_stats(stats):
    """Bytes/s from a domain's ``dirtyrate.*`` stats, or None.

    libvirt reports ``dirtyrate.megabytes_per_second`` (MiB/s, an integer:
    rates below 1 MiB/s read as 0) once ``dirtyrate.calc_status`` is
    measured (2).
    """
    stats = stats or {}
    if stats.get('dirtyrate.calc_status') != DIRTYRATE_MEASURED:
        return None
    value = stats.get('dirtyrate.megabytes_per_second')
    if value is None:
        return None
    return float(value) * MiB


def dirty_rate_from_job_stats(stats, passes=1):
    """Bytes/s the guest dirtied during the migration's last pass, from
    ``jobStats()``, once ``passes`` passes are over; else None.

    libvirt reports ``memory_dirty_rate`` in pages per second and
    ``memory_page_size`` in bytes; ``memory_iteration`` is QEMU's
    dirty-sync count: 1 while the first pass copies all of memory, one
    more at the end of each pass.
    """
    stats = stats or {}
    if (stats.get('memory_iteration') or 0) < passes + 1:
        return None
    pages = stats.get('memory_dirty_rate')
    if pages is None:
        return None
    return float(pages) * float(stats.get('memory_page_size') or PAGE_SIZE)


def bandwidth_in_force(option_mib, domain_max_mib, unlimited_mib,
                       link_speed_mib):
    """``(bytes/s, assumed)``: what the copy may use.

    ``option_mib``: ``[libvirt]live_migration_bandwidth`` (0: none);
    ``domain_max_mib``: the domain's max migration speed (libvirt's
    ``unlimited_mib`` when none is set). Without either, the copy runs as
    fast as the link allows, so ``link_speed_mib`` is assumed.
    """
    if option_mib and option_mib > 0:
        return option_mib * float(MiB), False
    if domain_max_mib and 0 < domain_max_mib < unlimited_mib:
        return domain_max_mib * float(MiB), False
    return max(link_speed_mib, 1) * float(MiB), True
