"""The console commands: one module per command, each runnable as ``python -m``.

``ticketing.commands.lock_server`` is what the console script
``ticketing-lock-server``, the entry script ``run/lock_server.py`` and the
launcher (``python -m ticketing.commands.lock_server``) all run, so an
installed package works without the repository's ``run/`` directory. A module
here imports one ``main`` and calls it; the code it runs lives where it belongs
(``ticketing.server``, ``ticketing.bench``, ...). Each is its own module, and
not ``python -m ticketing.server.lock_server``, so that the server's module is
never loaded twice (once as ``__main__``, once by name). The name server's is
the top-level ``nameserver`` package (``python -m nameserver``).
"""
