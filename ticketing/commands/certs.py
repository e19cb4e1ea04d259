"""Make the cluster's TLS certificates: a CA, then one certificate per component.

  ticketing-certs --dir certs ca
  ticketing-certs --dir certs issue lock_server-1 --host 10.0.0.2 --host node2.example
  ticketing-certs --dir certs env lock_server-1     # the PYRO_SSL* lines for that host

(or ``python run/certs.py ...`` in a checkout). Keys are written with mode 0600; keep ca.key
off the component hosts.
"""

import argparse
from pathlib import Path

from ticketing.security.tls import CA_NAME, Issued, create_ca, issue, tls_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("certs"), help="where certificates live")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ca", help="create the certificate authority (once)")
    issuing = commands.add_parser("issue", help="a certificate for one component")
    issuing.add_argument("name", help="component label, such as lock_server-1 or client")
    issuing.add_argument("--host", action="append", required=True, help="IP or DNS name")
    env = commands.add_parser("env", help="print the PYRO_SSL* settings for a component")
    env.add_argument("name")
    env.add_argument("--public", action="store_true", help="no client certificate required")
    args = parser.parse_args()
    if args.command == "ca":
        if (args.dir / f"{CA_NAME}.key").exists():
            parser.error(f"{args.dir / CA_NAME}.key exists; the CA is made once")
        print(create_ca(args.dir).cert)
    elif args.command == "issue":
        print(issue(args.dir, args.name, args.host).cert)
    else:
        issued = Issued(args.dir / f"{args.name}.pem", args.dir / f"{args.name}.key")
        variables = tls_environment(args.dir / f"{CA_NAME}.pem", issued, not args.public)
        for key, value in variables.items():
            print(f"export {key}={value}")


if __name__ == "__main__":
    main()
