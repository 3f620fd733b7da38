"""Cluster backends behind one small Protocol (`drivers.base.Driver`)."""
