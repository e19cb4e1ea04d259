"""The cluster's name server: Pyro5's own, with its entries kept on disk."""

from nameserver.service import run_name_server, storage_path

__all__ = ["run_name_server", "storage_path"]
