"""One way to start a local cluster, for the command line, the tests, the fault run and the bench.

``spec`` says what cluster (``ClusterSpec``); ``plan`` turns it into processes
with the contract's command lines; ``supervisor`` starts them, waits until
they answer, restarts what dies and stops them all; ``cli`` is
``ticketing-cluster`` (``run/cluster.py``) on top of those; ``handle`` runs
that command from another program and reaches, kills, pauses and restarts
its processes by label.
"""
