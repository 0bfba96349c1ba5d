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

"""The OpenStack services of a multinode deployment: configs and PIDs.

Two halves, both free of side effects beyond the files they are given:

* configuration: the ini files of placement, nova-conductor, nova-api
  and each nova-compute, rendered from plain dictionaries so a unit test
  can read exactly what a service would;
* bookkeeping: :class:`PidBook` keeps ``pids.json``, the record of every
  process the deployment started (PID, its start time in clock ticks,
  argv, namespace). A process is only ever signalled when its PID still
  names the process recorded (same start time), so a PID reused by the
  system after a crash is never hit.
"""

import contextlib
import json
import os
import signal
import subprocess
import time

# Seconds between SIGTERM and SIGKILL when a service is stopped.
STOP_TIMEOUT = 20


# -- configuration ------------------------------------------------------------

def _value(value):
    if isinstance(value, bool):
        return 'True' if value else 'False'
    if isinstance(value, (list, tuple)):
        return ','.join(str(item) for item in value)
    return str(value)


def render_ini(sections):
    """``{section: {option: value}}`` as ini text, in the given order.

    Lists become comma-separated, booleans True/False; a None value
    leaves the option out (the service's default applies).
    """
    lines = []
    for section, options in sections.items():
        kept = {k: v for k, v in options.items() if v is not None}
        if not kept:
            continue
        if lines:
            lines.append('')
        lines.append('[%s]' % section)
        lines.extend('%s = %s' % (key, _value(value))
                     for key, value in kept.items())
    return '\n'.join(lines) + '\n'


def overrides_to_sections(overrides):
    """``{(group, option): value}`` (conf_overrides()) as sections; a
    None group is [DEFAULT]."""
    sections = {}
    for (group, option), value in overrides.items():
        sections.setdefault(group or 'DEFAULT', {})[option] = value
    return sections


def merge(*parts):
    """Section dictionaries merged left to right (later options win)."""
    merged = {}
    for part in parts:
        for section, options in part.items():
            merged.setdefault(section, {}).update(options)
    return merged


def placement_sections(connection, log_file, authtoken=None):
    """``authtoken``: the ``[keystone_authtoken]`` options, for Keystone
    (None: noauth2)."""
    return {
        'DEFAULT': {'log_file': log_file},
        'api': {'auth_strategy': 'keystone' if authtoken else 'noauth2'},
        'keystone_authtoken': dict(authtoken or {}),
        'placement_database': {'connection': connection},
    }


def nova_common(host, my_ip, transport_url, connection, placement_endpoint,
                log_file, token='admin'):
    """What every nova service of the deployment shares."""
    return {
        'DEFAULT': {
            'host': host,
            # The address of this service's own namespace.
            'my_ip': my_ip,
            'transport_url': transport_url,
            'log_file': log_file,
            # Short beats, so a killed compute shows as down quickly.
            'report_interval': 2,
            'service_down_time': 20,
            'graceful_shutdown_timeout': 10,
        },
        'database': {'connection': connection},
        'placement': {'auth_type': 'admin_token',
                      'endpoint': placement_endpoint, 'token': token},
    }


def api_sections(common, listen, port, images_file, authtoken=None):
    """``authtoken`` as for :func:`placement_sections`."""
    return merge(common, {
        'api': {'auth_strategy': 'keystone' if authtoken else 'noauth2',
                'listen': listen, 'port': port, 'images_file': images_file},
        'keystone_authtoken': dict(authtoken or {})})


def compute_sections(common, state_path, host_overrides, namespaces,
                     namespace_mib):
    """A nova-compute on a NamespaceHost: ``host_overrides`` is its
    conf_overrides(); ``namespaces`` the pmem_namespaces entries."""
    return merge(common, {
        'DEFAULT': {'state_path': state_path},
        'libvirt': {
            'pmem_namespaces': namespaces,
            'pmem_file_size_mb': namespace_mib,
            # The stream goes straight to the destination's address.
            'live_migration_tunnelled': False,
        },
        'compute': {'reserved_host_memory_mb': 0,
                    'live_migration_progress_interval': 1},
    }, overrides_to_sections(host_overrides))


def write_ini(path, sections):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Passwords are in it: only root reads it.
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
              'w') as f:
        f.write(render_ini(sections))
    return path


# -- processes ------------------------------------------------------------

def start_time(pid):
    """When ``pid`` started (clock ticks since boot), None if it is gone
    or a zombie: with the PID it names one process for good."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            stat = f.read()
    except (OSError, TypeError):
        return None
    fields = stat[stat.rfind(')') + 2:].split()
    if fields[0] in ('Z', 'X'):
        return None
    # Field 22 of stat(5); fields[0] here is field 3.
    return int(fields[19])


class PidBook:
    """``pids.json``: ``{name: {pid, started, argv, netns}}``.

    Written after every change, so a crashed ``up`` leaves a record
    that ``down`` can act on.
    """

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def _save(self, entries):
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(entries, f, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def record(self, name, pid, argv=(), netns=None, **extra):
        entries = self.load()
        entries[name] = dict(extra, pid=pid, started=start_time(pid),
                             argv=list(argv), netns=netns)
        self._save(entries)
        return entries[name]

    def forget(self, name):
        entries = self.load()
        if entries.pop(name, None) is not None:
            self._save(entries)

    def get(self, name):
        return self.load().get(name)

    def running(self, name):
        """The PID of ``name`` if the recorded process still runs."""
        entry = self.get(name)
        if entry and is_same(entry):
            return entry['pid']
        return None


def is_same(entry):
    """Whether the process of a pids.json entry still runs."""
    return (entry.get('pid') is not None and
            start_time(entry['pid']) is not None and
            start_time(entry['pid']) == entry.get('started'))


def signal_entry(entry, sig):
    """Send ``sig`` to the recorded process; False when it is gone."""
    if not is_same(entry):
        return False
    try:
        os.kill(entry['pid'], sig)
    except ProcessLookupError:
        return False
    return True


def stop_entry(entry, timeout=STOP_TIMEOUT, sig=signal.SIGTERM, reap=None):
    """``sig``, then SIGKILL after ``timeout`` s; True if it ran."""
    if not signal_entry(entry, sig):
        return False
    deadline = time.monotonic() + timeout
    while is_same(entry):
        if reap is not None:
            reap.poll()
        if time.monotonic() > deadline:
            signal_entry(entry, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    return True


def stop_entries(entries, timeout=STOP_TIMEOUT, reaps=None):
    """Stop ``{name: entry}`` together: SIGTERM to all, then wait (a
    service's graceful shutdown runs beside the others'). ``{name:
    whether it ran}``."""
    reaps = reaps or {}
    ran = {name: signal_entry(entry, signal.SIGTERM)
           for name, entry in entries.items()}
    deadline = time.monotonic() + timeout
    killed = False
    while any(is_same(entry) for entry in entries.values()):
        for process in reaps.values():
            process.poll()
        if time.monotonic() > deadline and not killed:
            for entry in entries.values():
                signal_entry(entry, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    return ran


def spawn(argv, out_path, env=None, cwd=None):
    """Start ``argv`` in its own session, output appended to
    ``out_path``; its Popen. Detached from our terminal and signals, so
    it outlives ``up``."""
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, 'ab') as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)


def tail(path, lines=15):
    with contextlib.suppress(OSError):
        with open(path, errors='replace') as f:
            return '\n'.join(f.read()[-16384:].splitlines()[-lines:])
    return ''
