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

"""Key pair cryptography: fingerprints, and keys made for the caller.

Pure functions over the ``cryptography`` package. Fingerprints are shown
as Nova shows them, lowercase hex bytes joined by colons: for an ssh key
the MD5 of its key blob (what ``ssh-keygen -l -E md5`` prints), for an
x509 certificate the SHA-1 of its DER encoding. A key that cannot be read
raises InvalidKeypair (400 at the API).
"""

import base64
import datetime
import hashlib

from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography import x509
from cryptography.x509 import oid

from nova import exception

SSH = 'ssh'
X509 = 'x509'
# The comment of an ssh public key this API generated.
GENERATED_COMMENT = 'Generated-by-Nova'
RSA_BITS = 2048
# A generated certificate is valid this long (it authenticates a user to
# a guest, e.g. WinRM, not a host to the world).
CERT_VALIDITY = datetime.timedelta(days=10 * 365)


class InvalidKeypair(exception.Invalid):
    msg_fmt = "Keypair data is invalid: %(reason)s"


def _colon_hex(digest):
    return ':'.join('%02x' % byte for byte in digest)


def _load_ssh(public_key):
    try:
        return serialization.load_ssh_public_key(
            public_key.strip().encode('utf-8'))
    except (ValueError, TypeError, UnicodeError,
            crypto_exceptions.UnsupportedAlgorithm) as e:
        raise InvalidKeypair(reason='failed to generate fingerprint, the '
                                    'public key is not an OpenSSH public '
                                    'key (%s)' % e)


def ssh_fingerprint(public_key):
    """MD5 of the key blob, ``'aa:bb:...'``; InvalidKeypair if unreadable.

    The blob is the key as the loader re-encodes it, so two spellings of
    one key (whitespace, comment) have one fingerprint.
    """
    key = _load_ssh(public_key)
    line = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    return _colon_hex(hashlib.md5(blob, usedforsecurity=False).digest())


def x509_fingerprint(certificate_pem):
    """SHA-1 of the certificate's DER; InvalidKeypair if not a PEM cert."""
    try:
        cert = x509.load_pem_x509_certificate(
            certificate_pem.strip().encode('utf-8'))
    except (ValueError, TypeError, UnicodeError) as e:
        raise InvalidKeypair(reason='failed to generate fingerprint, the '
                                    'public key is not a PEM x509 '
                                    'certificate (%s)' % e)
    return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303


def fingerprint(key_type, public_key):
    """The fingerprint of an imported public key of ``key_type``."""
    if not public_key or not public_key.strip():
        raise InvalidKeypair(reason='the public key is empty')
    if key_type == X509:
        return x509_fingerprint(public_key)
    return ssh_fingerprint(public_key)


def _private_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode('ascii')


def generate_ssh_key():
    """A new RSA key: (private key PEM, OpenSSH public key, fingerprint)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode('ascii')
    public = '%s %s' % (public, GENERATED_COMMENT)
    return _private_pem(key), public, ssh_fingerprint(public)


def generate_x509(user_id, now=None):
    """A new self-signed client certificate for ``user_id``.

    (private key PEM, certificate PEM, fingerprint). The subject is the
    user; the certificate may only authenticate a client.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(oid.NameOID.COMMON_NAME,
                                            user_id or 'nova')])
    cert = (x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.ExtendedKeyUsage(
                [oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode('ascii')
    return _private_pem(key), pem, x509_fingerprint(pem)
