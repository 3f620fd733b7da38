"""The data model: scheduling entries and the desired state, the observed cluster, the plan.

Plain data and its validation only: no file, cluster or terminal I/O.
"""
