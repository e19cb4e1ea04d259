"""The load benchmark of ``run/bench.py``: simulated users against a real cluster.

``cli`` reads the flags; ``runner`` drives the whole bench, one cluster
``layout`` after another: a ``probe``, then each users ``level`` (its JSON
``level_record``), the results led by their ``provenance``. ``users``
simulates people (``rush`` the buyers of an on-sale rush on one event),
``system`` starts or attaches to a cluster and reads its counters,
``ceiling`` measures this machine's empty-call rate, ``projection`` the
bookings/s the hottest process allows with a core each, ``stats``,
``report`` and ``chart`` turn the numbers into a table, JSON and a PNG.
"""
