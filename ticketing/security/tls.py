"""TLS between hosts: a small certificate authority, and the Pyro5 settings that use it.

Pyro5's SSL is set per process through its configuration (``PYRO_SSL*``
environment variables, read when Pyro5 is imported), so every process of a
deployment — name server, components, clients — gets the same few variables,
each with its own certificate (``tls_environment``). Every certificate here is
signed by the cluster's CA and good for both ends of a connection (server and
client authentication), and names the host's addresses, which clients check.

Internal components require a client certificate signed by the CA (mutual
TLS) on top of the cluster secret; the name server and load balancers do not
(``serve_public``), so the public needs only the CA certificate to check it
talks to the real cluster.

Needs the ``cryptography`` package, imported only when certificates are made.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from Pyro5 import config

CA_NAME = "ca"
CA_DAYS = 3650
CERT_DAYS = 825  # the longest validity TLS clients commonly accept


@dataclass(frozen=True, slots=True)
class Issued:
    """Paths of a certificate and its private key (PEM)."""

    cert: Path
    key: Path


def create_ca(directory: Path, common_name: str = "ticketing cluster CA") -> Issued:
    """A new CA in ``directory`` (``ca.pem``, ``ca.key`` with mode 0600)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(directory, CA_NAME, cert, key)


def issue(directory: Path, name: str, hosts: list[str]) -> Issued:
    """A certificate for component ``name`` on ``hosts`` (IPs or DNS names), signed by the CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID as EKU
    from cryptography.x509.oid import NameOID

    if not hosts:
        raise ValueError("name at least one host (IP address or DNS name) the component uses")
    ca_cert = x509.load_pem_x509_certificate((directory / f"{CA_NAME}.pem").read_bytes())
    ca_key = serialization.load_pem_private_key(
        (directory / f"{CA_NAME}.key").read_bytes(), password=None
    )
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([EKU.SERVER_AUTH, EKU.CLIENT_AUTH]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return _write(directory, name, cert, key)


def tls_environment(ca: Path, issued: Issued, require_client_cert: bool = True) -> dict[str, str]:
    """The ``PYRO_SSL*`` variables for a process that uses ``issued`` for both ends."""
    return {
        "PYRO_SSL": "true",
        "PYRO_SSL_CACERTS": str(ca),
        "PYRO_SSL_SERVERCERT": str(issued.cert),
        "PYRO_SSL_SERVERKEY": str(issued.key),
        "PYRO_SSL_CLIENTCERT": str(issued.cert),
        "PYRO_SSL_CLIENTKEY": str(issued.key),
        "PYRO_SSL_REQUIRECLIENTCERT": "true" if require_client_cert else "false",
    }


def serve_public() -> None:
    """This process serves the public (a load balancer): no client certificate required.

    Call before the daemon is made; it still presents its own certificate to
    callers and to the components it calls.
    """
    config.SSL_REQUIRECLIENTCERT = False


def _general_name(host: str):  # -> x509.GeneralName
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write(directory: Path, name: str, cert, key) -> Issued:
    from cryptography.hazmat.primitives import serialization

    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return Issued(cert_path, key_path)
