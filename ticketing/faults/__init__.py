"""Fault injection: recording what clients saw, hurting the cluster, checking the history.

``history`` and ``checker`` are pure (a history in, anomalies out) so the
checker can be tested on hand-made histories; ``figures`` sums a history up;
``schedule`` plans the nemesis from a seed; ``target`` and ``run`` do the I/O
against a real ``run/cluster.py``: ``run`` the operation loop, with
``clients`` and ``operator`` the load, ``recorder`` the history as it is
made, ``nemesis`` the faults and ``end_state`` what is read at the end;
``cli`` and ``report`` are ``run/torture.py``. ``netns`` and ``spread`` run
the cluster over hosts (network namespaces) whose links can be cut, for real
partitions.
"""
