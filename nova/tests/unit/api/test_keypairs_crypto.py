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

"""Key pair fingerprints, generated keys and name validation."""

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
from cryptography import x509

from nova.api.handlers import keypair_crypto as crypto
from nova.api.handlers import keypairs
from nova.api import http
from nova import test

# tempest's imported key (test_keypair_create_with_pub_key), and what
# `ssh-keygen -l -E md5` prints for it.
TEMPEST_KEY = (
    'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCsNe3/1ILNCqFyfYWDeTKLD6jEXC2OQ'
    'HLmietMWW+/vdaZq7KZEwO0jhglaFjU1mpqq4Gz5RX156sCTNM9vRbwKAxfsdF9laBYVs'
    'ex3m3Wmui3uYrKyumsoJn2g9GNnG1PI1mrVjZ61i0GY3khna+wzlTpCCmy5HNlrmbj3X'
    'LqBUpipTOXmsnr4sChzC53KCd8LXuwc1i/CZPvF+3XipvAgFSE53pCtLOeB1kYMOBaiU'
    'PLQTWXR3JpckqFIQwhIH0zoHlJvZE8hh90XcPojYN56tI0OlrGqojbediJYD0rUsJu4we'
    'Zpbn8vilb3JuDY+jwssnSA8wzBx3A/8y9Pp1B nova@ubuntu')
TEMPEST_KEY_MD5 = '61:5f:fe:c7:e0:fd:d7:4a:2b:52:6e:a6:f5:bf:da:27'


def openssh(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.OpenSSH,
        serialization.PublicFormat.OpenSSH).decode('ascii')


def md5_of_blob(line):
    digest = hashlib.md5(base64.b64decode(line.split()[1]),
                         usedforsecurity=False).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


class FingerprintTestCase(test.NoDBTestCase):

    def test_rsa_as_ssh_keygen_prints_it(self):
        self.assertEqual(TEMPEST_KEY_MD5, crypto.ssh_fingerprint(TEMPEST_KEY))

    def test_comment_and_blanks_do_not_change_it(self):
        bare = ' '.join(TEMPEST_KEY.split()[:2])
        self.assertEqual(TEMPEST_KEY_MD5,
                         crypto.fingerprint('ssh', '  %s\n' % bare))

    def test_ed25519_and_ecdsa(self):
        for key in (ed25519.Ed25519PrivateKey.generate(),
                    ec.generate_private_key(ec.SECP384R1())):
            line = openssh(key) + ' someone@somewhere'
            self.assertEqual(md5_of_blob(line),
                             crypto.fingerprint('ssh', line))

    def test_unreadable_ssh_keys(self):
        # tempest's negative cases, and a certificate given as ssh.
        _key, cert, _fp = crypto.generate_x509('u')
        for bad in ('ssh-rsa JUNK nova@ubuntu', ' ', '',
                    'ssh-rsa ' + 'A' * 2048 + ' openstack@ubuntu',
                    'ssh-foo AAAA', cert):
            self.assertRaises(crypto.InvalidKeypair, crypto.fingerprint,
                              'ssh', bad)

    def test_x509_is_the_sha1_of_the_der(self):
        _key, pem, fingerprint = crypto.generate_x509('u')
        cert = x509.load_pem_x509_certificate(pem.encode())
        der = cert.public_bytes(serialization.Encoding.DER)
        digest = hashlib.sha1(der, usedforsecurity=False).hexdigest()
        self.assertEqual(':'.join(digest[i:i + 2]
                                  for i in range(0, 40, 2)), fingerprint)
        self.assertEqual(fingerprint, crypto.fingerprint('x509', pem))

    def test_unreadable_certificates(self):
        for bad in (TEMPEST_KEY, '-----BEGIN CERTIFICATE-----\nabc\n'
                                 '-----END CERTIFICATE-----', ' '):
            self.assertRaises(crypto.InvalidKeypair, crypto.fingerprint,
                              'x509', bad)


class GeneratedKeysTestCase(test.NoDBTestCase):

    def test_ssh_key(self):
        private, public, fingerprint = crypto.generate_ssh_key()
        self.assertTrue(public.startswith('ssh-rsa '))
        self.assertTrue(public.endswith(' ' + crypto.GENERATED_COMMENT))
        loaded = serialization.load_pem_private_key(private.encode(), None)
        self.assertEqual(crypto.RSA_BITS, loaded.key_size)
        # The private key is the public key's other half.
        self.assertEqual(public.split()[:2], openssh(loaded).split()[:2])
        self.assertEqual(md5_of_blob(public), fingerprint)

    def test_x509_certificate_for_the_user(self):
        private, pem, _fingerprint = crypto.generate_x509('user-1')
        cert = x509.load_pem_x509_certificate(pem.encode())
        self.assertEqual('CN=user-1', cert.subject.rfc4514_string())
        loaded = serialization.load_pem_private_key(private.encode(), None)
        self.assertEqual(
            loaded.public_key().public_numbers(),
            cert.public_key().public_numbers())
        usage = cert.extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
        self.assertEqual([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH],
                         list(usage))


class NameTestCase(test.NoDBTestCase):

    def test_allowed_names(self):
        for name in ('k', 'my key', 'a-b_c', 'x' * 255):
            self.assertEqual(name, keypairs.check_name(name, (2, 1)))
            self.assertEqual(name, keypairs.check_name(name, (2, 92)))

    def test_dots_and_at_signs_from_2_92(self):
        for name in ('user@host', 'my.key', 'first.last@example.com'):
            self.assertRaises(http.HTTPError, keypairs.check_name, name,
                              (2, 91))
            self.assertEqual(name, keypairs.check_name(name, (2, 92)))

    def test_refused_names(self):
        # tempest's invalid name among them.
        for name in ('', ' lead', 'trail ', 'x' * 256, r'key_/.\@:',
                     'tab\tname', 'caf\u00e9', 'a/b'):
            for version in ((2, 1), (2, 92)):
                error = self.assertRaises(http.HTTPError,
                                          keypairs.check_name, name, version)
                self.assertEqual(400, error.code)
