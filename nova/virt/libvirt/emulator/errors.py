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

"""libvirtError as libvirt-python defines it, and libvirt's message forms.

Driver code catches ``libvirt.libvirtError`` and looks at
``get_error_code()`` / ``get_error_domain()`` / ``str(e)``; all three follow
libvirt 9 here, so error handling written against a real host is exercised
unchanged.
"""

from nova.virt.libvirt.emulator import constants as c

# libvirt prefixes each message with a phrase chosen by the error code
# (virErrorMsg in virerror.c); callers and logs see the prefixed form.
_PREFIXES = {
    c.VIR_ERR_INTERNAL_ERROR: 'internal error: %s',
    c.VIR_ERR_NO_SUPPORT:
        'this function is not supported by the connection driver: %s',
    c.VIR_ERR_NO_CONNECT: 'no connection driver available for %s',
    c.VIR_ERR_INVALID_CONN: 'invalid connection pointer in %s',
    c.VIR_ERR_INVALID_DOMAIN: 'invalid domain pointer in %s',
    c.VIR_ERR_INVALID_ARG: 'invalid argument: %s',
    c.VIR_ERR_OPERATION_FAILED: 'operation failed: %s',
    c.VIR_ERR_NO_NAME: 'missing name information in %s',
    c.VIR_ERR_XML_ERROR: 'XML error: %s',
    c.VIR_ERR_XML_DETAIL: '%s',
    c.VIR_ERR_SYSTEM_ERROR: '%s',
    c.VIR_ERR_NO_DOMAIN: 'Domain not found: %s',
    c.VIR_ERR_OPERATION_INVALID: 'Requested operation is not valid: %s',
    c.VIR_ERR_CONFIG_UNSUPPORTED: 'unsupported configuration: %s',
    c.VIR_ERR_OPERATION_TIMEOUT: 'Timed out during operation: %s',
    c.VIR_ERR_ARGUMENT_UNSUPPORTED: 'argument unsupported: %s',
    c.VIR_ERR_OPERATION_ABORTED: 'operation aborted: %s',
    c.VIR_ERR_OPERATION_UNSUPPORTED: 'Operation not supported: %s',
    c.VIR_ERR_MIGRATE_UNSAFE: 'Unsafe migration: %s',
}


class libvirtError(Exception):  # noqa: N801 - libvirt-python's name
    """The exception every emulated libvirt call raises.

    The constructor accepts libvirt-python's positional form
    ``libvirtError(defmsg, conn=None, dom=None, ...)`` so code (and tests)
    that build one by hand keep working; the emulator itself passes the
    error fields as keywords.
    """

    def __init__(self, defmsg, conn=None, dom=None, net=None, pool=None,
                 vol=None, *, code=c.VIR_ERR_INTERNAL_ERROR,
                 domain=c.VIR_FROM_QEMU, level=c.VIR_ERR_ERROR,
                 str1=None, str2=None, str3=None, int1=-1, int2=-1):
        super().__init__(defmsg)
        self.err = (code, domain, defmsg, level, str1, str2, str3,
                    int1, int2)

    def __str__(self):
        return self.err[2]

    def get_error_code(self):
        return self.err[0]

    def get_error_domain(self):
        return self.err[1]

    def get_error_message(self):
        return self.err[2]

    def get_error_level(self):
        return self.err[3]

    def get_str1(self):
        return self.err[4]

    def get_str2(self):
        return self.err[5]

    def get_str3(self):
        return self.err[6]

    def get_int1(self):
        return self.err[7]

    def get_int2(self):
        return self.err[8]


def format_message(code, detail):
    """Return libvirt's full message for ``code`` with ``detail``."""
    return _PREFIXES.get(code, '%s') % detail


def error(code, detail, domain=c.VIR_FROM_QEMU):
    """Build (not raise) a libvirtError with libvirt's message form."""
    return libvirtError(format_message(code, detail), code=code,
                        domain=domain, str1=detail)


def no_domain_uuid(uuid, name=None):
    """The error for a domain that vanished or never existed."""
    detail = "no domain with matching uuid '%s'" % uuid
    if name:
        detail += ' (%s)' % name
    return error(c.VIR_ERR_NO_DOMAIN, detail)


def not_running():
    return error(c.VIR_ERR_OPERATION_INVALID, 'domain is not running')


def qemu_start_failure(detail):
    """QEMU exited while starting: what libvirt reports for that."""
    return error(c.VIR_ERR_INTERNAL_ERROR,
                 'qemu unexpectedly closed the monitor: '
                 'qemu-system-x86_64: %s' % detail)
