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

"""No eventlet in a running service: each one started for real.

Each service runs its real ``main()`` in a subprocess. A thread of that
process waits until the service answers (an RPC ping, an HTTP request),
prints what it found in ``sys.modules`` and which oslo.service backend is
loaded, then sends SIGTERM to its own process so ``main()`` returns.
"""

import json
import os
import subprocess
import sys
import time

from nova.tests.functional import test_services

# Run in the service's process; argv[1] names the service, the rest are
# its arguments.
DRIVER = r'''
import json
import os
import signal
import sys
import threading
import time
import urllib.request

binary, args = sys.argv[1], sys.argv[2:]


def answers_http(port):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%s/' % port,
                                    timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def answers_rpc():
    from nova import context
    from nova import rpc
    if not rpc.initialized():
        return False
    ctxt = context.get_admin_context()
    try:
        if binary == 'nova-conductor':
            from nova.conductor import rpcapi
            return rpcapi.ConductorAPI().ping(ctxt, 'hi', timeout=2)
        from nova.compute import rpcapi
        return rpcapi.ComputeAPI().ping(ctxt, 'functional-host', 'hi',
                                        timeout=2)
    except Exception:
        return False


def watch(ready):
    deadline = time.monotonic() + 60
    while not ready():
        if time.monotonic() > deadline:
            print('NOT READY', flush=True)
            os._exit(3)
        time.sleep(0.2)
    from oslo_service import backend
    loaded = sorted(name for name in sys.modules
                    if name.partition('.')[0] in ('eventlet', 'dns'))
    # One write for the whole line: print() writes the newline apart, and
    # a service thread's output could land between the two.
    sys.stdout.write('READY %s\n' % json.dumps(
        {'loaded': loaded, 'backend': backend.get_backend_type().value}))
    sys.stdout.flush()
    # nova-aio answers before it installs its signal handlers.
    while signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        time.sleep(0.1)
    os.kill(os.getpid(), signal.SIGTERM)


if binary == 'nova-aio':
    from nova.cmd import aio as command
    port = args[args.index('--port') + 1]
    ready = lambda: answers_http(port)
elif binary == 'nova-api':
    from nova.cmd import api as command
    from nova import conf
    ready = lambda: answers_http(conf.CONF.api.port)
else:
    from nova.cmd import compute, conductor
    command = compute if binary == 'nova-compute' else conductor
    ready = answers_rpc
threading.Thread(target=watch, args=(ready,), daemon=True).start()
sys.exit(command.main(args))
'''


class TestNoEventlet(test_services.ServiceProcessTestCase):

    def _launch(self, binary, *args):
        output = open(os.path.join(self.tmp, '%s.out' % binary), 'w+')
        self.addCleanup(output.close)
        proc = subprocess.Popen(
            [sys.executable, '-c', DRIVER, binary] + list(args),
            stdout=output, stderr=subprocess.STDOUT)
        self.addCleanup(self._attach, '%s-output' % binary, output.name)
        self.addCleanup(self._reap, proc)
        return proc, output

    def test_services_run_without_eventlet(self):
        self._db_sync()
        self._start_placement()
        conf = ['--config-file', self.conf_path]
        procs = {
            'nova-api': self._launch('nova-api', *conf),
            'nova-conductor': self._launch('nova-conductor', *conf),
            'nova-compute': self._launch('nova-compute', *conf),
            'nova-aio': self._launch(
                'nova-aio', 'serve', '--state-dir',
                os.path.join(self.tmp, 'aio'), '--port',
                str(test_services._free_port())),
        }
        deadline = time.monotonic() + test_services.START_TIMEOUT
        for binary, (proc, output) in procs.items():
            proc.wait(max(1, deadline - time.monotonic()))
            self.assertEqual(0, proc.returncode, binary)
            output.seek(0)
            ready = [line for line in output.read().splitlines()
                     if line.startswith('READY ')]
            self.assertEqual(1, len(ready), binary)
            # The object that starts the line; output another thread wrote
            # right after it (no newline yet) is not part of it.
            found, _end = json.JSONDecoder().raw_decode(
                ready[0][len('READY '):])
            self.assertEqual({'loaded': [], 'backend': 'threading'}, found,
                             binary)
