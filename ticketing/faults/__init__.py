"""Fault injection: recording what clients saw, hurting the cluster, checking the history.

``history`` and ``checker`` are pure (a history in, anomalies out) so the
checker can be tested on hand-made histories; ``figures`` sums a history up;
``schedule`` plans the nemesis from a seed; ``target`` and ``run`` do the I/O
against a real ``run/cluster.py``; ``netns`` and ``spread`` run the cluster
over hosts (network namespaces) whose links can be cut, for real partitions.
"""
