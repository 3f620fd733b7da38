"""Data contracts: scheduling entries, observed cluster state, the plan file; config loading.

Owns validation and located error messages. Does no cluster I/O.
"""
